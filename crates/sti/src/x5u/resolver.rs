//! A DNS resolver that refuses forbidden addresses, so the check applies to the address the
//! connection actually goes to. Checking the name first and connecting later would let a DNS
//! answer change in between (TOCTOU, DNS rebinding).

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::forbidden_range;
use super::config::DangerousX5uConfig;
use super::error::FetchError;

/// Resolves with the system resolver, then fails if any answer is forbidden.
///
/// One forbidden answer fails the whole name rather than being filtered out: a public name
/// that also resolves into a private network is either misconfigured or an attack.
#[derive(Debug)]
pub(crate) struct FilteringResolver {
    pub(crate) danger: Arc<DangerousX5uConfig>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.danger.allows_host(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allowed
                && let Some((addr, range)) = addrs
                    .iter()
                    .find_map(|a| forbidden_range(a.ip()).map(|range| (a.ip(), range)))
            {
                // `into` boxes the error itself, so the fetcher can downcast it back.
                return Err(FetchError::ForbiddenAddress { addr, range }.into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
