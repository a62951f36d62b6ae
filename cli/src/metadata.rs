//! `fedbridge metadata`: prints the SP metadata of the configured instance, the document to
//! import into the IdP.
//!
//! Exit status: 0 printed, 1 the configuration is invalid (every problem on stderr), 2 the
//! database cannot be opened or read.

use crate::out::errln;
use std::process::ExitCode;

use fedbridge::config;
use fedbridge::store::Store;

/// Runs `fedbridge metadata` against the database `database`.
pub fn run(database: &str) -> ExitCode {
    let rows = match Store::open(database).and_then(|store| store.config_rows()) {
        Ok(rows) => rows,
        Err(e) => {
            errln!("fedbridge metadata: {e}");
            return ExitCode::from(2);
        }
    };
    match config::load(&rows) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                errln!("warning: {warning}");
            }
            crate::out::out(&loaded.config.sp_metadata());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            errln!(
                "fedbridge metadata: the configuration is invalid ({} problem{}); fix it with fedbridge config set:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in &problems {
                errln!("{problem}");
            }
            ExitCode::from(1)
        }
    }
}
