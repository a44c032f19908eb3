//! The `stirling` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: on the call path (a tokio task, a parsed message and a
/// log record per call) glibc kept trimming and regrowing its heap, and after load it held on
/// to memory it no longer used (`bench/README.md` has both measurements).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    stirling::cli::run()
}
