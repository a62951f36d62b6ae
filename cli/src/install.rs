//! `fedbridge install`: the setup wizard (`installer/`), interactive or from an answers file.
//!
//! Exit status: 0 installed (or, with `--dry-run`, shown), 1 refused (invalid answers,
//! declined, interrupted: nothing written), 2 usage error or a database that cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::DbArg;

/// Options of `install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Answer from this TOML file instead of asking (see installer/answers.example.toml).
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Show what would be written (secrets masked) and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where to write the SP metadata file (default: beside the SQLite database).
    #[arg(long, value_name = "PATH")]
    sp_metadata: Option<PathBuf>,
    #[command(flatten)]
    db: DbArg,
}

impl InstallArgs {
    /// The command's `--database`.
    pub fn database(&self) -> &DbArg {
        &self.db
    }
}

/// Runs the installer against `database` (the default answer to the database question).
pub fn run(database: &str, args: &InstallArgs) -> ExitCode {
    fedbridge_installer::run(&fedbridge_installer::Options {
        database: database.to_owned(),
        answers: args.answers.clone(),
        dry_run: args.dry_run,
        sp_metadata: args.sp_metadata.clone(),
    })
}
