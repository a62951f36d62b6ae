//! `fedbridge users list|show|set-external-id`: the local users that the login sync creates and
//! updates, their groups (federated: put there by the login sync; local: put there by an
//! administrator), their recent logins (from `login_audit`, by login name, with what the sync
//! held or reported) and their external ID (the Qualys "External ID": a login whose NameID or
//! login name equals it signs in to that user). A LOGIN is the exact login name, or the one
//! stored under another letter case.
//!
//! Exit status: 0 done, 1 unknown user or an external ID another user holds, 2 usage error or a
//! database that cannot be opened or used.

use crate::out::{errln, outln};
use std::borrow::Cow;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use fedbridge::store::{ExternalIdRefused, Store, UserDetail, UserSummary};
use fedbridge::text::escape;

use crate::{DbArg, time};

/// How many login audit rows `users show` prints.
const RECENT_LOGINS: i64 = 10;

/// The `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Every user: login name, full name, e-mail, disabled, number of groups, last login.
    List(DbArg),
    /// Everything stored about one user, its groups and its 10 most recent logins.
    Show(ShowArgs),
    /// Record the stable IdP identifier of a user (Qualys "External ID"): a login whose NameID
    /// (any format) or login name equals it signs in to this user, which keeps its login name.
    SetExternalId(SetExternalIdArgs),
}

/// Options of `users set-external-id`.
#[derive(Debug, Args)]
pub struct SetExternalIdArgs {
    /// The user's login name. A name that starts with "-" goes after "--".
    #[arg(value_name = "LOGIN")]
    login: String,
    /// The identifier (exact: compared as sent by the IdP); omit it with --clear. An
    /// identifier that starts with "-" goes after "--".
    #[arg(value_name = "ID", required_unless_present = "clear")]
    id: Option<String>,
    /// Remove the user's external ID.
    #[arg(long, conflicts_with = "id")]
    clear: bool,
    #[command(flatten)]
    db: DbArg,
}

/// Options of `users show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The login name (exact, or in another letter case). A name that starts with "-" goes
    /// after "--".
    #[arg(value_name = "LOGIN")]
    login: String,
    #[command(flatten)]
    db: DbArg,
}

impl UsersCommand {
    /// The command's `--database`.
    pub fn database(&self) -> &DbArg {
        match self {
            UsersCommand::List(db) => db,
            UsersCommand::Show(args) => &args.db,
            UsersCommand::SetExternalId(args) => &args.db,
        }
    }
}

/// Runs a `users` command against the database `database`.
pub fn run(database: &str, command: &UsersCommand) -> ExitCode {
    if let UsersCommand::SetExternalId(SetExternalIdArgs { id: Some(id), .. }) = command
        && let Some(why) = crate::groups::invalid_name(id)
    {
        errln!(
            "fedbridge users: invalid external ID \"{}\": {why}",
            escape(id)
        );
        return ExitCode::from(2);
    }
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge users: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        UsersCommand::List(_) => store.list_users().map(|users| {
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
        UsersCommand::SetExternalId(args) => store
            .set_external_id(&args.login, args.id.as_deref())
            .map(|outcome| match (outcome, &args.id) {
                (Ok(login), Some(id)) => {
                    outln!(
                        "external ID of \"{}\" set to \"{}\"",
                        escape(&login),
                        escape(id)
                    );
                    ExitCode::SUCCESS
                }
                (Ok(login), None) => {
                    outln!("external ID of \"{}\" removed", escape(&login));
                    ExitCode::SUCCESS
                }
                (Err(ExternalIdRefused::UnknownUser), _) => {
                    errln!("fedbridge users: no user \"{}\"", escape(&args.login));
                    ExitCode::from(1)
                }
                (Err(ExternalIdRefused::Taken(holder)), _) => {
                    errln!(
                        "fedbridge users: the external ID is the user \"{}\"'s already; \
                         nothing changed",
                        escape(&holder)
                    );
                    ExitCode::from(1)
                }
            }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("fedbridge users: {e}");
            ExitCode::from(2)
        }
    }
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
        if let Some(flags) = &entry.flags {
            text.push_str(&format!(" flags={flags}"));
        }
        text.push('\n');
        out.push_str(&text);
    }
    out
}
