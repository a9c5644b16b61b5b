//! Who is the client when callsign sits behind load balancers or reverse proxies: trusted
//! proxy networks (CIDRs) and the right-to-left walk of `X-Forwarded-For` or RFC 7239
//! `Forwarded` through them. Every proxy appends the address it received the connection from,
//! so only the entries appended by hops we trust are facts; everything to their left was
//! written by the client and may be invented. The walk therefore starts at the TCP peer and
//! steps left only while the current hop is trusted; the first untrusted address is the
//! client. A hop that cannot be read (`unknown`, an obfuscated `_id`, garbage) ends the walk at
//! the last address we know, never skipping past it to a client-chosen one. With no trusted
//! proxies (the default) the TCP peer is the client and headers are never read.

use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// A network in CIDR form (`10.0.0.0/8`, `fd00::/8`); a bare address is a single host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr[/prefix]`. Host bits set beyond the prefix are refused rather than
    /// masked: `10.0.0.5/0` is far more likely a typo than a wish to trust the whole Internet.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let t = s.trim();
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let net: IpAddr = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("{t:?} is not an IP address or CIDR network"))?;
        if net.to_canonical() != net {
            // peers are compared in their IPv4 form; a mapped network would match nothing
            return Err(format!("{t:?}: write IPv4-mapped networks as IPv4"));
        }
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("{t:?}: the prefix length must be 0 to {max}")),
            },
        };
        let c = Cidr { net, prefix };
        if c.mask(net) != net {
            return Err(format!(
                "{t:?} has host bits set; the network is {}/{prefix}",
                c.mask(net)
            ));
        }
        Ok(c)
    }

    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let m = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((bits & m).into())
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let m = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((bits & m).into())
            }
        }
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what
    /// a dual-stack listener reports for IPv4 peers) count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.net.is_ipv4() && self.mask(ip) == self.net
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which header the trusted proxies maintain. Only one is read: a proxy that appends to
/// `X-Forwarded-For` passes a client's own `Forwarded` header on untouched (and the other way
/// round), so reading the header the proxies do not write would hand the client the pen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, cloud load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(s: &str) -> Result<ForwardedHeader, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!(
                "{other:?}: expected \"x-forwarded-for\" or \"forwarded\""
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// The trusted proxy networks and the header they maintain.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrustedProxies {
    pub networks: Vec<Cidr>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a connection from `peer` carrying `values` (every line of the
    /// configured header, in order). See the module comment for the walk.
    pub fn client(&self, peer: IpAddr, values: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<Hop> = match self.header {
            ForwardedHeader::XForwardedFor => values
                .iter()
                .flat_map(|v| v.split(','))
                .map(xff_hop)
                .collect(),
            ForwardedHeader::Forwarded => values.iter().flat_map(|v| forwarded_hops(v)).collect(),
        };
        let mut current = peer;
        for hop in hops.iter().rev() {
            if !self.trusts(current) {
                break;
            }
            match hop {
                Hop::Addr(ip) => current = *ip,
                Hop::Opaque => break,
            }
        }
        current
    }
}

/// One entry of a forwarding chain: an address, or something that names no address
/// (`unknown`, an obfuscated identifier, an element without `for=`, garbage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hop {
    Addr(IpAddr),
    Opaque,
}

fn hop(ip: Option<IpAddr>) -> Hop {
    ip.map(|i| Hop::Addr(i.to_canonical()))
        .unwrap_or(Hop::Opaque)
}

/// One address as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:8080`. Anything else (including zone ids) is `None`.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ok_port = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return if ok_port {
            inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    let (host, port) = s.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn xff_hop(s: &str) -> Hop {
    hop(parse_addr(s))
}

/// Splits `s` on `sep` outside RFC 7230 quoted strings (where `\` escapes one character).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// The value of a `Forwarded` parameter: a token, or a quoted string with escapes removed.
/// An unterminated quote is not a value.
fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    let Some(inner) = v.strip_prefix('"') else {
        return Some(v.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// The hops of one `Forwarded` header line: one per comma-separated element, from its `for=`
/// parameter. RFC 7239 node names: an IPv4 address, a bracketed (and therefore quoted) IPv6
/// address, either with an optional port; `unknown` and `_obfuscated` name no address.
fn forwarded_hops(line: &str) -> Vec<Hop> {
    split_unquoted(line, ',')
        .into_iter()
        .map(|element| {
            let mut found = None;
            for pair in split_unquoted(element, ';') {
                let Some((k, v)) = pair.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("for") {
                    if found.is_some() {
                        // a repeated parameter is malformed (RFC 7239 section 4)
                        return Hop::Opaque;
                    }
                    found = Some(v);
                }
            }
            let Some(value) = found.and_then(unquote) else {
                return Hop::Opaque;
            };
            hop(parse_addr(&value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(nets: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            networks: nets.iter().map(|n| Cidr::parse(n).unwrap()).collect(),
            header,
        }
    }

    fn xff(nets: &[&str]) -> TrustedProxies {
        proxies(nets, ForwardedHeader::XForwardedFor)
    }

    fn fwd(nets: &[&str]) -> TrustedProxies {
        proxies(nets, ForwardedHeader::Forwarded)
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "v4-mapped counts as v4");
        let host = Cidr::parse("192.0.2.7").unwrap();
        assert_eq!(host.to_string(), "192.0.2.7/32");
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse(" fd00::/8 ").unwrap();
        assert!(v6.contains(ip("fd12:3456::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn bad_cidrs_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "example.com",
            "10.0.0.256",
            "10.0.0.0 /8",
            "::ffff:10.0.0.0/104",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} accepted");
        }
        let e = Cidr::parse("10.0.0.5/0").unwrap_err();
        assert!(e.contains("host bits") && e.contains("0.0.0.0/0"), "{e}");
        assert!(Cidr::parse("10.1.0.0/8").is_err());
        assert!(Cidr::parse("fd00::1/8").is_err());
    }

    #[test]
    fn addresses_as_proxies_write_them() {
        assert_eq!(parse_addr(" 192.0.2.1 "), Some(ip("192.0.2.1")));
        assert_eq!(parse_addr("192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(parse_addr("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_addr("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_addr("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        for bad in [
            "",
            "unknown",
            "_hidden",
            "192.0.2.1:",
            "192.0.2.1:x",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[2001:db8::1]:",
            "[192.0.2.1]",
            "fe80::1%eth0",
            "host.example:80",
            "1.2.3.4.5",
        ] {
            assert_eq!(parse_addr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn no_trusted_proxies_means_the_peer_and_no_header() {
        let none = TrustedProxies::default();
        assert!(none.is_empty());
        assert_eq!(
            none.client(ip("127.0.0.1"), &["203.0.113.9"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = xff(&["10.0.0.0/8"]);
        assert_eq!(
            p.client(ip("198.51.100.4"), &["10.0.0.1, 203.0.113.9"]),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn xff_is_walked_right_to_left_through_trusted_hops_only() {
        let p = xff(&["10.0.0.0/8"]);
        // client, then two proxies; the peer is the last proxy
        assert_eq!(
            p.client(ip("10.0.0.2"), &["203.0.113.9, 10.0.0.1"]),
            ip("203.0.113.9")
        );
        // a client that prepends a forged entry: the first untrusted from the right wins
        assert_eq!(
            p.client(ip("10.0.0.2"), &["1.1.1.1, 203.0.113.9, 10.0.0.1"]),
            ip("203.0.113.9")
        );
        // a client that forges a trusted-looking entry to the left of its real address
        assert_eq!(
            p.client(ip("10.0.0.2"), &["10.9.9.9, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // several header lines are one list, in order
        assert_eq!(
            p.client(ip("10.0.0.2"), &["6.6.6.6", "203.0.113.9", "10.0.0.1"]),
            ip("203.0.113.9")
        );
        // ports, IPv6 and v4-mapped spellings
        assert_eq!(
            p.client(ip("10.0.0.2"), &["[2001:db8::7]:5000, 10.0.0.1:80"]),
            ip("2001:db8::7")
        );
        assert_eq!(
            p.client(ip("::ffff:10.0.0.2"), &["::ffff:203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_all_trusted_chain_ends_at_its_leftmost_address() {
        let p = xff(&["10.0.0.0/8"]);
        assert_eq!(
            p.client(ip("10.0.0.2"), &["10.0.0.3, 10.0.0.1"]),
            ip("10.0.0.3")
        );
        // no header at all: the proxy itself is calling
        assert_eq!(p.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(p.client(ip("10.0.0.2"), &[""]), ip("10.0.0.2"));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_last_known_address() {
        let p = xff(&["10.0.0.0/8"]);
        for chain in [
            "203.0.113.9, unknown",
            "203.0.113.9, garbage",
            "203.0.113.9, , 10.0.0.1",
            "203.0.113.9,10.0.0.1,",
        ] {
            let got = p.client(ip("10.0.0.2"), &[chain]);
            assert!(p.trusts(got), "{chain:?} gave {got}: the client chose it");
        }
        assert_eq!(
            p.client(ip("10.0.0.2"), &["203.0.113.9, unknown, 10.0.0.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_elements_parameters_and_quoting() {
        let p = fwd(&["10.0.0.0/8"]);
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &["for=203.0.113.9;proto=https, for=10.0.0.1"]
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &[r#"for="[2001:db8:cafe::17]:4711";by=10.0.0.1"#]
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), &[r#"For="192.0.2.60:47011";Proto=http"#]),
            ip("192.0.2.60")
        );
        // a quoted comma or semicolon does not split elements or pairs
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &[r#"for=6.6.6.6, proto=http;host="a,b;c";for=203.0.113.9"#]
            ),
            ip("203.0.113.9")
        );
        // escapes inside a quoted string
        assert_eq!(
            p.client(ip("10.0.0.2"), &[r#"for="\203.0.113.9""#]),
            ip("203.0.113.9")
        );
        // lines in order, forged entries on the left ignored
        assert_eq!(
            p.client(ip("10.0.0.2"), &["for=6.6.6.6", "for=203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_without_a_readable_for_stops_the_walk() {
        let p = fwd(&["10.0.0.0/8"]);
        for line in [
            "for=203.0.113.9, for=unknown",
            "for=203.0.113.9, for=_hidden",
            r#"for=203.0.113.9, for="_gazonk""#,
            "for=203.0.113.9, proto=https",
            "for=203.0.113.9, for=10.0.0.1;for=10.0.0.3",
            r#"for=203.0.113.9, for="10.0.0.1"#,
            r#"for=203.0.113.9, for="10.0.0.1\"#,
            "for=203.0.113.9, for=",
            "for=203.0.113.9, for=[2001:db8::1",
        ] {
            let got = p.client(ip("10.0.0.2"), &[line]);
            assert!(p.trusts(got), "{line:?} gave {got}");
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // the header list passed in is the configured one; the other is never consulted,
        // so the walk for XFF does not understand Forwarded syntax and vice versa
        assert_eq!(
            xff(&["10.0.0.0/8"]).client(ip("10.0.0.2"), &["for=203.0.113.9"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            fwd(&["10.0.0.0/8"]).client(ip("10.0.0.2"), &["203.0.113.9"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            ForwardedHeader::parse(" Forwarded "),
            Ok(ForwardedHeader::Forwarded)
        );
        assert_eq!(
            ForwardedHeader::parse("X-Forwarded-For"),
            Ok(ForwardedHeader::XForwardedFor)
        );
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }
}
