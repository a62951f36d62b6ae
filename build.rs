//! Rebuilds when a migration changes: `embed_migrations!` reads `migrations/` at compile time
//! but does not tell cargo to watch the folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
