//! Which IP addresses the x5u fetcher refuses to connect to.
//!
//! An x5u URL is chosen by whoever signed the PASSporT, so fetching it is a server-side
//! request on a stranger's behalf. Without this check a caller could make the verifier probe
//! its own network (SSRF). The ranges are the IANA special-purpose registries (RFC 6890 and
//! its updates) minus the globally reachable ones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The special-purpose range an address belongs to, for addresses the fetcher refuses.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ForbiddenRange {
    /// Broadcast, `255.255.255.255/32` (RFC 919).
    Broadcast,
    /// Carrier-grade NAT shared space, `100.64.0.0/10` (RFC 6598).
    Cgnat,
    /// Documentation: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` (RFC 5737),
    /// `2001:db8::/32` (RFC 3849), `3fff::/20` (RFC 9637).
    Documentation,
    /// Link-local: `169.254.0.0/16` (RFC 3927), `fe80::/10` (RFC 4291).
    LinkLocal,
    /// Loopback: `127.0.0.0/8`, `::1`.
    Loopback,
    /// Multicast: `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// Private networks: `10/8`, `172.16/12`, `192.168/16` (RFC 1918), unique local
    /// `fc00::/7` (RFC 4193), site-local `fec0::/10` (deprecated, RFC 3879), NAT64 local-use
    /// `64:ff9b:1::/48` (RFC 8215).
    Private,
    /// Reserved or protocol-specific space: `0.0.0.0/8` other than `0.0.0.0`, `192.0.0.0/24`
    /// (RFC 6890), benchmarking `198.18.0.0/15` (RFC 2544), `240.0.0.0/4`, IPv4-compatible
    /// IPv6 `::/96`, discard `100::/64` (RFC 6666), `2001::/23` (RFC 2928, includes Teredo).
    Reserved,
    /// The unspecified address: `0.0.0.0`, `::`.
    Unspecified,
}

/// Returns the forbidden range `ip` falls in, or `None` if the fetcher may connect to it.
///
/// IPv6 addresses that embed an IPv4 address (IPv4-mapped `::ffff:0:0/96`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the embedded address, so
/// `::ffff:10.0.0.1` is as private as `10.0.0.1`.
pub fn forbidden_range(ip: IpAddr) -> Option<ForbiddenRange> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<ForbiddenRange> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        _ if ip.is_unspecified() => ForbiddenRange::Unspecified,
        _ if ip.is_broadcast() => ForbiddenRange::Broadcast,
        (0, _, _) => ForbiddenRange::Reserved,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => ForbiddenRange::Private,
        (100, 64..=127, _) => ForbiddenRange::Cgnat,
        (127, _, _) => ForbiddenRange::Loopback,
        (169, 254, _) => ForbiddenRange::LinkLocal,
        (192, 0, 0) | (198, 18..=19, _) => ForbiddenRange::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => ForbiddenRange::Documentation,
        (224..=239, _, _) => ForbiddenRange::Multicast,
        (240..=255, _, _) => ForbiddenRange::Reserved,
        _ => return None,
    };
    Some(range)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<ForbiddenRange> {
    let s = ip.segments();
    if let Some(embedded) = embedded_v4(&s) {
        return forbidden_v4(embedded);
    }
    let range = match s {
        _ if ip.is_unspecified() => ForbiddenRange::Unspecified,
        _ if ip.is_loopback() => ForbiddenRange::Loopback,
        // IPv4-compatible addresses (deprecated, RFC 4291 §2.5.5.1) and the rest of ::/96.
        [0, 0, 0, 0, 0, 0, _, _] => ForbiddenRange::Reserved,
        [0x0100, 0, 0, 0, _, _, _, _] => ForbiddenRange::Reserved,
        [0x2001, 0x0000..=0x01ff, _, _, _, _, _, _] => ForbiddenRange::Reserved,
        [0x2001, 0x0db8, _, _, _, _, _, _] => ForbiddenRange::Documentation,
        [0x3fff, 0x0000..=0x0fff, _, _, _, _, _, _] => ForbiddenRange::Documentation,
        [0x0064, 0xff9b, 0x0001, _, _, _, _, _] => ForbiddenRange::Private,
        [0xfc00..=0xfdff, _, _, _, _, _, _, _] => ForbiddenRange::Private,
        [0xfe80..=0xfebf, _, _, _, _, _, _, _] => ForbiddenRange::LinkLocal,
        [0xfec0..=0xfeff, _, _, _, _, _, _, _] => ForbiddenRange::Private,
        [0xff00..=0xffff, _, _, _, _, _, _, _] => ForbiddenRange::Multicast,
        _ => return None,
    };
    Some(range)
}

/// The IPv4 address carried inside an IPv4-mapped, NAT64 well-known-prefix or 6to4 address.
fn embedded_v4(s: &[u16; 8]) -> Option<Ipv4Addr> {
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match *s {
        // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(from(hi, lo)),
        // 64:ff9b::a.b.c.d (RFC 6052)
        [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        // 2002:AABB:CCDD::/48 (RFC 3056)
        [0x2002, hi, lo, _, _, _, _, _] => Some(from(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ForbiddenRange::*;

    proptest::proptest! {
        #[test]
        fn mapped_v4_is_judged_as_v4(bits: u32) {
            let v4 = Ipv4Addr::from(bits);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            proptest::prop_assert_eq!(forbidden_range(mapped), forbidden_range(IpAddr::V4(v4)));
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<ForbiddenRange>)] = &[
            // IPv4
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Reserved)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.15.255.255", None),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(Private)),
            ("100.63.255.255", None),
            ("100.64.0.1", Some(Cgnat)),
            ("100.127.255.255", Some(Cgnat)),
            ("100.128.0.0", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.253.0.1", None),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.10", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.200", Some(Documentation)),
            ("198.18.0.1", Some(Reserved)),
            ("198.19.255.255", Some(Reserved)),
            ("198.20.0.0", None),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("192.1.0.1", None),
            // IPv6
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:169.254.1.1", Some(LinkLocal)),
            ("::ffff:100.64.0.1", Some(Cgnat)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:8.8.8.8", None),
            ("::10.0.0.1", Some(Reserved)),
            ("64:ff9b::10.1.2.3", Some(Private)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::1", Some(Private)),
            ("2002:0a00:0001::1", Some(Private)),
            ("2002:0808:0808::1", None),
            ("100::1", Some(Reserved)),
            ("2001::1", Some(Reserved)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("ff02::1", Some(Multicast)),
            ("2606:4700::1111", None),
            ("2a00:1450::1", None),
        ];
        for (text, expected) in cases {
            let ip: IpAddr = match text.parse() {
                Ok(ip) => ip,
                Err(e) => unreachable!("bad literal {text} in the table: {e}"),
            };
            assert_eq!(forbidden_range(ip), *expected, "{text}");
        }
    }
}
