//! Who the client is at the network level: the TCP peer, or, when the peer is one of our own
//! load balancers, the address it says it forwarded for.

use actix_web::HttpRequest;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

/// Requests in flight per client address: past the maximum a request is refused before its
/// body is read, so one address trickling bodies cannot hold the server's connections.
pub struct InFlight {
    max: u64,
    by: Arc<Mutex<HashMap<IpAddr, u64>>>,
}

/// One request in flight; dropping it frees the address's slot.
pub struct InFlightGuard {
    ip: IpAddr,
    by: Arc<Mutex<HashMap<IpAddr, u64>>>,
}

impl InFlight {
    pub fn new(max: u64) -> Self {
        Self {
            max,
            by: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for one more request from `ip`, if it has one left.
    pub fn enter(&self, ip: IpAddr) -> Option<InFlightGuard> {
        let mut by = self.by.lock().ok()?;
        let n = by.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(InFlightGuard {
            ip,
            by: self.by.clone(),
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut by) = self.by.lock() {
            if let Some(n) = by.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    by.remove(&self.ip);
                }
            }
        }
    }
}

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
    fn in_flight_requests_are_capped_per_address() {
        let f = InFlight::new(2);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        let one = f.enter(a).expect("one");
        let _two = f.enter(a).expect("two");
        assert!(f.enter(a).is_none(), "a third from the same address");
        assert!(f.enter(b).is_some(), "another address is not affected");
        drop(one);
        assert!(f.enter(a).is_some(), "a finished request frees its slot");
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
