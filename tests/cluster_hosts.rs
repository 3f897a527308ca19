//! Many hosts, one firm: three `rustybt live run` processes joined through a three-node NATS
//! JetStream cluster (the bucket at three replicas), all on loopback.

use crate::support::nats::NatsCluster;
use crate::support::service::{free_port, live_run_command, LiveRun};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "cluster-token";
const HOSTS: [&str; 3] = ["host-a", "host-b", "host-c"];

struct Host {
    id: &'static str,
    config: PathBuf,
    port: u16,
    run: Option<LiveRun>,
}

struct Firm {
    nats: NatsCluster,
    hosts: Vec<Host>,
    http: Client,
    _dir: tempfile::TempDir,
}

/// One strategy per host with no breaker of its own that polling could trip (the tests poll
/// with orders, many a second), a lease of `lease` seconds.
fn config_text(host: &str, port: u16, urls: &str, firm_breakers: &str, lease: u32) -> String {
    format!(
        "[engine]\ndata_dir = \"data-{host}\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
         [firm]\nname = \"acme\"\n{firm_breakers}\n\
         [[strategy]]\nname = \"s-{host}\"\ndesk = \"equities\"\n\
         [strategy.circuit_breakers]\ndrawdown = {{ enabled = false }}\n\
         daily_loss = {{ enabled = false }}\nstale_feed = {{ enabled = false }}\n\
         order_rate = {{ enabled = false }}\n\
         [cluster]\nnats_url = \"{urls}\"\nhost_id = \"{host}\"\nlease = {lease}\non_bus_loss = \"halt\"\n"
    )
}

impl Firm {
    fn start(firm_breakers: &str, lease: u32) -> Self {
        let nats = NatsCluster::three();
        let dir = tempfile::tempdir().unwrap();
        let hosts = HOSTS
            .iter()
            .map(|id| {
                let port = free_port();
                let config = dir.path().join(format!("{id}.toml"));
                std::fs::write(
                    &config,
                    config_text(id, port, &nats.urls(), firm_breakers, lease),
                )
                .unwrap();
                Host {
                    id,
                    config,
                    port,
                    run: None,
                }
            })
            .collect();
        let mut firm = Self {
            nats,
            hosts,
            http: Client::new(),
            _dir: dir,
        };
        for i in 0..HOSTS.len() {
            firm.start_host(i);
        }
        // Every host has joined the bus and published its record.
        firm.wait_for("every host in every firm view", |f| {
            (0..HOSTS.len()).all(|i| {
                f.get(i, "/firm")["strategies"]
                    .as_array()
                    .map_or(0, Vec::len)
                    == 3
            })
        });
        firm
    }

    fn start_host(&mut self, i: usize) {
        let host = &mut self.hosts[i];
        let mut cmd = live_run_command(&host.config);
        cmd.env("RUSTYBT_API_TOKEN", TOKEN);
        // Each host's log goes beside its configuration, for the message of a failed wait.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(host.config.with_extension("log"))
            .unwrap();
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start rustybt live run");
        let run = LiveRun {
            child,
            base: format!("http://127.0.0.1:{}", host.port),
        };
        crate::support::service::wait_healthy(&run.base);
        host.run = Some(run);
    }

    fn logs(&self) -> String {
        self.hosts
            .iter()
            .map(|h| {
                let text =
                    std::fs::read_to_string(h.config.with_extension("log")).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {}\n{}", h.id, tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn kill_host(&mut self, i: usize) {
        if let Some(run) = self.hosts[i].run.take() {
            run.stop();
        }
    }

    fn base(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.hosts[i].port)
    }

    fn strategy(&self, i: usize) -> String {
        format!("s-{}", self.hosts[i].id)
    }

    fn get(&self, i: usize, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base(i)))
            .send()
            .and_then(|r| r.json())
            .unwrap_or(Value::Null)
    }

    fn post(&self, i: usize, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base(i)))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .expect("the host answers");
        let code = r.status().as_u16();
        (code, r.json().unwrap_or(Value::Null))
    }

    fn order(&self, i: usize, id: &str) -> Value {
        let path = format!("/strategies/{}/orders", self.strategy(i));
        let (code, v) = self.post(
            i,
            &path,
            json!({"order_id": id, "asset": "SPY", "side": "buy", "quantity": "1"}),
        );
        assert_eq!(code, 200, "{v}");
        v
    }

    fn snapshot(&self, i: usize, value: &str) {
        let path = format!("/strategies/{}/portfolio", self.strategy(i));
        let at = chrono::Utc::now().to_rfc3339();
        let (code, v) = self.post(i, &path, json!({"timestamp": at, "portfolio_value": value}));
        assert_eq!(code, 202, "{v}");
    }

    fn state(&self, i: usize) -> String {
        self.get(i, &format!("/strategies/{}", self.strategy(i)))["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn causes(&self, i: usize) -> Vec<Value> {
        self.get(i, &format!("/strategies/{}/audit", self.strategy(i)))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for `cond` with a 60 s deadline (JetStream recovering from a restart of every
    /// node on a busy machine is the slowest).
    fn wait_for(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "not within 60 s: {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn test_halt_when_entered_on_one_host_then_every_host_halts_and_a_restarted_host_comes_up_halted() {
    // The default lease: one node's loss must not count as the bus's, however busy the machine.
    let mut f = Firm::start("", 5);
    for i in 0..3 {
        assert_eq!(f.order(i, &format!("before-{i}"))["decision"], "accepted");
    }
    let (code, v) = f.post(
        0,
        "/halt",
        json!({"operator": "alice", "reason": "firm drill"}),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["state"], "MANUALLY_HALTED");
    let confirmed = v["halted"].as_array().unwrap().len();
    let pending = v["pending_hosts"].as_array().unwrap().len();
    assert!(confirmed >= 1 && confirmed + pending >= 3, "{v}");
    f.wait_for("every host's strategy refuses", |f| {
        (0..3).all(|i| f.order(i, "probe")["decision"] == "rejected")
    });
    for i in 1..3 {
        let d = f.order(i, "after");
        assert_eq!(d["state"], "MANUALLY_HALTED", "{d}");
        let halt = f
            .causes(i)
            .into_iter()
            .find(|a| a["cause"] == "firm_halt")
            .expect("firm_halt in the audit trail");
        assert_eq!(halt["operator"], "alice");
        assert_eq!(halt["details"]["host_id"], "host-a");
    }
    // SIGKILL host B and start it again: it comes up halted while the halt holds.
    f.kill_host(1);
    f.start_host(1);
    assert_eq!(f.state(1), "MANUALLY_HALTED");
    assert_eq!(f.order(1, "restarted")["decision"], "rejected");
    // One NATS node down changes nothing: the firm reset goes through host C.
    let node_killed_at = chrono::Utc::now();
    f.nats.kill(0);
    let (code, ticket) = f.post(2, "/reset", json!({"operator": "bob"}));
    assert_eq!(code, 202, "{ticket}");
    let (code, v) = f.post(
        2,
        "/reset/confirm",
        json!({"operator": "carol", "confirmation_token": ticket["confirmation_token"]}),
    );
    assert_eq!(code, 200, "{v}");
    f.wait_for("every host trades again", |f| {
        (0..3).all(|i| f.state(i) == "NORMAL")
    });
    assert_eq!(f.order(1, "again")["decision"], "accepted");
    for i in 0..3 {
        let lost_after_kill = f.causes(i).into_iter().find(|a| {
            a["cause"] == "bus_lost"
                && a["at"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                    .is_some_and(|at| at >= node_killed_at)
        });
        assert!(
            lost_after_kill.is_none(),
            "host {i} counted one node's loss (at {node_killed_at}) as the bus's: {}\n{}",
            lost_after_kill.unwrap_or_default(),
            f.logs()
        );
    }
}

#[test]
fn test_bus_when_every_nats_node_killed_then_orders_refused_within_lease_and_restored_after() {
    let mut f = Firm::start("", 2);
    let (code, v) = f.post(
        1,
        "/halt",
        json!({"operator": "dana", "reason": "desk drill", "desk": "rates"}),
    );
    assert_eq!(
        code, 200,
        "a desk no host has yet is kept all the same: {v}"
    );
    for i in 0..3 {
        assert_eq!(f.order(i, "before")["decision"], "accepted");
    }
    let killed = Instant::now();
    f.nats.kill_all();
    // lease = 2 s: every host refuses within lease + 1 s.
    let mut refused_at = [None; 3];
    while refused_at.iter().any(Option::is_none) && killed.elapsed() < Duration::from_secs(10) {
        for (i, at) in refused_at.iter_mut().enumerate() {
            if at.is_none() {
                let d = f.order(i, "probe");
                if d["decision"] == "rejected" {
                    assert_eq!(d["breaker"], "bus", "{d}");
                    assert_eq!(d["state"], "NORMAL", "each strategy keeps its state: {d}");
                    *at = Some(killed.elapsed());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (i, at) in refused_at.iter().enumerate() {
        let at = at.unwrap_or_else(|| panic!("host {i} never refused"));
        assert!(
            at <= Duration::from_secs(3),
            "host {i} refused after {at:?}"
        );
        assert!(f.causes(i).iter().any(|a| a["cause"] == "bus_lost"));
    }
    let metrics = f
        .http
        .get(format!("http://127.0.0.1:{}/metrics", f.hosts[0].port))
        .send()
        .and_then(|r| r.text())
        .unwrap();
    assert!(
        metrics.contains("rustybt_bus_loss_applied{host_id=\"host-a\"} 1"),
        "{metrics}"
    );
    f.nats.restart_all();
    f.wait_for("every host trades again", |f| {
        (0..3).all(|i| f.order(i, "back")["decision"] == "accepted")
    });
    for i in 0..3 {
        assert!(f.causes(i).iter().any(|a| a["cause"] == "bus_restored"));
    }
    // The firm's state survived: the desk halt is still there.
    let view = f.get(0, "/firm");
    assert_eq!(view["desk_halts"][0]["desk"], "rates", "{view}");
}

#[test]
fn test_bus_when_two_nodes_of_three_killed_then_connected_hosts_without_quorum_refuse_orders() {
    let mut f = Firm::start("", 2);
    for i in 0..3 {
        assert_eq!(f.order(i, "before")["decision"], "accepted");
    }
    // The survivor still takes connections, but no stream can store a write.
    f.nats.kill(0);
    f.nats.kill(1);
    f.wait_for("every host refuses for the bus", |f| {
        (0..3).all(|i| f.order(i, "probe")["breaker"] == "bus")
    });
    for i in 0..3 {
        let d = f.order(i, "probe");
        assert_eq!(d["decision"], "rejected", "{d}");
        assert_eq!(d["state"], "NORMAL", "each strategy keeps its state: {d}");
        assert!(f.causes(i).iter().any(|a| a["cause"] == "bus_lost"));
    }
    f.nats.restart(0);
    f.nats.restart(1);
    f.wait_for("every host trades again", |f| {
        (0..3).all(|i| f.order(i, "back")["decision"] == "accepted")
    });
    for i in 0..3 {
        assert!(f.causes(i).iter().any(|a| a["cause"] == "bus_restored"));
    }
}

#[test]
fn test_firm_drawdown_when_aggregate_across_hosts_falls_then_the_firm_trips_once() {
    let f = Firm::start(
        "[firm.circuit_breakers]\ndrawdown = { threshold = \"-0.08\" }\n",
        5,
    );
    for i in 0..3 {
        f.snapshot(i, "100000");
    }
    // Every host sees the same aggregate.
    f.wait_for("the same high-water mark on every host", |f| {
        (0..3).all(|i| f.get(i, "/firm")["portfolio"]["high_water_mark"] == "300000")
    });
    f.snapshot(0, "76000");
    f.wait_for("every strategy tripped by the firm", |f| {
        (0..3).all(|i| f.state(i) == "TRIPPED")
    });
    for i in 0..3 {
        let firm_trips = f
            .causes(i)
            .iter()
            .filter(|a| a["cause"] == "firm:drawdown")
            .count();
        assert_eq!(firm_trips, 1, "host {i}");
        let view = f.get(i, "/firm");
        assert_eq!(view["state"], "TRIPPED");
        let dd = view["breakers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "drawdown")
            .cloned()
            .unwrap();
        assert_eq!(dd["status"], "tripped", "{view}");
    }
}

#[test]
fn test_start_when_nats_unreachable_then_host_refuses_orders_with_bus() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let dead = format!("nats://127.0.0.1:{}", free_port());
    let config = dir.path().join("alone.toml");
    std::fs::write(&config, config_text("host-z", port, &dead, "", 2)).unwrap();
    let mut cmd = live_run_command(&config);
    cmd.env("RUSTYBT_API_TOKEN", TOKEN);
    let _run = LiveRun::start(cmd, port);
    let http = Client::new();
    let d: Value = http
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/strategies/s-host-z/orders"
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"order_id": "o1", "asset": "SPY", "side": "buy", "quantity": "1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(d["decision"], "rejected", "{d}");
    assert_eq!(d["breaker"], "bus", "{d}");
    // A firm halt the bus cannot store: 503, and applied on this host all the same.
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/v1/halt"))
        .bearer_auth(TOKEN)
        .json(&json!({"operator": "erin", "reason": "bus down drill"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"], "bus_unavailable", "{body}");
    let s: Value = http
        .get(format!(
            "http://127.0.0.1:{port}/api/v1/strategies/s-host-z"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(s["state"], "MANUALLY_HALTED", "{s}");
}
