//! What would change in the store for an [`Identity`] to hold (SPEC section 6). Pure.
//!
//! # Rules
//! - A user not stored yet is created (with "inherit licences" and "inherit permissions" set,
//!   by the store); a stored one gets the mapped fields that differ (`None` in the identity:
//!   left alone), its login name when it was found by external ID under another name, and its
//!   external ID when the identity has one and the stored one differs.
//! - Memberships change only when the groups attribute is mapped, and only for managed groups
//!   ([`ManagedGroups::is_managed`]): the user is added to every managed group the IdP names
//!   that exists locally (or is created, when `create_missing`), and removed from every managed
//!   group the IdP does not name, whether the membership was federated or local. Groups that are
//!   not managed never change.
//! - Names compare exactly (case-sensitive). A named group that does not exist locally and is
//!   not created is ignored and reported in [`SyncPlan::unknown_groups`].

use std::collections::{BTreeMap, BTreeSet};

use crate::config::ManagedGroups;
use crate::sync::Identity;

/// The stored fields of a user that the sync may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The login name.
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
    /// A new login name (always set for a user to create).
    pub login_name: Option<String>,
    /// A new external ID.
    pub external_id: Option<String>,
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

/// What the sync would do (serialised as the audit row's `changes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncPlan {
    /// The user does not exist yet and is created with [`SyncPlan::fields`].
    pub create_user: bool,
    /// Fields to write (all known ones for a user to create).
    pub fields: FieldChanges,
    /// Local groups to create first (`FEDBRIDGE_CREATE_MISSING_GROUPS`).
    pub create_groups: BTreeSet<String>,
    /// Groups to add the user to (as federated memberships).
    pub add_memberships: BTreeSet<String>,
    /// Groups to remove the user from.
    pub remove_memberships: BTreeSet<String>,
    /// Group names the IdP sent that match no local group: ignored, reported. Not a change.
    pub unknown_groups: BTreeSet<String>,
}

impl SyncPlan {
    /// Whether the plan changes nothing (unknown groups are a report, not a change).
    pub fn is_noop(&self) -> bool {
        !self.create_user
            && self.fields.is_empty()
            && self.create_groups.is_empty()
            && self.add_memberships.is_empty()
            && self.remove_memberships.is_empty()
    }
}

/// The plan that makes `current` (`None`: no such user) match `identity`, given the names of
/// the local groups (at least those the identity names: no other is consulted), the managed
/// groups and whether missing managed groups are created.
pub fn plan(
    identity: &Identity,
    current: Option<&CurrentUser>,
    local_groups: &BTreeSet<String>,
    managed: &ManagedGroups,
    create_missing: bool,
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
        login_name: (stored.map(|u| u.login_name.as_str()) != Some(identity.login_name.as_str()))
            .then(|| identity.login_name.clone()),
        external_id: changed(&identity.external_id, stored.map(|u| &u.external_id)),
        full_name: changed(&identity.full_name, stored.map(|u| &u.full_name)),
        email: changed(&identity.email, stored.map(|u| &u.email)),
        description: changed(&identity.description, stored.map(|u| &u.description)),
    };
    let Some(named) = &identity.groups else {
        return plan;
    };
    let member_of = |group: &str| current.is_some_and(|c| c.memberships.contains_key(group));
    for group in named {
        let exists = local_groups.contains(group);
        let created = !exists && create_missing && managed.is_managed(group);
        if !exists && !created {
            plan.unknown_groups.insert(group.clone());
            continue;
        }
        if !managed.is_managed(group) {
            continue;
        }
        if created {
            plan.create_groups.insert(group.clone());
        }
        if !member_of(group) {
            plan.add_memberships.insert(group.clone());
        }
    }
    if let Some(current) = current {
        plan.remove_memberships = current
            .memberships
            .keys()
            .filter(|g| managed.is_managed(g) && !named.contains(*g))
            .cloned()
            .collect();
    }
    plan
}

#[cfg(test)]
mod tests;
