//! Where webhooks may go: the host must match an allow-listed pattern, https is required
//! except to loopback when explicitly allowed, and the address a name resolves to must not be
//! private, link-local (cloud metadata), or otherwise internal unless allow-listed by address.

use std::net::IpAddr;
use url::Url;

/// A destination the policy refuses; names the host and the reason, never a path or query
/// (which may carry a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a URL.
    #[error("not a URL")]
    NotAUrl,
    /// Not http(s).
    #[error("scheme {0:?} is not https")]
    Scheme(String),
    /// http to a non-loopback host, or to loopback without `allow_loopback_http`.
    #[error("{0}: plain http is refused (https required; http only to loopback with allow_loopback_http)")]
    PlainHttp(String),
    /// The host matches no pattern.
    #[error("{0}: host is not in [alerts.allowlist] hosts")]
    NotAllowed(String),
    /// The host resolves to an internal address.
    #[error(
        "{host}: resolves to {addr}, a {kind} address; refused unless that address is allow-listed"
    )]
    InternalAddress {
        /// The host.
        host: String,
        /// The address.
        addr: IpAddr,
        /// private, link-local, loopback...
        kind: &'static str,
    },
    /// The name did not resolve.
    #[error("{0}: does not resolve")]
    Unresolved(String),
}

/// The allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// `hooks.slack.com`, `*.example.com`, `10.0.0.7`.
    pub hosts: Vec<String>,
    /// Let `http://` through to loopback hosts.
    pub allow_loopback_http: bool,
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (
        pattern.trim().to_ascii_lowercase(),
        host.to_ascii_lowercase(),
    );
    match p.strip_prefix("*.") {
        Some(suffix) => h.ends_with(&format!(".{suffix}")),
        None => p == h,
    }
}

/// What kind of internal address `ip` is, if it is one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata)")
            } else if v4.is_private() {
                Some("private")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("carrier-grade NAT")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || o[0] == 0 {
                Some("non-routable")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_kind(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("unique-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("non-routable")
            } else {
                None
            }
        }
    }
}

impl Allowlist {
    /// Checks the URL itself (before any lookup). Returns the parsed URL and its host.
    pub fn check_url(&self, url: &str) -> Result<(Url, String), Refused> {
        let u = Url::parse(url).map_err(|_| Refused::NotAUrl)?;
        let host = u
            .host_str()
            .ok_or(Refused::NotAUrl)?
            .trim_matches(['[', ']'])
            .to_string();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        match u.scheme() {
            "https" => {}
            "http" if loopback && self.allow_loopback_http => {}
            "http" => return Err(Refused::PlainHttp(host)),
            other => return Err(Refused::Scheme(other.to_string())),
        }
        let allowed = self.hosts.iter().any(|p| host_matches(p, &host))
            || (loopback && self.allow_loopback_http);
        if !allowed {
            return Err(Refused::NotAllowed(host));
        }
        Ok((u, host))
    }

    /// Checks the addresses `host` resolved to.
    pub fn check_addresses(&self, host: &str, addrs: &[IpAddr]) -> Result<(), Refused> {
        if addrs.is_empty() {
            return Err(Refused::Unresolved(host.to_string()));
        }
        for &addr in addrs {
            let Some(kind) = internal_kind(addr) else {
                continue;
            };
            let by_address = self
                .hosts
                .iter()
                .any(|p| p.trim().parse::<IpAddr>().ok() == Some(addr));
            let loopback_ok = addr.is_loopback() && self.allow_loopback_http;
            if !by_address && !loopback_ok {
                return Err(Refused::InternalAddress {
                    host: host.to_string(),
                    addr,
                    kind,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(hosts: &[&str], loopback: bool) -> Allowlist {
        Allowlist {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allow_loopback_http: loopback,
        }
    }

    #[test]
    fn test_check_url_cases() {
        let l = list(&["hooks.slack.com", "*.example.com"], false);
        assert!(l.check_url("https://hooks.slack.com/services/x").is_ok());
        assert!(l.check_url("https://a.b.example.com/x").is_ok());
        assert_eq!(
            l.check_url("https://example.com/x").unwrap_err(),
            Refused::NotAllowed("example.com".into())
        );
        assert_eq!(
            l.check_url("https://evil.com/?token=s3cret").unwrap_err(),
            Refused::NotAllowed("evil.com".into())
        );
        assert_eq!(
            l.check_url("http://hooks.slack.com/x").unwrap_err(),
            Refused::PlainHttp("hooks.slack.com".into())
        );
        assert!(matches!(
            l.check_url("ftp://hooks.slack.com/x").unwrap_err(),
            Refused::Scheme(_)
        ));
        assert_eq!(
            l.check_url("http://127.0.0.1:9/x").unwrap_err(),
            Refused::PlainHttp("127.0.0.1".into())
        );
        assert!(list(&[], true).check_url("http://127.0.0.1:9/x").is_ok());
        assert!(list(&[], true).check_url("http://[::1]:9/x").is_ok());
        assert!(list(&[], true).check_url("http://10.0.0.1:9/x").is_err());
    }

    #[test]
    fn test_refusal_never_names_path_or_query() {
        let e = list(&[], false)
            .check_url("https://evil.com/hook?token=s3cret")
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret") && !e.to_string().contains("/hook"));
    }

    #[test]
    fn test_check_addresses_refuses_internal_unless_allowed_by_address() {
        let l = list(&["hooks.example.com"], false);
        for (ip, kind) in [
            ("169.254.169.254", "link-local (cloud metadata)"),
            ("10.1.2.3", "private"),
            ("192.168.0.1", "private"),
            ("172.16.0.1", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("0.0.0.0", "non-routable"),
            ("fd00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            match l.check_addresses("hooks.example.com", &[addr]) {
                Err(Refused::InternalAddress { kind: k, .. }) => assert_eq!(k, kind, "{ip}"),
                other => panic!("{ip}: {other:?}"),
            }
        }
        assert!(l
            .check_addresses("hooks.example.com", &["93.184.216.34".parse().unwrap()])
            .is_ok());
        let by_addr = list(&["hooks.example.com", "10.1.2.3"], false);
        assert!(by_addr
            .check_addresses("hooks.example.com", &["10.1.2.3".parse().unwrap()])
            .is_ok());
        assert!(list(&[], true)
            .check_addresses("127.0.0.1", &["127.0.0.1".parse().unwrap()])
            .is_ok());
        assert!(matches!(
            l.check_addresses("x", &[]),
            Err(Refused::Unresolved(_))
        ));
    }
}
