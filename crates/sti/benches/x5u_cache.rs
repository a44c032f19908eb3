//! Criterion benchmarks of the x5u cache (filled in below).
fn main() {}
