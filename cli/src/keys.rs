//! `fedbridge keys list|rotate`: the xsession signing keys. `rotate` retires the active key of
//! the configured algorithm and makes a new one; the retired key stays in the JWKS until the
//! last token it signed has expired, so nobody is logged out. Running servers sign with the new
//! key within a minute.
//!
//! Exit status: 0 done, 1 the configuration is invalid (the algorithm and the lifetime come
//! from it), 2 usage error or a database that cannot be opened or used.

use std::process::ExitCode;

use clap::Subcommand;

use fedbridge::clock::{Clock, SystemClock};
use fedbridge::config;
use fedbridge::store::Store;

use crate::out::{errln, outln};
use crate::{DbArg, time};

/// The `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every xsession signing key: kid, algorithm, made, retired, in the JWKS until.
    List(DbArg),
    /// Retire the active xsession signing key and make a new one (the old one stays in the
    /// JWKS until its last token expires).
    Rotate(DbArg),
}

impl KeysCommand {
    /// The command's `--database`.
    pub fn database(&self) -> &DbArg {
        match self {
            KeysCommand::List(db) | KeysCommand::Rotate(db) => db,
        }
    }
}

/// Runs a `keys` command against the database `database`.
pub fn run(database: &str, command: &KeysCommand) -> ExitCode {
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge keys: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = match store.config_rows() {
        Ok(rows) => config::load(&rows),
        Err(e) => {
            errln!("fedbridge keys: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match loaded {
        Ok(loaded) => loaded.config,
        Err(problems) => {
            errln!(
                "fedbridge keys: the configuration is invalid (the key's algorithm and the token \
                 lifetime come from it); fix it first (fedbridge config check):"
            );
            for problem in &problems {
                errln!("{problem}");
            }
            return ExitCode::from(1);
        }
    };
    let now = SystemClock.now();
    let lifetime = config.xsession.lifetime;
    match command {
        KeysCommand::List(_) => match store.signing_keys() {
            Ok(keys) if keys.is_empty() => {
                outln!("(no signing key yet: the first login or JWKS request makes one)");
                ExitCode::SUCCESS
            }
            Ok(keys) => {
                outln!(
                    "{:<44} {:<6} {:<20} {:<20} IN JWKS UNTIL",
                    "KID",
                    "ALG",
                    "MADE",
                    "RETIRED"
                );
                for key in keys {
                    let until = match key.retired_at {
                        None => "(active)".to_owned(),
                        Some(retired) => time(retired + lifetime.whole_seconds()),
                    };
                    outln!(
                        "{:<44} {:<6} {:<20} {:<20} {until}",
                        key.kid,
                        key.algorithm,
                        time(key.created_at),
                        key.retired_at.map_or_else(|| "-".to_owned(), time),
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                errln!("fedbridge keys: {e}");
                ExitCode::from(2)
            }
        },
        KeysCommand::Rotate(_) => {
            let algorithm = config.xsession.algorithm;
            match store.rotate_signing_key(algorithm, now) {
                Ok(key) => {
                    outln!(
                        "new xsession signing key {} ({}); the retired one stays in the JWKS \
                         until {} (its last token's expiry); running servers sign with the new \
                         key within a minute",
                        key.kid(),
                        algorithm.as_str(),
                        time((now + lifetime).unix_timestamp()),
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    errln!("fedbridge keys: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
