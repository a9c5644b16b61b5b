//! Which addresses callsign's outbound requests may reach (the SSRF policy, audit finding M3).
//! URLs set through the Management API (the custom phone provider's webhook) and the
//! call-centre webhook must not become a way into the host or its network: an address that is
//! loopback, unspecified, private (10/8, 172.16/12, 192.168/16), shared (100.64/10), link-local
//! (169.254/16 with the cloud metadata service, fe80::/10), unique-local (fc00::/7), multicast,
//! broadcast, documentation or otherwise reserved is refused, and so is any IPv6 form that
//! embeds such an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) — unless the operator's [`AllowList`] names it.
//!
//! Pure: [`classify`] judges one address, [`AllowList`] is the operator's exceptions, and
//! [`check_url`] is the save-time check of a URL (literal addresses, `localhost`, and plain
//! `http`, which only allow-listed targets may use). The check that counts is made at connect
//! time on every resolved address by `delivery::http::SafeClient`, with [`permits`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused. `as_str` names it in logs and in save-time errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    Unspecified,
    Loopback,
    Private,
    /// 100.64/10, carrier-grade NAT.
    Shared,
    /// 169.254/16 (the cloud metadata service lives at 169.254.169.254) and fe80::/10.
    LinkLocal,
    /// fc00::/7 (and the deprecated site-local fec0::/10).
    UniqueLocal,
    Multicast,
    Broadcast,
    Documentation,
    /// Everything else not meant for the public Internet: 0/8, 192.0.0/24, benchmarking
    /// 198.18/15, 240/4, 6to4 relays, discard-only 100::/64, IETF 2001::/23, local NAT64.
    Reserved,
}

impl Blocked {
    pub fn as_str(self) -> &'static str {
        match self {
            Blocked::Unspecified => "unspecified",
            Blocked::Loopback => "loopback",
            Blocked::Private => "private",
            Blocked::Shared => "shared (CGNAT)",
            Blocked::LinkLocal => "link-local",
            Blocked::UniqueLocal => "unique-local",
            Blocked::Multicast => "multicast",
            Blocked::Broadcast => "broadcast",
            Blocked::Documentation => "documentation",
            Blocked::Reserved => "reserved",
        }
    }
}

/// `None` for a globally routable address; else why it is refused.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    use Blocked::*;
    // Most specific first: 192.0.0/24 and 192.0.2/24 sit beside each other, 255.255.255.255
    // inside 240/4.
    const TABLE: &[([u8; 4], u32, Blocked)] = &[
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, Reserved),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, Shared),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    use Blocked::*;
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    // Forms that carry an IPv4 address: judged by that address (a mapped 127.0.0.1 reaches
    // the loopback interface on a dual-stack socket), and refused outright when it is public
    // but the form is not one a public service would publish.
    let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED);
    if in_v6(ip, v6("::ffff:0:0"), 96) || in_v6(ip, v6("64:ff9b::"), 96) {
        return classify_v4(low32);
    }
    if in_v6(ip, v6("::"), 96) {
        // IPv4-compatible (deprecated): no public service answers on one.
        return Some(classify_v4(low32).unwrap_or(Reserved));
    }
    if in_v6(ip, v6("2002::"), 16) {
        let embedded = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        return classify_v4(embedded);
    }
    const TABLE: &[(&str, u32, Blocked)] = &[
        ("::ffff:0:0:0", 96, Reserved), // SIIT translated
        ("64:ff9b:1::", 48, Reserved),  // local-use NAT64
        ("100::", 64, Reserved),        // discard-only
        ("2001:db8::", 32, Documentation),
        ("3fff::", 20, Documentation),
        ("2001::", 23, Reserved), // IETF protocol assignments (Teredo, ORCHID, …)
        ("fc00::", 7, UniqueLocal),
        ("fe80::", 10, LinkLocal),
        ("fec0::", 10, UniqueLocal),
        ("ff00::", 8, Multicast),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, v6(net), *prefix))
        .map(|(_, _, class)| *class)
}

/// One exception the operator granted: a network (any port, or one port) or a host name as
/// written in URLs (any port, or one port).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Net {
        addr: IpAddr,
        prefix: u32,
        port: Option<u16>,
    },
    Host {
        name: String,
        port: Option<u16>,
    },
}

/// The operator's exceptions to the policy (`[outbound] allow` in callsign.toml,
/// `CALLSIGN_OUTBOUND_ALLOW` comma-separated). Each entry is one of `10.1.2.3`,
/// `10.0.0.0/8`, `fd00::/8`, `10.1.2.3:8443`, `[::1]:8080`, `relay.internal` or
/// `relay.internal:8443`. Empty by default: nothing private is reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
    /// The entries as written, for `config check`.
    shown: Vec<String>,
}

fn host_name(s: &str) -> Option<String> {
    let name = s.trim_end_matches('.').to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    ok.then_some(name)
}

/// IPv4-mapped forms are matched as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `config check` lists the entries as written.
impl serde::Serialize for AllowList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.shown)
    }
}

impl AllowList {
    /// Parses entries; empty ones are skipped. The error names the entry.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for raw in items {
            let s = raw.trim();
            if s.is_empty() {
                continue;
            }
            list.entries.push(Self::entry(s).ok_or_else(|| {
                format!(
                    "{s:?} is not an address, a network (CIDR), address:port, host or host:port"
                )
            })?);
            list.shown.push(s.to_string());
        }
        Ok(list)
    }

    /// [`AllowList::parse`] of a comma-separated list (the environment variable's form).
    pub fn parse_csv(s: &str) -> Result<AllowList, String> {
        Self::parse(s.split(','))
    }

    fn entry(s: &str) -> Option<Entry> {
        if let Some((a, p)) = s.split_once('/') {
            let addr = canonical(a.parse::<IpAddr>().ok()?);
            let mut prefix: u32 = p.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if a.parse::<IpAddr>().ok()?.is_ipv6() && addr.is_ipv4() {
                // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
                prefix = prefix.checked_sub(96)?;
            }
            return (prefix <= max).then_some(Entry::Net {
                addr,
                prefix,
                port: None,
            });
        }
        let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        if let Ok(ip) = bare.unwrap_or(s).parse::<IpAddr>() {
            let ip = canonical(ip);
            return Some(Entry::Net {
                addr: ip,
                prefix: if ip.is_ipv4() { 32 } else { 128 },
                port: None,
            });
        }
        if let Ok(sa) = s.parse::<SocketAddr>() {
            let ip = canonical(sa.ip());
            return Some(Entry::Net {
                addr: ip,
                prefix: if ip.is_ipv4() { 32 } else { 128 },
                port: Some(sa.port()),
            });
        }
        let (name, port) = match s.rsplit_once(':') {
            Some((n, p)) => (n, Some(p.parse::<u16>().ok()?)),
            None => (s, None),
        };
        Some(Entry::Host {
            name: host_name(name)?,
            port,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as the operator wrote them.
    pub fn entries(&self) -> &[String] {
        &self.shown
    }

    /// Whether a host-name entry names `host` on `port`.
    fn names_host(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.');
        self.entries.iter().any(|e| {
            matches!(e, Entry::Host { name, port: p }
                if name.eq_ignore_ascii_case(host) && p.is_none_or(|p| p == port))
        })
    }

    /// Whether an entry names `addr`, reached for the URL host `host` (a name, or the address
    /// itself).
    pub fn allows(&self, host: &str, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.');
        self.entries.iter().any(|e| match e {
            Entry::Net {
                addr: net,
                prefix,
                port,
            } => {
                port.is_none_or(|p| p == addr.port())
                    && match (ip, net) {
                        (IpAddr::V4(a), IpAddr::V4(n)) => in_v4(a, n.octets(), *prefix),
                        (IpAddr::V6(a), IpAddr::V6(n)) => in_v6(a, *n, *prefix),
                        _ => false,
                    }
            }
            Entry::Host { name, port } => {
                port.is_none_or(|p| p == addr.port()) && name.eq_ignore_ascii_case(host)
            }
        })
    }
}

/// The connect-time decision for one resolved address of `host`: refused when [`classify`]
/// names it and the allow-list does not.
pub fn permits(allow: &AllowList, host: &str, addr: SocketAddr) -> Result<(), Blocked> {
    match classify(addr.ip()) {
        Some(class) if !allow.allows(host, addr) => Err(class),
        _ => Ok(()),
    }
}

/// The parts of an `http(s)` URL the policy looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

/// Splits an absolute `http://` or `https://` URL into its target.
pub fn target(url: &str) -> Result<Target, String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("the URL must start with https://".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or("the URL has an invalid host")?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| "the URL has an invalid port")?,
        None if https => 443,
        None => 80,
    };
    Ok(Target {
        https,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// Names that resolve to the loopback interface whatever DNS says (RFC 6761).
fn is_localhost_name(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    h == "localhost" || h.ends_with(".localhost")
}

/// The save-time check of a URL callsign will call: a literal address (or a `localhost`
/// name) must pass [`permits`], and plain `http` is only for targets the allow-list names
/// (local relays and test fakes; anything else would carry signed messages in clear).
/// Other host names pass here and are judged on every connection.
pub fn check_url(url: &str, allow: &AllowList) -> Result<(), String> {
    let t = target(url)?;
    let literal = t
        .host
        .parse::<IpAddr>()
        .ok()
        .or_else(|| is_localhost_name(&t.host).then_some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let named = match literal {
        Some(ip) => {
            let addr = SocketAddr::new(ip, t.port);
            permits(allow, &t.host, addr).map_err(|class| {
                format!(
                    "the URL points to a {} address, which callsign does not call unless the operator allows it ([outbound] allow)",
                    class.as_str()
                )
            })?;
            allow.allows(&t.host, addr)
        }
        None => allow.names_host(&t.host, t.port),
    };
    if !t.https && !named {
        return Err(
            "the URL must use https (http only for targets named in the operator's [outbound] allow list)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classifies_ipv4() {
        use Blocked::*;
        let cases: &[(&str, Option<Blocked>)] = &[
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Reserved)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("11.0.0.1", None),
            ("100.63.255.255", None),
            ("100.64.0.1", Some(Shared)),
            ("100.127.255.255", Some(Shared)),
            ("100.128.0.0", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.254.0.1", Some(LinkLocal)),
            ("169.255.0.1", None),
            ("172.15.255.255", None),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.0.192", Some(Reserved)),
            ("192.0.2.1", Some(Documentation)),
            ("192.0.3.1", None),
            ("192.88.99.1", Some(Reserved)),
            ("192.167.255.255", None),
            ("192.168.0.1", Some(Private)),
            ("192.168.255.255", Some(Private)),
            ("192.169.0.0", None),
            ("198.18.0.1", Some(Reserved)),
            ("198.19.255.255", Some(Reserved)),
            ("198.20.0.0", None),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.254", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("223.255.255.255", None),
        ];
        for (a, want) in cases {
            assert_eq!(classify(ip(a)), *want, "{a}");
        }
    }

    #[test]
    fn classifies_ipv6_and_embedded_ipv4() {
        use Blocked::*;
        let cases: &[(&str, Option<Blocked>)] = &[
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            // IPv4-mapped: judged by the IPv4 address
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:8.8.8.8", None),
            // IPv4-compatible: never public
            ("::127.0.0.1", Some(Loopback)),
            ("::10.0.0.1", Some(Private)),
            ("::8.8.8.8", Some(Reserved)),
            // SIIT translated
            ("::ffff:0:7f00:1", Some(Reserved)),
            // NAT64
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::1", Some(Reserved)),
            // 6to4 carries its IPv4 address in bits 16..48
            ("2002:7f00:1::1", Some(Loopback)),
            ("2002:a00:1::", Some(Private)),
            ("2002:a9fe:a9fe::1", Some(LinkLocal)),
            ("2002:808:808::1", None),
            ("100::1", Some(Reserved)),
            ("2001::1", Some(Reserved)),
            ("2001:1ff::1", Some(Reserved)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd00:ec2::254", Some(UniqueLocal)),
            ("fdff:ffff::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(UniqueLocal)),
            ("ff02::1", Some(Multicast)),
            ("ff0e::1", Some(Multicast)),
            ("2001:4860:4860::8888", None),
            ("2606:4700:4700::1111", None),
            ("2a00:1450::1", None),
            ("fbff::1", None),
        ];
        for (a, want) in cases {
            assert_eq!(classify(ip(a)), *want, "{a}");
        }
    }

    #[test]
    fn allow_list_entries() {
        let a = AllowList::parse_csv(
            " 10.0.0.0/8, 192.168.1.5:8443 ,[::1]:8080, fd00::/8, relay.internal:9000, hooks.lan., 172.16.0.9, ::ffff:100.64.0.0/106,",
        )
        .unwrap();
        assert_eq!(a.entries().len(), 8);
        assert!(a.allows("10.9.9.9", sa("10.9.9.9:1")));
        assert!(
            a.allows("x", sa("[::ffff:10.1.1.1]:443")),
            "mapped forms match as IPv4"
        );
        assert!(!a.allows("11.0.0.1", sa("11.0.0.1:1")));
        assert!(a.allows("192.168.1.5", sa("192.168.1.5:8443")));
        assert!(!a.allows("192.168.1.5", sa("192.168.1.5:8444")));
        assert!(a.allows("::1", sa("[::1]:8080")));
        assert!(!a.allows("::1", sa("[::1]:8081")));
        assert!(!a.allows("127.0.0.1", sa("127.0.0.1:8080")));
        assert!(a.allows("[fd12::1]", sa("[fd12::1]:1")));
        assert!(a.allows("RELAY.internal.", sa("127.0.0.1:9000")));
        assert!(!a.allows("relay.internal", sa("127.0.0.1:9001")));
        assert!(!a.allows("other.internal", sa("127.0.0.1:9000")));
        assert!(a.allows("hooks.lan", sa("10.0.0.1:1234")));
        assert!(a.allows("172.16.0.9", sa("172.16.0.9:1")));
        assert!(a.allows("x", sa("100.64.0.1:1")));
        assert!(a.allows("x", sa("100.127.0.1:1")));
        assert!(!a.allows("x", sa("100.128.0.1:1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.1:99999",
            "host name",
            "http://x",
            "a..b",
            "x:y",
            "1.2.3.4/x",
        ] {
            assert!(AllowList::parse([bad]).is_err(), "{bad}");
        }
        assert!(AllowList::parse_csv("").unwrap().is_empty());
    }

    #[test]
    fn permits_follows_class_and_allow_list() {
        let none = AllowList::default();
        assert!(permits(&none, "example.com", sa("93.184.216.34:443")).is_ok());
        assert_eq!(
            permits(&none, "localhost", sa("127.0.0.1:80")),
            Err(Blocked::Loopback)
        );
        assert_eq!(
            permits(&none, "x", sa("[::ffff:127.0.0.1]:80")),
            Err(Blocked::Loopback)
        );
        let one = AllowList::parse(["127.0.0.1:9000"]).unwrap();
        assert!(permits(&one, "127.0.0.1", sa("127.0.0.1:9000")).is_ok());
        assert!(permits(&one, "127.0.0.1", sa("127.0.0.1:22")).is_err());
        assert!(permits(&one, "x", sa("[::ffff:127.0.0.1]:9000")).is_ok());
    }

    #[test]
    fn save_time_check() {
        let none = AllowList::default();
        for ok in [
            "https://hooks.example.com/x?y=1",
            "https://93.184.216.34/hook",
            "https://[2606:4700:4700::1111]/",
            "https://internal.example/",
        ] {
            assert_eq!(check_url(ok, &none), Ok(()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:22/",
            "http://127.0.0.1:9000/hook",
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::1]:8443/",
            "https://[fd00:ec2::254]/",
            "https://0.0.0.0/",
            "http://localhost/hook",
            "https://LOCALHOST./hook",
            "https://api.localhost/hook",
            "http://example.com/hook",
            "ftp://example.com/",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
        let tests = AllowList::parse(["127.0.0.1", "relay.internal:8080"]).unwrap();
        assert_eq!(check_url("http://127.0.0.1:9000/hook", &tests), Ok(()));
        assert_eq!(check_url("http://localhost:9000/hook", &tests), Ok(()));
        assert_eq!(check_url("http://relay.internal:8080/", &tests), Ok(()));
        assert!(check_url("http://relay.internal:8081/", &tests).is_err());
        assert!(check_url("http://[::1]:9000/", &tests).is_err());
        assert!(check_url("http://example.com/", &tests).is_err());
        assert_eq!(
            target("https://[::1]:8443/x").unwrap(),
            Target {
                https: true,
                host: "::1".into(),
                port: 8443
            }
        );
        assert_eq!(target("http://Example.com").unwrap().port, 80);
        assert!(target("https://x:0x1/").is_err());
    }
}
