//! Client addresses: networks written in the configuration (trusted networks, reverse
//! proxies) and the real client behind a chain of proxies.
//!
//! `X-Forwarded-For` is only believed from a proxy the operator listed, and only as far back
//! as the chain stays inside those proxies: everything left of the first untrusted hop was
//! written by the client and could say anything.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An IPv4 or IPv6 network, such as `10.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address, host bits zero. IPv4-mapped IPv6 networks are stored as IPv4.
    addr: IpAddr,
    prefix: u8,
}

/// Entries of `X-Forwarded-For` read from the right at most; a chain of proxies is short,
/// and a header of ten thousand entries must not cost ten thousand parses.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// Longest address text parsed (a bracketed IPv6 address with a port and a zone fits).
const MAX_ADDR_CHARS: usize = 64;

fn mask_v4(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let bits = u32::from(addr);
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(bits & mask)
}

fn mask_v6(addr: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

impl Cidr {
    /// Builds a network, refusing a prefix too long for the family or host bits set.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, String> {
        let (family, max) = if addr.is_ipv4() {
            ("IPv4", 32)
        } else {
            ("IPv6", 128)
        };
        if prefix > max {
            return Err(format!(
                "prefix /{prefix} is longer than an {family} address ({max} bits)"
            ));
        }
        let network = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask_v4(a, prefix)),
            IpAddr::V6(a) => IpAddr::V6(mask_v6(a, prefix)),
        };
        if network != addr {
            return Err(format!(
                "{addr}/{prefix} has host bits set; did you mean {network}/{prefix}?"
            ));
        }
        // `::ffff:10.0.0.0/104` is the IPv4 network 10.0.0.0/8 as a dual-stack socket sees it.
        if let IpAddr::V6(v6) = addr
            && let Some(v4) = v6.to_ipv4_mapped()
            && prefix >= 96
        {
            return Ok(Cidr {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside this network. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`,
    /// what a dual-stack socket reports for an IPv4 peer) is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == net,
            _ => false,
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `fd00::/8`, or a bare address as a single-host network (`/32`, `/128`).
    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let shown: String = text.chars().take(MAX_ADDR_CHARS).collect();
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{shown}` is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .map_err(|_| format!("`{shown}`: prefix /{p} is not 0 to {max}"))?,
            Some(_) => return Err(format!("`{shown}`: the prefix is not a number of bits")),
        };
        Cidr::new(addr, prefix)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) as some proxies write it.
fn forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if entry.len() > MAX_ADDR_CHARS {
        return None;
    }
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The address of the client: the peer itself unless the peer is one of `proxies`, in which
/// case the rightmost `X-Forwarded-For` entry that is not a proxy. An unreadable entry ends
/// the walk at the last proxy seen, since nothing left of it can be trusted either.
/// IPv4-mapped IPv6 addresses come back as IPv4.
pub fn client_addr(peer: IpAddr, forwarded_for: Option<&str>, proxies: &[Cidr]) -> IpAddr {
    let trusted = |ip: IpAddr| proxies.iter().any(|net| net.contains(ip));
    let mut hop = peer.to_canonical();
    if !trusted(hop) {
        return hop;
    }
    let Some(header) = forwarded_for else {
        return hop;
    };
    for entry in header.rsplit(',').take(MAX_FORWARDED_HOPS) {
        let Some(ip) = forwarded_entry(entry) else {
            return hop;
        };
        if !trusted(ip) {
            return ip;
        }
        hop = ip;
    }
    hop
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_networks_and_single_hosts() {
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("192.168.1.5").to_string(), "192.168.1.5/32");
        assert_eq!(cidr("::1").to_string(), "::1/128");
        assert_eq!(cidr("fd00::/8").to_string(), "fd00::/8");
        assert_eq!(cidr("  172.16.0.0/12\n").to_string(), "172.16.0.0/12");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("::/0").to_string(), "::/0");
        assert_eq!(cidr("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("10.1.2.3/32").prefix(), 32);
        assert_eq!(cidr("10.0.0.0/8").addr(), ip("10.0.0.0"));
    }

    #[test]
    fn refuses_bad_networks() {
        for bad in [
            "",
            "/",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0.0/ 8",
            "10.0.0/8",
            "host.example/8",
            "10.0.0.0/0008",
            "10.0.0.0/256",
            "fe80::1%eth0",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let err = "10.0.0.0/33".parse::<Cidr>().unwrap_err();
        assert!(err.contains("32"), "{err}");
    }

    #[test]
    fn host_bits_say_which_network_was_meant() {
        let err = "10.0.0.1/8".parse::<Cidr>().unwrap_err();
        assert!(err.contains("did you mean 10.0.0.0/8"), "{err}");
        let err = "fd00::1/8".parse::<Cidr>().unwrap_err();
        assert!(err.contains("did you mean fd00::/8"), "{err}");
    }

    #[test]
    fn contains_compares_mapped_addresses_as_ipv4() {
        let net = cidr("10.0.0.0/8");
        assert!(net.contains(ip("10.1.2.3")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::a01:203")));
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(cidr("fd00::/8").contains(ip("fd12:3456::1")));
        assert!(!cidr("fd00::/8").contains(ip("fe80::1")));
        assert!(cidr("::1").contains(ip("::1")));
        assert!(!cidr("::1").contains(ip("127.0.0.1")));
        assert!(cidr("192.168.1.5").contains(ip("192.168.1.5")));
        assert!(!cidr("192.168.1.5").contains(ip("192.168.1.6")));
    }

    fn proxies() -> Vec<Cidr> {
        vec![cidr("10.0.0.0/8"), cidr("::1")]
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_the_header_says() {
        let peer = ip("203.0.113.7");
        assert_eq!(client_addr(peer, Some("1.1.1.1"), &proxies()), peer);
        assert_eq!(client_addr(peer, None, &proxies()), peer);
        assert_eq!(client_addr(peer, Some("1.1.1.1"), &[]), peer);
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let p = proxies();
        let peer = ip("10.0.0.1");
        assert_eq!(client_addr(peer, None, &p), peer);
        assert_eq!(
            client_addr(peer, Some("198.51.100.4"), &p),
            ip("198.51.100.4")
        );
        // The client forged the leftmost entry; the proxies appended the rest.
        assert_eq!(
            client_addr(peer, Some("6.6.6.6, 198.51.100.4, 10.2.2.2, 10.3.3.3"), &p),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_addr(ip("::1"), Some("2001:db8::9"), &p),
            ip("2001:db8::9")
        );
        assert_eq!(
            client_addr(ip("::ffff:10.0.0.1"), Some("198.51.100.4"), &p),
            ip("198.51.100.4")
        );
        // Ports as some proxies write them.
        assert_eq!(
            client_addr(peer, Some("198.51.100.4:5000"), &p),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_addr(peer, Some("[2001:db8::9]:443"), &p),
            ip("2001:db8::9")
        );
    }

    #[test]
    fn an_all_trusted_chain_gives_the_last_trusted_hop() {
        let p = proxies();
        assert_eq!(
            client_addr(ip("10.0.0.1"), Some("10.9.9.9, 10.3.3.3"), &p),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn an_unreadable_entry_stops_at_the_last_trusted_hop() {
        let p = proxies();
        let peer = ip("10.0.0.1");
        assert_eq!(
            client_addr(peer, Some("198.51.100.4, garbage, 10.3.3.3"), &p),
            ip("10.3.3.3")
        );
        assert_eq!(client_addr(peer, Some("unknown"), &p), peer);
        assert_eq!(client_addr(peer, Some(""), &p), peer);
        assert_eq!(client_addr(peer, Some("198.51.100.4,,"), &p), peer);
    }

    #[test]
    fn the_walk_is_bounded() {
        let p = proxies();
        let mut header = String::from("198.51.100.4");
        for i in 0..10_000 {
            header.push_str(&format!(", 10.0.{}.{}", i / 250, i % 250));
        }
        // Only the last 32 hops are read; all trusted, so the 32nd from the right comes back.
        assert_eq!(
            client_addr(ip("10.0.0.1"), Some(&header), &p),
            ip(&format!(
                "10.0.{}.{}",
                (10_000 - 32) / 250,
                (10_000 - 32) % 250
            ))
        );
    }

    proptest! {
        #[test]
        fn from_str_never_panics(s in ".{0,60}") {
            let _ = s.parse::<Cidr>();
        }

        #[test]
        fn from_str_never_panics_near_the_shape(s in "[0-9a-f:.]{0,40}/[0-9+-]{0,5}") {
            if let Ok(c) = s.parse::<Cidr>() {
                // A parsed network reads back the same.
                prop_assert_eq!(c.to_string().parse::<Cidr>(), Ok(c));
                prop_assert!(c.contains(c.addr()));
            }
        }

        #[test]
        fn client_addr_never_panics(
            header in proptest::option::of("[0-9a-f:.,\\[\\] ]{0,120}|.{0,80}"),
            peer in any::<IpAddr>(),
        ) {
            let p = proxies();
            let client = client_addr(peer, header.as_deref(), &p);
            // Without a header, or from an untrusted peer, the answer is the peer.
            if header.is_none() || !p.iter().any(|n| n.contains(peer)) {
                prop_assert_eq!(client, peer.to_canonical());
            }
        }

        #[test]
        fn contains_agrees_with_masking(a in any::<u32>(), b in any::<u32>(), prefix in 0u8..=32) {
            let net = Cidr::new(IpAddr::V4(mask_v4(Ipv4Addr::from(a), prefix)), prefix).unwrap();
            let same = prefix == 0 || (a ^ b) >> (32 - u32::from(prefix)) == 0;
            prop_assert_eq!(net.contains(IpAddr::V4(Ipv4Addr::from(b))), same);
        }
    }
}
