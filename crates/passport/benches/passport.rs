//! Criterion benchmarks (filled in with the signer).
fn main() {}
