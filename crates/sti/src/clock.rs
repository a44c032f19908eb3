//! The clock seam: the cache reads time only through [`Clock`], so tests can move it.

use std::fmt::Debug;

use passport::UnixTime;

/// A source of the current time.
///
/// Production uses [`SystemClock`]; tests supply a clock they can move forward, so that
/// expiry is tested without sleeping.
pub trait Clock: Debug + Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}
