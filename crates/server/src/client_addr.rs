//! The client's address, for counting failed logins per address: the TCP peer, or — when the
//! peer is a proxy the operator trusts (`TILLS_TRUSTED_PROXIES`) — the address that proxy saw,
//! from `X-Forwarded-For`.
//!
//! Behind nginx every connection comes from nginx: counting by the peer would make twenty failed
//! logins anywhere lock every store out of logging in. Trusting `X-Forwarded-For` from anyone
//! would let a client name a fresh address with every attempt. So the header is read only when
//! the peer is trusted, and from its end: each trusted proxy appends the address it saw, and the
//! first address from the right that is not a trusted proxy is the client. Entries left of it
//! were written by the client itself and prove nothing.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The proxies whose `X-Forwarded-For` is believed. None by default: then the peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses or networks, comma-separated: `127.0.0.1, 10.0.0.0/8, ::1`.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{p:?} is not an address or a network like 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
        for hop in hops.rev() {
            // Not an address: nothing further left can be believed; the last proxy stands in.
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The request's client address (see the module docs).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(state.proxies.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &headers(&["203.0.113.5"])), ip("127.0.0.1"));
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(proxies.client(ip("198.51.100.7"), &headers(&["203.0.113.5"])), ip("198.51.100.7"));
    }

    #[test]
    fn the_first_untrusted_address_from_the_right_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // The client wrote "1.2.3.4" itself; nginx appended what it saw, an inner proxy too.
        let h = headers(&["1.2.3.4, 203.0.113.5", "10.1.2.3"]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &h), ip("203.0.113.5"));
        assert_eq!(proxies.client(ip("::ffff:127.0.0.1"), &h), ip("203.0.113.5"), "IPv4-mapped peers");
        // Only proxies in the header: the farthest one is all that is known.
        assert_eq!(proxies.client(ip("127.0.0.1"), &headers(&["10.0.0.9"])), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(proxies.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        // Garbage stops the walk at the last proxy.
        assert_eq!(proxies.client(ip("127.0.0.1"), &headers(&["203.0.113.5, junk, 10.0.0.2"])), ip("10.0.0.2"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &headers(&["2001:db8::1"])), ip("2001:db8::1"));
    }

    #[test]
    fn parsing() {
        assert_eq!(TrustedProxies::parse(" ").unwrap(), TrustedProxies::default());
        assert!(TrustedProxies::parse("127.0.0.1,::1,10.0.0.0/8, fd00::/8").is_ok());
        let err = TrustedProxies::parse("127.0.0.1, nginx").unwrap_err();
        assert!(err.contains("\"nginx\""), "{err}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
