//! The `fedbridge` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    fedbridge::cli::run(std::env::args_os())
}
