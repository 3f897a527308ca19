//! A small network of Linux network namespaces made by the test, for partitions that real
//! networks have (not only dead servers).
//!
//! Each *site* is a namespace holding one NATS server and one `rustybt live run` host, as a
//! firm co-locates them. Sites meet on a bus network: a bridge in a switch namespace, one veth
//! pair per site (`10.213.N.(site+1)/24`). Cutting a site takes its switch-side end down: the
//! site's server and host are cut off from the others together (the server becomes a
//! minority of one), and still reach each other. The test reaches each host's HTTP API over a
//! management veth of its own to the test's namespace (`10.214.N.(4·site+2)`), never cut.
//! Everything is named after the lab and deleted when it drops. Needs root and iproute2
//! (`ip`, `tc`): a lab that cannot be made fails the test, naming what is missing.

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static LABS: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS` (or another command), failing the test loudly when it fails.
fn run(program: &str, args: &[&str]) {
    if program == "ip" {
        crate::support::tools::require_on_path("ip", "sudo apt-get install iproute2");
    }
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program} {}`: {e}. Partition tests need root and iproute2: \
             `sudo apt-get install iproute2` and run the tests as root (CI does)",
                args.join(" ")
            )
        });
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}. Partition tests need root (CAP_NET_ADMIN) and iproute2 \
         (`sudo apt-get install iproute2`); CI runs them as root",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A lab of `sites` namespaces joined by a bus network.
pub struct NetLab {
    prefix: String,
    net: u32,
    sites: usize,
}

impl NetLab {
    /// Makes the namespaces, the bridge and the links.
    pub fn new(sites: usize) -> Self {
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Short names: an interface name holds at most 15 bytes.
        let prefix = format!("rb{}{}", pid % 10_000, n);
        let net = (pid.wrapping_mul(7).wrapping_add(n * 13)) % 250 + 1;
        let lab = Self { prefix, net, sites };
        let sw = lab.switch();
        run("ip", &["netns", "add", &sw]);
        run("ip", &["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        run("ip", &["-n", &sw, "link", "set", "br0", "up"]);
        for site in 0..sites {
            let ns = lab.site(site);
            run("ip", &["netns", "add", &ns]);
            run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
            // The bus link: eth0 in the site, s<i> on the bridge.
            let peer = format!("s{site}");
            run(
                "ip",
                &[
                    "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &peer,
                    "netns", &sw,
                ],
            );
            run(
                "ip",
                &[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{}/24", lab.bus_ip(site)),
                    "dev",
                    "eth0",
                ],
            );
            run("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
            run("ip", &["-n", &sw, "link", "set", &peer, "master", "br0"]);
            run("ip", &["-n", &sw, "link", "set", &peer, "up"]);
            // The management link to the test's own namespace.
            let outer = lab.mgmt_link(site);
            run(
                "ip",
                &[
                    "link", "add", &outer, "type", "veth", "peer", "name", "mgmt", "netns", &ns,
                ],
            );
            run(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("{}/30", lab.mgmt_outer(site)),
                    "dev",
                    &outer,
                ],
            );
            run("ip", &["link", "set", &outer, "up"]);
            run(
                "ip",
                &[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{}/30", lab.mgmt_ip(site)),
                    "dev",
                    "mgmt",
                ],
            );
            run("ip", &["-n", &ns, "link", "set", "mgmt", "up"]);
        }
        lab
    }

    fn switch(&self) -> String {
        format!("{}sw", self.prefix)
    }

    /// The namespace of `site`.
    pub fn site(&self, site: usize) -> String {
        format!("{}s{site}", self.prefix)
    }

    fn mgmt_link(&self, site: usize) -> String {
        format!("{}m{site}", self.prefix)
    }

    /// The site's address on the bus network.
    pub fn bus_ip(&self, site: usize) -> String {
        format!("10.213.{}.{}", self.net, site + 1)
    }

    /// The site's address on its management link (where the test reaches its host's API).
    pub fn mgmt_ip(&self, site: usize) -> String {
        format!("10.214.{}.{}", self.net, 4 * site + 2)
    }

    fn mgmt_outer(&self, site: usize) -> String {
        format!("10.214.{}.{}", self.net, 4 * site + 1)
    }

    /// `program` to run inside `site`'s namespace.
    pub fn command(&self, site: usize, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.site(site), program]);
        cmd
    }

    /// Cuts `site` off the bus network (its server and host keep each other).
    pub fn cut(&self, site: usize) {
        run(
            "ip",
            &[
                "-n",
                &self.switch(),
                "link",
                "set",
                &format!("s{site}"),
                "down",
            ],
        );
    }

    /// Joins `site` to the bus network again.
    pub fn heal(&self, site: usize) {
        run(
            "ip",
            &[
                "-n",
                &self.switch(),
                "link",
                "set",
                &format!("s{site}"),
                "up",
            ],
        );
    }

    /// Degrades `site`'s bus link (or restores it with `on = false`): a token bucket at 512
    /// kbit/s with at most 100 ms of queue, so bursts wait and the excess is dropped. (`tc
    /// netem` would give delay and loss directly, but the kernels this runs on may lack it;
    /// `tbf` is in every one.)
    pub fn degrade(&self, site: usize, on: bool) {
        let sw = self.switch();
        let dev = format!("s{site}");
        if !on {
            let _ = Command::new("ip")
                .args([
                    "netns", "exec", &sw, "tc", "qdisc", "del", "dev", &dev, "root",
                ])
                .output();
            return;
        }
        run(
            "ip",
            &[
                "netns", "exec", &sw, "tc", "qdisc", "replace", "dev", &dev, "root", "tbf", "rate",
                "512kbit", "burst", "32kbit", "latency", "100ms",
            ],
        );
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        for site in 0..self.sites {
            let _ = Command::new("ip")
                .args(["link", "del", &self.mgmt_link(site)])
                .output();
            let _ = Command::new("ip")
                .args(["netns", "del", &self.site(site)])
                .output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.switch()])
            .output();
    }
}
