//! `fedbridge users list|show`: the local users that the login sync creates and updates, their
//! groups (federated: put there by the login sync; local: put there by an administrator) and
//! their recent logins (from `login_audit`, by login name).
//!
//! Exit status: 0 done, 1 unknown user, 2 usage error or a database that cannot be opened or
//! used.

use crate::out::errln;
use std::borrow::Cow;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use fedbridge::store::{Store, UserDetail, UserSummary};
use fedbridge::text::escape;

/// How many login audit rows `users show` prints.
const RECENT_LOGINS: i64 = 10;

/// The `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Every user: login name, full name, e-mail, disabled, number of groups, last login.
    List,
    /// Everything stored about one user, its groups and its 10 most recent logins.
    Show(ShowArgs),
}

/// Options of `users show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The login name (exact).
    #[arg(value_name = "LOGIN", allow_hyphen_values = true)]
    login: String,
}

/// Runs a `users` command against the database `database`.
pub fn run(database: &str, command: &UsersCommand) -> ExitCode {
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge users: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        UsersCommand::List => store.list_users().map(|users| {
            crate::out::out(&list(&users));
            ExitCode::SUCCESS
        }),
        UsersCommand::Show(args) => {
            store
                .show_user(&args.login, RECENT_LOGINS)
                .map(|detail| match detail {
                    Some(detail) => {
                        crate::out::out(&show(&detail));
                        ExitCode::SUCCESS
                    }
                    None => {
                        errln!("fedbridge users: no user \"{}\"", escape(&args.login));
                        ExitCode::from(1)
                    }
                })
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("fedbridge users: {e}");
            ExitCode::from(2)
        }
    }
}

/// An epoch-seconds time as RFC 3339 (UTC).
fn time(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// A stored value as shown: escaped (see `out`), `-` when absent.
fn opt(value: Option<&str>) -> Cow<'_, str> {
    value.map_or(Cow::Borrowed("-"), escape)
}

fn list(users: &[UserSummary]) -> String {
    if users.is_empty() {
        return "(no users)\n".to_owned();
    }
    let mut out = format!(
        "{:<24} {:<24} {:<28} {:<8} {:>6}  {}\n",
        "LOGIN", "FULL NAME", "E-MAIL", "DISABLED", "GROUPS", "LAST LOGIN"
    );
    for user in users {
        out.push_str(&format!(
            "{:<24} {:<24} {:<28} {:<8} {:>6}  {}\n",
            escape(&user.login_name),
            opt(user.full_name.as_deref()),
            opt(user.email.as_deref()),
            if user.disabled { "yes" } else { "no" },
            user.groups,
            user.last_login.map_or_else(|| "never".to_owned(), time),
        ));
    }
    out
}

fn show(detail: &UserDetail) -> String {
    let user = &detail.user;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let groups = |names: &[String]| {
        if names.is_empty() {
            "(none)".to_owned()
        } else {
            names
                .iter()
                .map(|n| escape(n))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut out = String::new();
    let mut line = |key: &str, value: &str| out.push_str(&format!("{key:<20} {value}\n"));
    line("login name:", &escape(&user.login_name));
    line("external ID:", &opt(user.external_id.as_deref()));
    line("full name:", &opt(user.full_name.as_deref()));
    line("e-mail:", &opt(user.email.as_deref()));
    line("description:", &opt(user.description.as_deref()));
    line("inherit licences:", yes_no(user.inherit_licences));
    line("inherit permissions:", yes_no(user.inherit_permissions));
    line("disabled:", yes_no(user.disabled));
    line("created:", &time(user.created_at));
    line("updated:", &time(user.updated_at));
    line("federated groups:", &groups(&detail.federated_groups));
    line("local groups:", &groups(&detail.local_groups));
    out.push_str("recent logins:\n");
    if detail.recent_logins.is_empty() {
        out.push_str("  (none)\n");
    }
    for entry in &detail.recent_logins {
        let mut text = format!("  {} {}", time(entry.at), entry.outcome);
        if let Some(reason) = &entry.reason_code {
            text.push_str(&format!(" reason={}", escape(reason)));
        }
        if let Some(idp) = &entry.idp {
            text.push_str(&format!(" idp={}", escape(idp)));
        }
        if let Some(id) = &entry.correlation_id {
            text.push_str(&format!(" correlation={}", escape(id)));
        }
        text.push('\n');
        out.push_str(&text);
    }
    out
}
