//! Who the client is at the network level: the TCP peer, or, when the peer is one of our own
//! load balancers, the address it says it forwarded for.

use actix_web::HttpRequest;
use std::net::{IpAddr, Ipv4Addr};

/// The client's address. `X-Forwarded-For` is read right to left (the right end was written by
/// the proxy nearest us) and only while the hops are trusted proxies, so a client cannot pick
/// its own address by sending the header itself.
pub fn address(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|h| h.trim().parse::<IpAddr>().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let lb = [ip("10.0.0.1")];
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "6.6.6.6, 192.0.2.7"))
            .to_http_request();
        // The client made up 6.6.6.6; the proxy appended the real 192.0.2.7.
        assert_eq!(address(&req, &lb), ip("192.0.2.7"));

        let direct = TestRequest::default()
            .peer_addr("192.0.2.9:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "6.6.6.6"))
            .to_http_request();
        assert_eq!(address(&direct, &lb), ip("192.0.2.9"));

        let only_proxies = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().expect("addr"))
            .insert_header(("x-forwarded-for", "10.0.0.1"))
            .to_http_request();
        assert_eq!(address(&only_proxies, &lb), ip("10.0.0.1"));
    }
}
