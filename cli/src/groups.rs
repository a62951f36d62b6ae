//! `fedbridge groups list|add|remove`: the local groups that the IdP's group names are matched
//! against at login. Names are exact and case-sensitive (`Sales` and `sales` are two groups).
//!
//! Exit status: 0 done, 1 refused (a group that exists already, or that does not exist: nothing
//! written), 2 usage error (an invalid name) or a database that cannot be opened or used.

use crate::out::{errln, outln};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use fedbridge::clock::{Clock, SystemClock};
use fedbridge::store::{GroupChangeRefused, Store};
use fedbridge::text::escape;

/// The `groups` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Every local group with its number of members (federated and local).
    List,
    /// Create groups (all or none, in one transaction).
    Add(NamesArgs),
    /// Remove groups and their memberships (all or none, in one transaction).
    Remove(NamesArgs),
}

/// The group names of `add` and `remove`.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Group names: exact and case-sensitive.
    #[arg(required = true, value_name = "NAME", allow_hyphen_values = true)]
    names: Vec<String>,
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
        GroupsCommand::List => Vec::new(),
        GroupsCommand::Add(args) | GroupsCommand::Remove(args) => {
            let mut names = Vec::new();
            for name in &args.names {
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
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge groups: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        GroupsCommand::List => store.list_groups().map(|groups| {
            if groups.is_empty() {
                outln!("(no groups)");
            } else {
                outln!(
                    "{:<32} {:>7} {:>9} {:>5}",
                    "NAME",
                    "MEMBERS",
                    "FEDERATED",
                    "LOCAL"
                );
                for group in groups {
                    outln!(
                        "{:<32} {:>7} {:>9} {:>5}",
                        escape(&group.name),
                        group.members(),
                        group.federated_members,
                        group.local_members
                    );
                }
            }
            ExitCode::SUCCESS
        }),
        GroupsCommand::Add(_) => store.add_groups(&names).map(|outcome| match outcome {
            Ok(()) => {
                for name in &names {
                    outln!("added group \"{}\"", escape(name));
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
