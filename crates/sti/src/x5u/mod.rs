//! The x5u certificate fetcher and its cache (`reference/standards.md` §3.6).

mod address;
mod body;
mod cache;
mod config;
mod error;
mod fetcher;
mod resolver;
mod ttl;

pub use address::{ForbiddenRange, forbidden_range};
pub use body::{X5U_MAX_BODY_BYTES, X5U_MAX_CERTIFICATES, parse_x5u_body};
pub use cache::{Expiring, X5uCache, X5uCacheStats};
pub use config::{DangerousX5uConfig, X5uConfig};
pub use error::{FetchError, X5uBuildError, X5uError};
pub use fetcher::{X5uFetcher, X5uResponse};
pub use ttl::X5U_MIN_TTL;
