//! The last target of `cargo test`: how many cases were skipped in this run, and why (read
//! from what `tests/skips.rs` recorded), so that a plain `cargo test` says it at the end. Not a
//! libtest harness: it only reports.

#[path = "skips.rs"]
mod skips;

use std::collections::BTreeMap;

fn main() {
    let path = skips::file();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut why: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in text.lines() {
        if let Some((test, reason)) = line.split_once('\t') {
            why.entry(reason).or_default().push(test);
        }
    }
    let total: usize = why.values().map(Vec::len).sum();
    if total == 0 {
        println!("skipped: 0 test cases were skipped in this run");
        return;
    }
    println!(
        "skipped: {total} test case{} did not run in this run (each passed only by saying \
         SKIPPED), because:",
        if total == 1 { "" } else { "s" }
    );
    for (reason, tests) in &why {
        println!("  {:>4} x {reason}", tests.len());
        for test in tests.iter().take(3) {
            println!("         e.g. {test}");
        }
    }
    println!(
        "To run them: bash .ci/run installs what they need (xmlsec1, PostgreSQL, PyJWT, \
         prometheus_client) and bash .ci/interop the IdPs and Chromium."
    );
}
