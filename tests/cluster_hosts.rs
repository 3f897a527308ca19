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
        self.send(reqwest::Method::POST, i, path, body)
    }

    fn send(&self, method: reqwest::Method, i: usize, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base(i)))
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
    // `restart_all` answers once the cluster answers again: every host records `bus_restored`
    // within lease + 10 s of that.
    f.nats.restart_all();
    let restored = within(Duration::from_secs(12), || {
        (0..3).all(|i| f.causes(i).iter().any(|a| a["cause"] == "bus_restored"))
    });
    assert!(
        restored.is_some(),
        "every node restarted: bus_restored not on every host within lease + 10 s\n{}",
        f.logs()
    );
    f.wait_for("every host trades again", |f| {
        (0..3).all(|i| f.order(i, "back")["decision"] == "accepted")
    });
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
    // The survivor still takes connections, but no stream can store a write: every host
    // refuses within lease + 1 s (lease = 2 s), not after waiting out an election.
    f.nats.kill(0);
    f.nats.kill(1);
    let refused = within(Duration::from_secs(3), || {
        (0..3).all(|i| f.order(i, "probe")["breaker"] == "bus")
    });
    assert!(
        refused.is_some(),
        "quorum lost: not every host refused within lease + 1 s\n{}",
        f.logs()
    );
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

impl Firm {
    fn figures(&self, i: usize) -> (Value, Value) {
        let view = self.get(i, "/firm");
        (
            view["portfolio"]["value"].clone(),
            view["portfolio"]["high_water_mark"].clone(),
        )
    }

    fn firm_causes(&self) -> Vec<String> {
        (0..3)
            .flat_map(|i| self.causes(i))
            .filter_map(|a| a["cause"].as_str().map(str::to_string))
            .filter(|c| c.starts_with("firm:"))
            .collect()
    }

    fn delete(&self, i: usize, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, i, path, body)
    }
}

#[test]
fn test_host_restart_when_firm_halted_then_figures_hold_no_firm_breaker_trips_and_reset_restores_all(
) {
    let mut f = Firm::start(
        "[firm.circuit_breakers]\ndrawdown = { threshold = \"-0.08\" }\n",
        5,
    );
    f.snapshot(0, "100000");
    f.snapshot(1, "100000");
    f.wait_for("the first two strategies in the high-water mark", |f| {
        (0..3).all(|i| f.figures(i) == (json!("200000"), json!("200000")))
    });
    f.snapshot(0, "95000");
    // A strategy joining adds its value to the value and the high-water mark alike: the
    // firm's drawdown stays what it was (-2.5%), not hidden by the newcomer.
    f.snapshot(2, "100000");
    f.wait_for("the join counted in value and high-water mark alike", |f| {
        (0..3).all(|i| f.figures(i) == (json!("295000"), json!("300000")))
    });
    let (code, v) = f.post(0, "/halt", json!({"operator": "alice", "reason": "drill"}));
    assert_eq!(code, 200, "{v}");
    f.wait_for("every strategy halted by the firm", |f| {
        (0..3).all(|i| f.state(i) == "MANUALLY_HALTED")
    });
    // A routine restart during the halt: its strategy's last value stays in the sum.
    f.kill_host(1);
    f.start_host(1);
    f.wait_for("the restarted host back in every firm view", |f| {
        (0..3).all(|i| {
            f.get(i, "/firm")["hosts"]
                .as_array()
                .is_some_and(|h| h.iter().all(|h| h["connected"] == true))
        })
    });
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        for i in 0..3 {
            assert_eq!(
                f.figures(i),
                (json!("295000"), json!("300000")),
                "host {i} after host 1's restart\n{}",
                f.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(f.firm_causes().is_empty(), "{:?}", f.firm_causes());
    let (code, ticket) = f.post(2, "/reset", json!({"operator": "bob"}));
    assert_eq!(code, 202, "{ticket}");
    let (code, v) = f.post(
        2,
        "/reset/confirm",
        json!({"operator": "carol", "confirmation_token": ticket["confirmation_token"]}),
    );
    assert_eq!(code, 200, "{v}");
    f.wait_for("every strategy back to NORMAL", |f| {
        (0..3).all(|i| f.state(i) == "NORMAL")
    });
    assert!(f.firm_causes().is_empty(), "{:?}", f.firm_causes());
}

#[test]
fn test_firm_order_rate_when_a_host_restarts_then_its_orders_before_and_after_all_count() {
    let mut f = Firm::start(
        "[firm.circuit_breakers]\norder_rate = { max_orders = 10, window = 300 }\n",
        5,
    );
    for n in 0..6 {
        assert_eq!(f.order(1, &format!("before-{n}"))["decision"], "accepted");
    }
    // Every host has counted the six before the restart.
    std::thread::sleep(Duration::from_millis(1500));
    f.kill_host(1);
    f.start_host(1);
    for n in 0..5 {
        f.order(1, &format!("after-{n}"));
    }
    // 11 orders inside the window: the firm's order rate trips (it undercounted to 5).
    f.wait_for("the firm order-rate breaker tripped everywhere", |f| {
        (0..3).all(|i| f.state(i) == "TRIPPED")
    });
    assert!(f.firm_causes().iter().all(|c| c == "firm:order_rate"));
}

#[test]
fn test_remove_host_when_decommissioned_then_its_value_leaves_value_and_high_water_mark() {
    let mut f = Firm::start(
        "[firm.circuit_breakers]\ndrawdown = { threshold = \"-0.08\" }\n",
        2,
    );
    for i in 0..3 {
        f.snapshot(i, "100000");
    }
    f.wait_for("the three strategies in the figures", |f| {
        (0..3).all(|i| f.figures(i) == (json!("300000"), json!("300000")))
    });
    let (code, v) = f.delete(0, "/firm/hosts/host-c", json!({"operator": "dana"}));
    assert_eq!(code, 409, "a connected host is not removed: {v}");
    assert_eq!(v["error"], "host_connected");
    f.kill_host(2);
    // Gone without a word: its last value stays in the sum until an operator removes it.
    f.wait_for("host C counted as disconnected", |f| {
        f.get(0, "/firm")["hosts"].as_array().is_some_and(|h| {
            h.iter()
                .any(|h| h["host_id"] == "host-c" && h["connected"] == false)
        })
    });
    assert_eq!(f.figures(0), (json!("300000"), json!("300000")));
    let (code, v) = f.delete(0, "/firm/hosts/host-c", json!({"operator": "dana"}));
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["strategies"], json!(["s-host-c"]));
    assert_eq!(v["value"], "100000");
    f.wait_for(
        "host C's value out of value and high-water mark alike",
        |f| (0..2).all(|i| f.figures(i) == (json!("200000"), json!("200000"))),
    );
    // Audited on the host that took the call, with the operator.
    let removed = f
        .causes(0)
        .into_iter()
        .find(|a| a["cause"] == "firm_host_removed")
        .expect("firm_host_removed audited");
    assert_eq!(removed["operator"], "dana");
    assert_eq!(removed["details"]["host_id"], "host-c");
    assert_eq!(removed["details"]["strategies"], json!(["s-host-c"]));
    for i in 0..2 {
        let hosts = f.get(i, "/firm")["hosts"].clone();
        assert!(
            hosts
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["host_id"] != "host-c"),
            "{hosts}"
        );
    }
    assert!(f.firm_causes().is_empty(), "{:?}", f.firm_causes());
    let (code, v) = f.delete(1, "/firm/hosts/host-c", json!({"operator": "dana"}));
    assert_eq!(code, 404, "{v}");
    let (code, v) = f.delete(1, "/firm/hosts/host-c", json!({}));
    assert_eq!(code, 422, "operator is required: {v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("operator"),
        "{v}"
    );
}

/// Polls `cond` every 20 ms for at most `limit`; answers how long it took, or `None`.
fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() <= limit {
        if cond() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn test_nats_node_restart_when_a_firm_halt_follows_then_every_host_applies_it_within_lease_plus_5s()
{
    let lease = 5;
    let mut f = Firm::start("", lease);
    for i in 0..3 {
        assert_eq!(f.order(i, "before")["decision"], "accepted");
    }
    let limit = Duration::from_secs(lease as u64 + 5);
    for node in 0..3 {
        // Maintenance: one server restarted, then a desk halt entered at once, then lifted.
        f.nats.restart(node);
        let restarted = Instant::now();
        let (code, v) = f.post(
            (node + 1) % 3,
            "/halt",
            json!({"operator": "erin", "reason": "after maintenance", "desk": "equities"}),
        );
        assert_eq!(code, 200, "{v}");
        // Counted from the restart: the halt's own answer waits out the streams' election.
        let halted = within(limit.saturating_sub(restarted.elapsed()), || {
            (0..3).all(|i| f.state(i) == "MANUALLY_HALTED")
        });
        assert!(
            halted.is_some(),
            "node {node} restarted: the halt not on every host within lease + 5 s\n{}",
            f.logs()
        );
        let (code, ticket) = f.post(
            (node + 2) % 3,
            "/reset",
            json!({"operator": "erin", "desk": "equities"}),
        );
        assert_eq!(code, 202, "{ticket}");
        let (code, v) = f.post(
            (node + 2) % 3,
            "/reset/confirm",
            json!({"operator": "frank", "confirmation_token": ticket["confirmation_token"]}),
        );
        assert_eq!(code, 200, "{v}");
        let halted_after = restarted.elapsed();
        let lifted = within(limit, || (0..3).all(|i| f.state(i) == "NORMAL"));
        assert!(
            lifted.is_some(),
            "node {node} restarted: the reset not on every host within lease + 5 s\n{}",
            f.logs()
        );
        eprintln!("node {node} restarted: halt on every host {halted_after:?} after the restart, reset {lifted:?} after its confirmation");
        f.nats.wait_ready(Duration::from_secs(30));
    }
    for i in 0..3 {
        assert!(
            !f.causes(i).iter().any(|a| a["cause"] == "bus_lost"),
            "host {i} counted one server's restart as the bus's loss"
        );
    }
}

#[test]
fn test_bucket_when_wiped_then_hosts_make_it_again_with_the_firm_halts_in_force() {
    let f = Firm::start("", 5);
    let (code, v) = f.post(
        0,
        "/halt",
        json!({"operator": "gina", "reason": "rates drill", "desk": "rates"}),
    );
    assert_eq!(code, 200, "{v}");
    // The firm's bucket deleted from under the hosts (a server's store wiped, or by hand).
    let url = f.nats.url(1);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let client = async_nats::connect(url).await.expect("connect");
            async_nats::jetstream::new(client)
                .delete_key_value("rustybt_firm_acme")
                .await
                .expect("bucket deleted");
        });
    let wiped = Instant::now();
    // Every host finds it gone, makes it again and writes the record back: the desk halt
    // holds, and no host counts the bus as lost.
    let back = within(Duration::from_secs(10), || {
        (0..3).all(|i| {
            f.get(i, "/firm")["desk_halts"]
                .as_array()
                .is_some_and(|d| d.iter().any(|h| h["desk"] == "rates"))
        })
    });
    assert!(
        back.is_some(),
        "the record not back within 10 s of the wipe\n{}",
        f.logs()
    );
    eprintln!(
        "bucket wiped: record back on every host after {:?}",
        wiped.elapsed()
    );
    f.wait_for("every host in every firm view again", |f| {
        (0..3).all(|i| {
            f.get(i, "/firm")["strategies"]
                .as_array()
                .map_or(0, Vec::len)
                == 3
        })
    });
    for i in 0..3 {
        assert_eq!(f.order(i, "after-wipe")["decision"], "accepted");
        assert!(!f.causes(i).iter().any(|a| a["cause"] == "bus_lost"));
    }
    // And the firm is controlled through it as before.
    let (code, v) = f.post(1, "/halt", json!({"operator": "gina", "reason": "after"}));
    assert_eq!(code, 200, "{v}");
    f.wait_for("every host halted", |f| {
        (0..3).all(|i| f.state(i) == "MANUALLY_HALTED")
    });
}
