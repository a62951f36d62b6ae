//! Skipped test cases, counted across the test binaries of one `cargo test`: each skip appends
//! `test<TAB>why` to `target/test-skips/<cargo's pid>.tsv`, and `tests/summary.rs` (a target of
//! the installer package, whose name sorts last: the last target a workspace `cargo test` runs)
//! prints how many cases were skipped and why, so a plain `cargo test` never
//! reads as "all passed" when some cases only said SKIPPED.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;

/// The file of this `cargo test` run (the test binaries are children of the same cargo).
pub fn file() -> PathBuf {
    // The library's unit tests are built from the repository root, the integration tests from
    // cli/ and the summary from installer/ (one level down).
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = match manifest.file_name() {
        Some(name) if name == "cli" || name == "installer" => manifest.parent().unwrap_or(manifest),
        _ => manifest,
    };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target
        .join("test-skips")
        .join(format!("{}.tsv", std::os::unix::process::parent_id()))
}

/// Records that `test` was skipped because `why` (one line, the same for every case with the
/// same cause, so the summary can count them).
pub fn record(test: &str, why: &str) {
    let path = file();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let line = format!(
            "{}\t{}\n",
            test.replace(['\t', '\n'], " "),
            why.replace(['\t', '\n'], " ")
        );
        let _ = file.write_all(line.as_bytes());
    }
}
