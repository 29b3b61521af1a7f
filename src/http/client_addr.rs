//! The address a request came from, for the failure limits and the audit
//! trail.
//!
//! By default that is the TCP peer. Behind a load balancer or reverse proxy
//! every request would then come from the proxy, so one guesser could put
//! everyone's sign-ins at 429. `KEYMINT_TRUSTED_PROXIES` names the proxies
//! (addresses or CIDR blocks); when the peer is one of them, the address is
//! read from `X-Forwarded-For`, right to left, skipping trusted hops. A
//! client cannot forge its way past this: entries it wrote itself sit left
//! of the ones the trusted proxies appended, and are never reached while
//! an untrusted hop stands in between.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::HeaderMap;

/// One trusted address or CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    network: IpAddr,
    prefix: u8,
}

impl Block {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` agree.
fn prefix_matches(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let mut bits = u32::from(prefix);
    for (x, y) in a.iter().zip(b) {
        if bits == 0 {
            return true;
        }
        let take = bits.min(8);
        let mask = u8::MAX << (8 - take);
        if (x ^ y) & mask != 0 {
            return false;
        }
        bits -= take;
    }
    true
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` keymint believes; empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Block>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// Parses a comma-separated list of addresses and CIDR blocks, such as
    /// `10.0.0.0/8, 192.0.2.7, fd00::/8`; an empty string trusts no proxy.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut blocks = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (address, prefix) = item.split_once('/').unwrap_or((item, ""));
            let network = IpAddr::from_str(address)
                .map_err(|_| format!("`{item}` is not an IP address or CIDR block"))?;
            let max = if network.is_ipv4() { 32 } else { 128 };
            let prefix = if prefix.is_empty() {
                max
            } else {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|bits| *bits <= max)
                    .ok_or_else(|| format!("`{item}` has a prefix length over {max}"))?
            };
            blocks.push(Block {
                network: canonical(network),
                prefix,
            });
        }
        Ok(Self(blocks))
    }
}

impl TrustedProxies {
    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }

    /// The client's address: the peer, or when the peer is a trusted proxy,
    /// the nearest untrusted hop of `X-Forwarded-For`. An entry that is not
    /// an address ends the walk at the last hop known to be real.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut nearest = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop.trim()) else {
                return nearest;
            };
            nearest = canonical(ip);
            if !self.contains(nearest) {
                return nearest;
            }
        }
        nearest
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:1234`, `[2001:db8::1]:1234`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn blocks_match_by_prefix() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.0.2.7, fd00::/8".parse().unwrap();

        assert!(trusted.contains(ip("10.200.3.4")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(trusted.contains(ip("::ffff:10.1.1.1")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        assert!(!trusted.contains(ip("fe80::1")));
    }

    #[test]
    fn bad_lists_are_refused() {
        for text in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(text.parse::<TrustedProxies>().is_err(), "{text}");
        }
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let trusted = TrustedProxies::default();

        let client = trusted.client_ip(ip("127.0.0.1"), &forwarded(&["203.0.113.9"]));

        assert_eq!(client, ip("127.0.0.1"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();

        let client = trusted.client_ip(ip("198.51.100.1"), &forwarded(&["10.0.0.1"]));

        assert_eq!(client, ip("198.51.100.1"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let headers = forwarded(&["1.2.3.4, 203.0.113.9", "10.0.0.5"]);

        let client = trusted.client_ip(ip("10.0.0.2"), &headers);

        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn ports_and_brackets_are_understood_and_garbage_stops_the_walk() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();

        let with_port = forwarded(&["[2001:db8::1]:4711, 203.0.113.9:80"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &with_port),
            ip("203.0.113.9")
        );
        let garbage = forwarded(&["203.0.113.9, unknown, 10.0.0.7"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.2"), &garbage), ip("10.0.0.7"));
        let only_proxies = forwarded(&["10.0.0.9"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &only_proxies),
            ip("10.0.0.9")
        );
    }
}
