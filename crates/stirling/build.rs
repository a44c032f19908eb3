//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds `migrations/` at
//! compile time, and without this a new migration file alone does not trigger a rebuild, so a
//! stale binary misses it (sqlx's documented fix).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
