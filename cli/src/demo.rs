//! `fedbridge demo`: fedbridge, a development IdP and a downstream app on loopback (see
//! [`fedbridge::demo`]). It takes no `--database`: the demo always starts on a fresh SQLite file
//! in a temporary directory, removed when it stops.
//!
//! Exit status: 0 stopped with Ctrl-C, 1 the demo failed, 2 a listen address that is not a
//! loopback IP or cannot be bound.

use std::process::ExitCode;

use clap::Args;

use fedbridge::demo::{DEFAULT_APP_LISTEN, DEFAULT_IDP_LISTEN, DEFAULT_LISTEN, DemoOptions};

use crate::{LogArgs, LogFormat};

/// Options of `demo`: where the three servers listen (loopback IPs only; port 0 picks a free
/// port).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where fedbridge listens.
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDRESS:PORT")]
    listen: String,
    /// Where the development IdP listens.
    #[arg(long, default_value = DEFAULT_IDP_LISTEN, value_name = "ADDRESS:PORT")]
    idp_listen: String,
    /// Where the example downstream app listens.
    #[arg(long, default_value = DEFAULT_APP_LISTEN, value_name = "ADDRESS:PORT")]
    app_listen: String,
    #[command(flatten)]
    log: LogArgs,
}

impl DemoArgs {
    /// The log format asked for.
    pub fn log_format(&self) -> LogFormat {
        self.log.log_format
    }
}

/// Runs the demo until Ctrl-C.
pub fn run(args: &DemoArgs) -> ExitCode {
    fedbridge::demo::run(&DemoOptions {
        listen: args.listen.clone(),
        idp_listen: args.idp_listen.clone(),
        app_listen: args.app_listen.clone(),
    })
}
