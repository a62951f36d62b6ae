//! What would change in the store for an [`Identity`] to hold (SPEC section 6). Pure.
//!
//! # Rules
//! - A user not stored yet is created (with "inherit licences" and "inherit permissions" set,
//!   by the store, under the login name as sent); a stored one gets the mapped fields that
//!   differ (`None` in the identity: left alone). Its login name and external ID are never
//!   written: the first spelling seen stays, and external IDs are the administrator's.
//! - Each group value the IdP sends names a local group ([`LocalGroups::resolve`]): the group
//!   carrying that IdP identifier (ASCII case-insensitively: Azure AD object IDs, SIDs), else
//!   the group of exactly that name, else, for an AD FS `DOMAIN\Group` value, the group
//!   `Group`. A value that names no group is created as a group of that name when
//!   `FEDBRIDGE_CREATE_MISSING_GROUPS` is on and it is managed, else ignored and reported in
//!   [`SyncPlan::unknown_groups`].
//! - Memberships change only for managed groups ([`ManagedGroups::is_managed`], decided on the
//!   local group's name): the user is added to every managed group named, and removed from
//!   every managed group not named, whether the membership was federated or local. Groups that
//!   are not managed never change.
//! - **Sync never destroys by accident** ([`Hold`]): when the groups attribute is mapped but
//!   absent, when the IdP signals group overage, or when the plan would remove more managed
//!   memberships than `FEDBRIDGE_MAX_GROUP_REMOVALS`, the plan changes no membership at all (no
//!   addition either), the fields are still updated, the login proceeds, and the hold is one of
//!   the plan's [`SyncFlag`]s, which the login audit records.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::config::{Config, LoginNameMatch, ManagedGroups};
use crate::saml::error::reason_codes;
use crate::sync::{GroupClaim, Identity, login_key};

/// The stored fields of a user that the sync reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The login name (the spelling stored first).
    pub login_name: String,
    /// The external ID.
    pub external_id: Option<String>,
    /// The full name.
    pub full_name: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// A stored user and its memberships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user's fields.
    pub user: StoredUser,
    /// Group name -> whether the membership was added by the sync (`federated`).
    pub memberships: BTreeMap<String, bool>,
}

/// Fields to write; `None`: unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldChanges {
    /// A new full name.
    pub full_name: Option<String>,
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new description.
    pub description: Option<String>,
}

impl FieldChanges {
    /// Whether no field changes.
    pub fn is_empty(&self) -> bool {
        *self == FieldChanges::default()
    }
}

/// How the sync is configured (from [`Config`] with [`SyncPolicy::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPolicy {
    /// `FEDERATEDLY_MANAGED_GROUPS`.
    pub managed: ManagedGroups,
    /// `FEDBRIDGE_CREATE_MISSING_GROUPS`.
    pub create_missing_groups: bool,
    /// `FEDBRIDGE_MAX_GROUP_REMOVALS`: more removals in one login are held.
    pub max_group_removals: usize,
    /// `FEDBRIDGE_LOGIN_NAME_MATCH`.
    pub login_name_match: LoginNameMatch,
    /// `FEDBRIDGE_EXISTING_USERS_ONLY`: no user is created.
    pub existing_users_only: bool,
}

impl SyncPolicy {
    /// The policy `config` sets.
    pub fn of(config: &Config) -> SyncPolicy {
        SyncPolicy {
            managed: config.managed_groups.clone(),
            create_missing_groups: config.create_missing_groups,
            max_group_removals: config.max_group_removals,
            login_name_match: config.login_name_match,
            existing_users_only: config.existing_users_only,
        }
    }
}

impl Default for SyncPolicy {
    /// Every group managed, none created, at most 5 removals, names matched without regard to
    /// case, users created: the settings' defaults.
    fn default() -> SyncPolicy {
        SyncPolicy {
            managed: ManagedGroups::All,
            create_missing_groups: false,
            max_group_removals: 5,
            login_name_match: LoginNameMatch::CaseInsensitive,
            existing_users_only: false,
        }
    }
}

/// The local groups an identity's group values may name: at least those whose name is a value
/// (or the `Group` of a `DOMAIN\Group` value) and those carrying a value as IdP identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalGroups {
    /// Group names.
    pub names: BTreeSet<String>,
    /// [`login_key`] of an IdP identifier -> the name of the group carrying it.
    pub by_idp_id: BTreeMap<String, String>,
}

impl LocalGroups {
    /// The local group the IdP's group value `value` names, if any (see the module rules).
    pub fn resolve(&self, value: &str) -> Option<&str> {
        if let Some(name) = self.by_idp_id.get(&login_key(value)) {
            return Some(name);
        }
        if let Some(name) = self.names.get(value) {
            return Some(name);
        }
        domain_group(value).and_then(|group| self.names.get(group).map(String::as_str))
    }

    /// What to read to resolve `values`: the group names and the IdP identifier keys.
    pub fn lookups(values: &BTreeSet<String>) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut names = values.clone();
        names.extend(
            values
                .iter()
                .filter_map(|v| domain_group(v))
                .map(str::to_owned),
        );
        let keys = values.iter().map(|v| login_key(v)).collect();
        (names, keys)
    }
}

/// `Group` of an AD FS `DOMAIN\Group` value (`tokenGroups`): exactly one backslash (AD allows
/// none in account names), both parts non-empty.
fn domain_group(value: &str) -> Option<&str> {
    let (domain, group) = value.split_once('\\')?;
    (!domain.is_empty() && !group.is_empty() && !group.contains('\\')).then_some(group)
}

/// Why a plan leaves every membership as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The groups attribute is mapped but not in the assertion.
    GroupsAbsent,
    /// The assertion carries an overage marker.
    Overage {
        /// The marker's attribute name.
        marker: String,
    },
    /// The login would remove more managed memberships than allowed.
    RemovalLimit {
        /// How many it would remove.
        would_remove: usize,
        /// `FEDBRIDGE_MAX_GROUP_REMOVALS`.
        limit: usize,
    },
}

reason_codes! {
    /// What an accepted login's sync held or reported: the stable codes of
    /// `login_audit.flags` (comma-separated).
    SyncFlag {
        /// The groups attribute was mapped but absent: memberships left as they were.
        GroupsAttributeAbsent => "groups_attribute_absent",
        /// The IdP signalled group overage: memberships left as they were.
        GroupsOverage => "groups_overage",
        /// More removals than `FEDBRIDGE_MAX_GROUP_REMOVALS`: memberships left as they were.
        GroupRemovalLimitExceeded => "group_removal_limit_exceeded",
        /// Group values that name no local group (ignored).
        UnknownGroups => "unknown_groups",
    }
}

impl SyncFlag {
    /// Whether the flag says that the memberships were held.
    pub fn is_hold(self) -> bool {
        self != SyncFlag::UnknownGroups
    }
}

/// At most this many unknown group values are named in the audit detail.
const MAX_LISTED: usize = 50;
/// The audit detail is cut near this many bytes.
const MAX_DETAIL_BYTES: usize = 4096;

/// What the sync would do (serialised as the audit row's `changes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncPlan {
    /// The user does not exist yet and is created (with [`SyncPlan::fields`]).
    pub create_user: bool,
    /// Fields to write (every known one for a user to create).
    pub fields: FieldChanges,
    /// Local groups to create first (`FEDBRIDGE_CREATE_MISSING_GROUPS`).
    pub create_groups: BTreeSet<String>,
    /// Groups to add the user to (as federated memberships).
    pub add_memberships: BTreeSet<String>,
    /// Groups to remove the user from.
    pub remove_memberships: BTreeSet<String>,
    /// Group values the IdP sent that name no local group: ignored, reported. Not a change.
    pub unknown_groups: BTreeSet<String>,
    /// Why the memberships are left as they are, if they are.
    pub held: Option<Hold>,
}

impl SyncPlan {
    /// Whether the plan changes nothing (unknown groups and holds are reports, not changes).
    pub fn is_noop(&self) -> bool {
        !self.create_user
            && self.fields.is_empty()
            && self.create_groups.is_empty()
            && self.add_memberships.is_empty()
            && self.remove_memberships.is_empty()
    }

    /// The flags the login audit records, in code order.
    pub fn flags(&self) -> Vec<SyncFlag> {
        let mut flags = Vec::new();
        match &self.held {
            Some(Hold::GroupsAbsent) => flags.push(SyncFlag::GroupsAttributeAbsent),
            Some(Hold::Overage { .. }) => flags.push(SyncFlag::GroupsOverage),
            Some(Hold::RemovalLimit { .. }) => flags.push(SyncFlag::GroupRemovalLimitExceeded),
            None => {}
        }
        if !self.unknown_groups.is_empty() {
            flags.push(SyncFlag::UnknownGroups);
        }
        flags
    }

    /// The `login_audit.flags` value: the codes of [`SyncPlan::flags`], comma-separated; `None`
    /// without flags.
    pub fn flags_column(&self) -> Option<String> {
        let flags = self.flags();
        (!flags.is_empty()).then(|| flags.iter().map(|f| f.code()).collect::<Vec<_>>().join(","))
    }

    /// The sentence for the administrator that goes with [`SyncPlan::flags`] (`None` without
    /// flags); at most 50 unknown groups are named and about 4 KB written.
    pub fn report(&self) -> Option<String> {
        let mut parts = Vec::new();
        match &self.held {
            Some(Hold::GroupsAbsent) => parts.push(
                "groups left unchanged: the assertion does not carry SAML_USER_GROUPS_ATTRIBUTE"
                    .to_owned(),
            ),
            Some(Hold::Overage { marker }) => parts.push(format!(
                "groups left unchanged: the assertion carries the overage claim {marker} \
                 instead of the full groups (ask the IdP to send fewer groups, e.g. only those \
                 assigned to the application)"
            )),
            Some(Hold::RemovalLimit {
                would_remove,
                limit,
            }) => parts.push(format!(
                "groups left unchanged: the login would remove {would_remove} managed \
                 memberships, more than FEDBRIDGE_MAX_GROUP_REMOVALS ({limit})"
            )),
            None => {}
        }
        if !self.unknown_groups.is_empty() {
            let mut text = format!("unknown groups ({}): ", self.unknown_groups.len());
            for (n, name) in self.unknown_groups.iter().enumerate() {
                if n == MAX_LISTED || text.len() > MAX_DETAIL_BYTES {
                    let _ = write!(text, "… and {} more", self.unknown_groups.len() - n);
                    break;
                }
                if n > 0 {
                    text.push_str(", ");
                }
                text.push_str(name);
            }
            parts.push(text);
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The plan that makes `current` (`None`: no such user) match `identity`, given the local
/// groups its group values may name (no other is consulted) and the policy.
pub fn plan(
    identity: &Identity,
    current: Option<&CurrentUser>,
    local: &LocalGroups,
    policy: &SyncPolicy,
) -> SyncPlan {
    let mut plan = SyncPlan::default();
    let changed = |new: &Option<String>, old: Option<&Option<String>>| match (new, old) {
        (None, _) => None,
        (Some(new), Some(Some(old))) if new == old => None,
        (Some(new), _) => Some(new.clone()),
    };
    let stored = current.map(|c| &c.user);
    plan.create_user = stored.is_none();
    plan.fields = FieldChanges {
        full_name: changed(&identity.full_name, stored.map(|u| &u.full_name)),
        email: changed(&identity.email, stored.map(|u| &u.email)),
        description: changed(&identity.description, stored.map(|u| &u.description)),
    };
    let values = match &identity.groups {
        GroupClaim::NotMapped => return plan,
        GroupClaim::Absent => {
            plan.held = Some(Hold::GroupsAbsent);
            return plan;
        }
        GroupClaim::Overage { marker } => {
            plan.held = Some(Hold::Overage {
                marker: marker.clone(),
            });
            return plan;
        }
        GroupClaim::Present(values) => values,
    };
    let managed = &policy.managed;
    // The local groups the IdP names, and those to create for it.
    let mut named = BTreeSet::new();
    for value in values {
        match local.resolve(value) {
            Some(group) => {
                named.insert(group.to_owned());
            }
            None if policy.create_missing_groups && managed.is_managed(value) => {
                plan.create_groups.insert(value.clone());
                named.insert(value.clone());
            }
            None => {
                plan.unknown_groups.insert(value.clone());
            }
        }
    }
    let member_of = |group: &str| current.is_some_and(|c| c.memberships.contains_key(group));
    plan.add_memberships = named
        .iter()
        .filter(|g| managed.is_managed(g) && !member_of(g))
        .cloned()
        .collect();
    if let Some(current) = current {
        plan.remove_memberships = current
            .memberships
            .keys()
            .filter(|g| managed.is_managed(g) && !named.contains(*g))
            .cloned()
            .collect();
    }
    let would_remove = plan.remove_memberships.len();
    if would_remove > policy.max_group_removals {
        plan.held = Some(Hold::RemovalLimit {
            would_remove,
            limit: policy.max_group_removals,
        });
        plan.create_groups.clear();
        plan.add_memberships.clear();
        plan.remove_memberships.clear();
    }
    plan
}

#[cfg(test)]
mod tests;
