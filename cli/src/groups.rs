//! `fedbridge groups list|add|remove`: the local groups that the IdP's group values are matched
//! against at login. Names are exact and case-sensitive (`Sales` and `sales` are two groups); a
//! group may also carry IdP identifiers (`--idp-id`: Azure AD object IDs, SIDs), which match
//! without regard to case.
//!
//! Exit status: 0 done, 1 refused (a group that exists already, or that does not exist, or an
//! IdP identifier another group carries: nothing written), 2 usage error (an invalid name or
//! identifier, `--idp-id` with several names) or a database that cannot be opened or used.

use crate::out::{errln, outln};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use fedbridge::clock::{Clock, SystemClock};
use fedbridge::store::{GroupChangeRefused, Store};
use fedbridge::text::escape;

use crate::DbArg;

/// The `groups` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Every local group with its number of members (federated and local).
    List(DbArg),
    /// Create groups (all or none, in one transaction), optionally with the IdP's identifiers.
    Add(AddArgs),
    /// Remove groups and their memberships (all or none, in one transaction).
    Remove(NamesArgs),
}

/// The groups of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Group names: exact and case-sensitive (a name that begins with `-` goes after `--`, so
    /// that `--idp-id` may follow the names).
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    /// An identifier the IdP sends for this group (Azure AD: the group's object ID), matched
    /// without regard to case; repeatable; only with one NAME.
    #[arg(long = "idp-id", value_name = "ID", allow_hyphen_values = true)]
    idp_ids: Vec<String>,
    #[command(flatten)]
    db: DbArg,
}

/// The group names of `add` and `remove`.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Group names: exact and case-sensitive. A name that starts with "-" goes after "--"
    /// (groups add -- -odd-name).
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    #[command(flatten)]
    db: DbArg,
}

impl GroupsCommand {
    /// The command's `--database`.
    pub fn database(&self) -> &DbArg {
        match self {
            GroupsCommand::List(db) => db,
            GroupsCommand::Add(args) => &args.db,
            GroupsCommand::Remove(args) => &args.db,
        }
    }
}

/// Why `name` is not a valid group name, if it is not: empty, leading or trailing whitespace,
/// or control characters.
pub(crate) fn invalid_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.trim() != name {
        Some("it has leading or trailing whitespace")
    } else if name.chars().any(char::is_control) {
        Some("it has control characters")
    } else {
        None
    }
}

/// Runs a `groups` command against the database `database`.
pub fn run(database: &str, command: &GroupsCommand) -> ExitCode {
    let names = match command {
        GroupsCommand::List(_) => Vec::new(),
        GroupsCommand::Add(AddArgs { names: given, .. })
        | GroupsCommand::Remove(NamesArgs { names: given, .. }) => {
            let mut names = Vec::new();
            for name in given {
                if let Some(why) = invalid_name(name) {
                    errln!(
                        "fedbridge groups: invalid group name \"{}\": {why}",
                        escape(name)
                    );
                    return ExitCode::from(2);
                }
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            names
        }
    };
    let mut idp_ids: Vec<String> = Vec::new();
    if let GroupsCommand::Add(args) = command {
        if !args.idp_ids.is_empty() && names.len() != 1 {
            errln!("fedbridge groups: --idp-id names the identifiers of one group; give one NAME");
            return ExitCode::from(2);
        }
        for id in &args.idp_ids {
            if let Some(why) = invalid_name(id) {
                errln!("fedbridge groups: invalid IdP id {id:?}: {why}");
                return ExitCode::from(2);
            }
            if !idp_ids.iter().any(|seen| seen.eq_ignore_ascii_case(id)) {
                idp_ids.push(id.clone());
            }
        }
    }
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge groups: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        GroupsCommand::List(_) => store.list_groups().map(|groups| {
            if groups.is_empty() {
                outln!("(no groups)");
            } else {
                outln!(
                    "{:<32} {:>7} {:>9} {:>5}  IDP IDS",
                    "NAME",
                    "MEMBERS",
                    "FEDERATED",
                    "LOCAL"
                );
                for group in groups {
                    let ids = if group.idp_ids.is_empty() {
                        "-".to_owned()
                    } else {
                        group
                            .idp_ids
                            .iter()
                            .map(|id| escape(id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    outln!(
                        "{:<32} {:>7} {:>9} {:>5}  {ids}",
                        escape(&group.name),
                        group.members(),
                        group.federated_members,
                        group.local_members
                    );
                }
            }
            ExitCode::SUCCESS
        }),
        GroupsCommand::Add(_) => store
            .add_groups(&names, &idp_ids)
            .map(|outcome| match outcome {
                Ok(()) => {
                    for name in &names {
                        outln!("added group \"{}\"", escape(name));
                    }
                    for id in &idp_ids {
                        outln!("  with IdP id \"{}\"", escape(id));
                    }
                    ExitCode::SUCCESS
                }
                Err(refused) => refuse(&refused),
            }),
        GroupsCommand::Remove(_) => store
            .remove_groups(&names, SystemClock.now())
            .map(|outcome| match outcome {
                Ok(memberships) => {
                    for name in &names {
                        outln!("removed group \"{}\"", escape(name));
                    }
                    outln!("removed {memberships} membership(s)");
                    ExitCode::SUCCESS
                }
                Err(refused) => refuse(&refused),
            }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("fedbridge groups: {e}");
            ExitCode::from(2)
        }
    }
}

fn refuse(refused: &GroupChangeRefused) -> ExitCode {
    match refused {
        GroupChangeRefused::Exist(names) => {
            for name in names {
                errln!(
                    "fedbridge groups: group \"{}\" exists already",
                    escape(name)
                );
            }
            errln!("fedbridge groups: nothing added");
        }
        GroupChangeRefused::IdpIdTaken { idp_id, group } => {
            errln!("fedbridge groups: IdP id {idp_id:?} is already on group {group:?}");
            errln!("fedbridge groups: nothing added");
        }
        GroupChangeRefused::Unknown(names) => {
            for name in names {
                errln!(
                    "fedbridge groups: no group \"{}\" (names are case-sensitive)",
                    escape(name)
                );
            }
            errln!("fedbridge groups: nothing removed");
        }
    }
    ExitCode::from(1)
}
