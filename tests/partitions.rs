//! Partitions, not only dead servers: three sites in network namespaces the test makes
//! (`support::netns`), each with a NATS server of one three-node JetStream cluster and a
//! `rustybt live run` host; sites are cut off and healed, servers and hosts killed, links
//! degraded, and the lease contract of API.md (v1.2, "Firm figures through restarts and
//! partitions") checked. Needs root and iproute2: without them these tests fail, naming why.

use crate::support::netns::NetLab;
use rand::{Rng, SeedableRng};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "partition-token";
const SITES: usize = 3;

struct Site {
    server: Option<Child>,
    host: Option<Child>,
    config: PathBuf,
}

struct PartitionedFirm {
    sites: Vec<Site>,
    http: Client,
    dir: tempfile::TempDir,
    // Last: the namespaces go after every process in them, the permit after the namespaces.
    lab: NetLab,
    _permit: crate::support::nats::HeavyPermit,
}

impl Drop for PartitionedFirm {
    fn drop(&mut self) {
        for site in &mut self.sites {
            for child in [site.host.take(), site.server.take()].into_iter().flatten() {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl PartitionedFirm {
    fn start(lease: u32) -> Self {
        let permit = crate::support::nats::HeavyPermit::acquire();
        let lab = NetLab::new(SITES);
        let dir = tempfile::tempdir().unwrap();
        let urls = (0..SITES)
            .map(|i| format!("nats://{}:4222", lab.bus_ip(i)))
            .collect::<Vec<_>>()
            .join(",");
        let sites = (0..SITES)
            .map(|i| {
                let config = dir.path().join(format!("host-{i}.toml"));
                std::fs::write(
                    &config,
                    format!(
                        "[engine]\ndata_dir = \"data-{i}\"\n[server]\nbind = \"{}:8080\"\n\
                         [firm]\nname = \"acme\"\n\
                         [[strategy]]\nname = \"s-{i}\"\ndesk = \"equities\"\n\
                         [strategy.circuit_breakers]\ndrawdown = {{ enabled = false }}\n\
                         daily_loss = {{ enabled = false }}\nstale_feed = {{ enabled = false }}\n\
                         order_rate = {{ enabled = false }}\n\
                         [cluster]\nnats_url = \"{urls}\"\nhost_id = \"host-{i}\"\nlease = {lease}\n\
                         on_bus_loss = \"halt\"\n",
                        lab.mgmt_ip(i)
                    ),
                )
                .unwrap();
                Site {
                    server: None,
                    host: None,
                    config,
                }
            })
            .collect();
        let mut firm = Self {
            sites,
            http: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            dir,
            lab,
            _permit: permit,
        };
        for i in 0..SITES {
            firm.start_server(i);
        }
        firm.wait_servers_ready();
        for i in 0..SITES {
            firm.start_host(i);
        }
        firm.wait_for(
            "every host in every firm view",
            Duration::from_secs(60),
            |f| {
                (0..SITES).all(|i| {
                    f.get(i, "/firm")["strategies"]
                        .as_array()
                        .map_or(0, Vec::len)
                        == 3
                })
            },
        );
        firm
    }

    fn start_server(&mut self, i: usize) {
        let routes = (0..SITES)
            .filter(|j| *j != i)
            .map(|j| format!("nats://{}:6222", self.lab.bus_ip(j)))
            .collect::<Vec<_>>()
            .join(",");
        let store = self.dir.path().join(format!("nats-{i}"));
        let nats_server = crate::support::tools::nats_server();
        let child = self
            .lab
            .command(i, &nats_server.to_string_lossy())
            .args(["-a", "0.0.0.0", "-p", "4222", "-m", "8222", "-js"])
            .args(["-n", &format!("n{i}")])
            .arg("-sd")
            .arg(&store)
            .args(["--cluster_name", "rustybt-partitions"])
            .args(["--cluster", "nats://0.0.0.0:6222", "--routes", &routes])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", nats_server.display()));
        self.sites[i].server = Some(child);
    }

    fn kill_server(&mut self, i: usize) {
        if let Some(mut child) = self.sites[i].server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_servers_ready(&self) {
        self.wait_for("every NATS server healthy", Duration::from_secs(60), |f| {
            (0..SITES).all(|i| {
                f.sites[i].server.is_none()
                    || f.http
                        .get(format!("http://{}:8222/healthz", f.lab.mgmt_ip(i)))
                        .timeout(Duration::from_secs(1))
                        .send()
                        .is_ok_and(|r| r.status().is_success())
            })
        });
    }

    fn start_host(&mut self, i: usize) {
        let config = &self.sites[i].config;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"))
            .unwrap();
        let child = self
            .lab
            .command(i, env!("CARGO_BIN_EXE_rustybt"))
            .args(["live", "run", "--config"])
            .arg(config)
            .env("RUSTYBT_API_TOKEN", TOKEN)
            .env_remove("RUSTYBT_LOG")
            .env_remove("RUSTYBT_NATS_URL")
            .env_remove("RUSTYBT_HOST_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start rustybt live run in the site's namespace");
        self.sites[i].host = Some(child);
        self.wait_for("the host serves", Duration::from_secs(30), |f| {
            f.http
                .get(format!("{}/healthz", f.base(i)))
                .bearer_auth(TOKEN)
                .timeout(Duration::from_secs(1))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
    }

    fn kill_host(&mut self, i: usize) {
        if let Some(mut child) = self.sites[i].host.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn base(&self, i: usize) -> String {
        format!("http://{}:8080", self.lab.mgmt_ip(i))
    }

    fn get(&self, i: usize, path: &str) -> Value {
        self.http
            .get(format!("{}/api/v1{path}", self.base(i)))
            .bearer_auth(TOKEN)
            .send()
            .and_then(|r| r.json())
            .unwrap_or(Value::Null)
    }

    fn post(&self, i: usize, path: &str, body: Value) -> (u16, Value) {
        match self
            .http
            .post(format!("{}/api/v1{path}", self.base(i)))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
        {
            Ok(r) => {
                let code = r.status().as_u16();
                (code, r.json().unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({ "transport": e.to_string() })),
        }
    }

    fn order(&self, i: usize, id: &str) -> Value {
        let (code, v) = self.post(
            i,
            &format!("/strategies/s-{i}/orders"),
            json!({"order_id": id, "asset": "SPY", "side": "buy", "quantity": "1"}),
        );
        assert_eq!(code, 200, "host {i}: {v}");
        v
    }

    fn state(&self, i: usize) -> String {
        self.get(i, &format!("/strategies/s-{i}"))["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn causes(&self, i: usize) -> Vec<String> {
        self.get(i, &format!("/strategies/s-{i}/audit"))
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["cause"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn desk_halts(&self, i: usize) -> Option<Vec<String>> {
        let view = self.get(i, "/firm");
        view["desk_halts"].as_array().map(|d| {
            d.iter()
                .filter_map(|h| h["desk"].as_str().map(str::to_string))
                .collect()
        })
    }

    fn logs(&self) -> String {
        (0..SITES)
            .map(|i| {
                let text = std::fs::read_to_string(self.sites[i].config.with_extension("log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- host {i}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait_for(&self, what: &str, limit: Duration, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "not within {limit:?}: {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn test_partition_when_site_cut_off_then_on_bus_loss_within_lease_plus_1s_and_a_halt_made_meanwhile_holds_first(
) {
    // 3 s: a majority host whose own connection went to the cut server needs about three
    // missed pings and a reconnection, which a busy machine stretches past 2 s.
    let lease = 3;
    let f = PartitionedFirm::start(lease);
    for i in 0..SITES {
        assert_eq!(f.order(i, "before")["decision"], "accepted");
    }
    // Site 0 cut off: its host keeps its own server, a minority of one.
    f.lab.cut(0);
    let cut = Instant::now();
    loop {
        let d = f.order(0, "probe");
        if d["decision"] == "rejected" {
            assert_eq!(d["breaker"], "bus", "{d}");
            break;
        }
        assert!(
            cut.elapsed() <= Duration::from_secs(lease as u64 + 1),
            "the cut-off host still accepts {:?} after the cut\n{}",
            cut.elapsed(),
            f.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused_after = cut.elapsed();
    // The majority trades on, and halts the firm while site 0 is away.
    std::thread::sleep(Duration::from_secs(lease as u64 + 1));
    for i in 1..SITES {
        assert_eq!(f.order(i, "majority")["decision"], "accepted", "host {i}");
    }
    let (code, v) = f.post(
        1,
        "/halt",
        json!({"operator": "hana", "reason": "during the cut"}),
    );
    assert_eq!(code, 200, "{v}");
    f.lab.heal(0);
    // From the heal on, site 0 never accepts an order before the halt is in force there.
    let healed = Instant::now();
    loop {
        let d = f.order(0, "after-heal");
        assert_ne!(
            d["decision"], "accepted",
            "host 0 accepted an order after healing before the firm halt made meanwhile: {d}"
        );
        if d["state"] == "MANUALLY_HALTED" && d["breaker"] != "bus" {
            break;
        }
        assert!(
            healed.elapsed() < Duration::from_secs(30),
            "host 0 never caught up after the heal: {d}\n{}",
            f.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(f.causes(0).iter().any(|c| c == "bus_lost"));
    assert!(f.causes(0).iter().any(|c| c == "firm_halt"));
    for i in 1..SITES {
        assert!(
            !f.causes(i).iter().any(|c| c == "bus_lost"),
            "host {i} of the majority counted the bus as lost"
        );
    }
    eprintln!(
        "site cut: refused for the bus after {refused_after:?}; halt in force {:?} after the heal",
        healed.elapsed()
    );
}

#[test]
fn test_partition_when_minority_site_asked_to_halt_then_bus_unavailable_and_desk_reset_goes_through_majority(
) {
    let f = PartitionedFirm::start(2);
    f.lab.cut(2);
    f.wait_for("site 2 refuses for the bus", Duration::from_secs(10), |f| {
        f.order(2, "probe")["breaker"] == "bus"
    });
    // The minority's server cannot store a firm change: the halt is answered 503 within the
    // store's 10 s (applied on that host all the same), and the majority never sees it.
    let asked = Instant::now();
    let (code, v) = f.post(
        2,
        "/halt",
        json!({"operator": "ivan", "reason": "from the minority", "desk": "rates"}),
    );
    assert_eq!(code, 503, "{v}");
    assert_eq!(v["error"], "bus_unavailable", "{v}");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "{:?}",
        asked.elapsed()
    );
    // The majority may still be electing a leader for a stream the cut site led.
    f.wait_for(
        "the majority's record readable",
        Duration::from_secs(30),
        |f| (0..2).all(|i| f.desk_halts(i).is_some()),
    );
    for i in 0..2 {
        let desks = f.desk_halts(i).expect("the majority's record");
        assert!(!desks.contains(&"rates".to_string()), "host {i}: {desks:?}");
    }
    // A desk halt and its two-step reset through the majority, while site 2 is away.
    let (code, v) = f.post(
        0,
        "/halt",
        json!({"operator": "ivan", "reason": "desk drill", "desk": "equities"}),
    );
    assert_eq!(code, 200, "{v}");
    f.wait_for("the majority halted", Duration::from_secs(10), |f| {
        (0..2).all(|i| f.state(i) == "MANUALLY_HALTED")
    });
    let (code, ticket) = f.post(1, "/reset", json!({"operator": "ivan", "desk": "equities"}));
    assert_eq!(code, 202, "{ticket}");
    let (code, v) = f.post(
        0,
        "/reset/confirm",
        json!({"operator": "jade", "confirmation_token": ticket["confirmation_token"]}),
    );
    assert_eq!(code, 200, "{v}");
    f.wait_for(
        "the majority back to NORMAL",
        Duration::from_secs(10),
        |f| (0..2).all(|i| f.state(i) == "NORMAL"),
    );
    f.lab.heal(2);
    f.wait_for("site 2 trades again", Duration::from_secs(30), |f| {
        f.order(2, "healed")["decision"] == "accepted"
    });
    for i in 0..SITES {
        let desks = f.desk_halts(i).expect("the record");
        assert!(!desks.contains(&"rates".to_string()), "host {i}: {desks:?}");
    }
}

#[test]
fn test_partitions_when_20_random_cut_heal_kill_rounds_then_no_acknowledged_halt_is_lost() {
    let seed: u64 = std::env::var("RUSTYBT_PARTITION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("partition rounds: RUSTYBT_PARTITION_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut f = PartitionedFirm::start(2);
    let mut cut: Option<usize> = None;
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    let rounds: usize = std::env::var("RUSTYBT_PARTITION_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let started = Instant::now();
    for round in 0..rounds {
        let mut site = rng.gen_range(0..SITES);
        let action = match rng.gen_range(0..5) {
            0 if cut.is_none() => {
                f.lab.cut(site);
                cut = Some(site);
                "cut"
            }
            0 | 1 => {
                // Heals the cut, and every degraded link with it.
                for i in 0..SITES {
                    f.lab.degrade(i, false);
                }
                match cut.take() {
                    Some(s) => {
                        f.lab.heal(s);
                        site = s;
                        "heal"
                    }
                    None => "heal links at",
                }
            }
            2 => {
                f.kill_server(site);
                f.start_server(site);
                "kill server"
            }
            3 => {
                f.kill_host(site);
                f.start_host(site);
                "kill host"
            }
            _ => {
                f.lab.degrade(site, true);
                "degrade"
            }
        };
        let desk = format!("round-{round}");
        let at = rng.gen_range(0..SITES);
        let (code, v) = f.post(
            at,
            "/halt",
            json!({"operator": "kai", "reason": action, "desk": desk}),
        );
        eprintln!(
            "round {round}: {action} site {site} (cut: {cut:?}); halt via host {at}: {code} {}",
            v["message"].as_str().unwrap_or("")
        );
        match code {
            200 => acknowledged.push(desk),
            503 => refused += 1,
            other => panic!("round {round}: halt answered {other}: {v}"),
        }
    }
    // Everything back: links, delays, servers, hosts.
    if let Some(s) = cut.take() {
        f.lab.heal(s);
    }
    for i in 0..SITES {
        f.lab.degrade(i, false);
        if f.sites[i].server.is_none() {
            f.start_server(i);
        }
    }
    f.wait_servers_ready();
    eprintln!(
        "{rounds} rounds in {:?}: {} halts acknowledged, {refused} refused as unavailable",
        started.elapsed(),
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty(), "no halt was acknowledged at all");
    f.wait_for(
        "every acknowledged halt in the record on every host",
        Duration::from_secs(60),
        |f| {
            (0..SITES).all(|i| {
                f.desk_halts(i)
                    .is_some_and(|d| acknowledged.iter().all(|a| d.contains(a)))
            })
        },
    );
}
