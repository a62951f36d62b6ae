use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

/// What the store does with a plan, on plain values.
fn apply(
    current: Option<&CurrentUser>,
    local: &BTreeSet<String>,
    plan: &SyncPlan,
) -> (CurrentUser, BTreeSet<String>) {
    let mut user = current.cloned().unwrap_or_else(|| CurrentUser {
        user: StoredUser {
            login_name: String::new(),
            external_id: None,
            full_name: None,
            email: None,
            description: None,
        },
        memberships: BTreeMap::new(),
    });
    let f = &plan.fields;
    let set = |slot: &mut Option<String>, new: &Option<String>| {
        if new.is_some() {
            slot.clone_from(new);
        }
    };
    if let Some(login) = &f.login_name {
        user.user.login_name.clone_from(login);
    }
    set(&mut user.user.external_id, &f.external_id);
    set(&mut user.user.full_name, &f.full_name);
    set(&mut user.user.email, &f.email);
    set(&mut user.user.description, &f.description);
    let mut local = local.clone();
    local.extend(plan.create_groups.iter().cloned());
    for g in &plan.add_memberships {
        assert!(
            local.contains(g),
            "membership of a group that does not exist: {g}"
        );
        user.memberships.insert(g.clone(), true);
    }
    for g in &plan.remove_memberships {
        user.memberships.remove(g);
    }
    (user, local)
}

const NAMES: &[&str] = &["A", "a", "B", "C", "Admins", "Staff", "x y"];

fn group_set() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::sample::subsequence(NAMES, 0..=NAMES.len())
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn managed() -> impl Strategy<Value = ManagedGroups> {
    prop_oneof![
        Just(ManagedGroups::All),
        group_set().prop_map(|s| ManagedGroups::List(s.into_iter().collect())),
    ]
}

fn field() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![Just("one".to_owned()), Just("two".to_owned())])
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        prop_oneof![Just("ada".to_owned()), Just("bob".to_owned())],
        field(),
        field(),
        field(),
        field(),
        proptest::option::of(group_set()),
    )
        .prop_map(
            |(login_name, external_id, full_name, email, description, groups)| Identity {
                login_name,
                external_id,
                full_name,
                email,
                description,
                groups,
            },
        )
}

fn current() -> impl Strategy<Value = Option<CurrentUser>> {
    proptest::option::of(
        (
            prop_oneof![Just("ada".to_owned()), Just("old".to_owned())],
            field(),
            field(),
            field(),
            field(),
            group_set(),
            any::<bool>(),
        )
            .prop_map(
                |(login_name, external_id, full_name, email, description, groups, federated)| {
                    CurrentUser {
                        user: StoredUser {
                            login_name,
                            external_id,
                            full_name,
                            email,
                            description,
                        },
                        memberships: groups.into_iter().map(|g| (g, federated)).collect(),
                    }
                },
            ),
    )
}

/// Current memberships are of local groups (the foreign keys say so).
fn state() -> impl Strategy<Value = (Option<CurrentUser>, BTreeSet<String>)> {
    (current(), group_set()).prop_map(|(current, mut local)| {
        if let Some(c) = &current {
            local.extend(c.memberships.keys().cloned());
        }
        (current, local)
    })
}

proptest! {
    #[test]
    fn planning_after_applying_changes_nothing(
        identity in identity(),
        (current, local) in state(),
        managed in managed(),
        create_missing in any::<bool>(),
    ) {
        let first = plan(&identity, current.as_ref(), &local, &managed, create_missing);
        let (after, local_after) = apply(current.as_ref(), &local, &first);
        let second = plan(&identity, Some(&after), &local_after, &managed, create_missing);
        prop_assert!(second.is_noop(), "{second:?}");
        prop_assert_eq!(&second.unknown_groups, &first.unknown_groups);
    }

    #[test]
    fn unmanaged_and_unknown_groups_never_change(
        identity in identity(),
        (current, local) in state(),
        managed in managed(),
        create_missing in any::<bool>(),
    ) {
        let p = plan(&identity, current.as_ref(), &local, &managed, create_missing);
        let (after, _) = apply(current.as_ref(), &local, &p);
        let before = current.map(|c| c.memberships).unwrap_or_default();
        for g in NAMES.iter().filter(|g| !managed.is_managed(g)) {
            prop_assert_eq!(before.get(*g), after.memberships.get(*g));
        }
        for g in &p.unknown_groups {
            prop_assert!(!p.add_memberships.contains(g) && !p.create_groups.contains(g));
            prop_assert!(!local.contains(g));
        }
        for g in p.add_memberships.iter().chain(&p.create_groups) {
            prop_assert!(managed.is_managed(g));
            prop_assert!(local.contains(g) || create_missing);
        }
        if identity.groups.is_none() {
            prop_assert_eq!(before, after.memberships);
        }
    }

    #[test]
    fn managed_memberships_end_as_named(
        identity in identity(),
        (current, local) in state(),
        managed in managed(),
        create_missing in any::<bool>(),
    ) {
        let Some(named) = &identity.groups else { return Ok(()); };
        let p = plan(&identity, current.as_ref(), &local, &managed, create_missing);
        let (after, local_after) = apply(current.as_ref(), &local, &p);
        for g in NAMES.iter().filter(|g| managed.is_managed(g)) {
            let expected = named.contains(*g) && local_after.contains(*g);
            prop_assert_eq!(after.memberships.contains_key(*g), expected, "{}", g);
        }
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn ada(groups: Option<&[&str]>) -> Identity {
    Identity {
        login_name: "ada".into(),
        external_id: None,
        full_name: Some("Ada".into()),
        email: None,
        description: None,
        groups: groups.map(names),
    }
}

fn stored(memberships: &[(&str, bool)]) -> CurrentUser {
    CurrentUser {
        user: StoredUser {
            login_name: "ada".into(),
            external_id: None,
            full_name: Some("Old".into()),
            email: Some("kept@example.com".into()),
            description: None,
        },
        memberships: memberships
            .iter()
            .map(|(g, f)| ((*g).to_owned(), *f))
            .collect(),
    }
}

#[test]
fn new_user_is_created_with_its_groups() {
    let p = plan(
        &ada(Some(&["Staff", "Ghost"])),
        None,
        &names(&["Staff", "Admins"]),
        &ManagedGroups::All,
        false,
    );
    assert!(p.create_user);
    assert_eq!(p.fields.login_name.as_deref(), Some("ada"));
    assert_eq!(p.fields.full_name.as_deref(), Some("Ada"));
    assert_eq!(p.fields.email, None);
    assert_eq!(p.add_memberships, names(&["Staff"]));
    assert_eq!(p.unknown_groups, names(&["Ghost"]));
    assert!(p.create_groups.is_empty() && p.remove_memberships.is_empty());
}

#[test]
fn managed_all_reconciles_every_group() {
    let current = stored(&[("Admins", false), ("Old", true)]);
    let p = plan(
        &ada(Some(&["Staff"])),
        Some(&current),
        &names(&["Staff", "Admins", "Old"]),
        &ManagedGroups::All,
        false,
    );
    assert!(!p.create_user);
    assert_eq!(p.fields.login_name, None);
    assert_eq!(p.fields.full_name.as_deref(), Some("Ada"));
    assert_eq!(p.fields.email, None, "unmapped or absent: left alone");
    assert_eq!(p.add_memberships, names(&["Staff"]));
    assert_eq!(p.remove_memberships, names(&["Admins", "Old"]));
}

#[test]
fn managed_list_touches_listed_groups_only() {
    let current = stored(&[("Admins", false), ("Old", true)]);
    let managed = ManagedGroups::List(vec!["Staff".into(), "Old".into()]);
    let p = plan(
        &ada(Some(&["Staff", "Admins", "Extra"])),
        Some(&current),
        &names(&["Staff", "Admins", "Old", "Extra"]),
        &managed,
        true,
    );
    assert_eq!(p.add_memberships, names(&["Staff"]));
    assert_eq!(p.remove_memberships, names(&["Old"]));
    assert!(p.create_groups.is_empty() && p.unknown_groups.is_empty());
}

#[test]
fn empty_list_manages_nothing() {
    let current = stored(&[("Admins", true)]);
    let p = plan(
        &ada(Some(&["Staff"])),
        Some(&current),
        &names(&["Staff", "Admins"]),
        &ManagedGroups::List(vec![]),
        true,
    );
    assert!(p.add_memberships.is_empty() && p.remove_memberships.is_empty());
    assert!(p.create_groups.is_empty());
}

#[test]
fn missing_groups_are_created_only_when_asked_and_managed() {
    let managed = ManagedGroups::List(vec!["New".into()]);
    let p = plan(
        &ada(Some(&["New", "Other"])),
        None,
        &names(&[]),
        &managed,
        true,
    );
    assert_eq!(p.create_groups, names(&["New"]));
    assert_eq!(p.add_memberships, names(&["New"]));
    assert_eq!(p.unknown_groups, names(&["Other"]));
    let p = plan(&ada(Some(&["New"])), None, &names(&[]), &managed, false);
    assert!(p.create_groups.is_empty() && p.add_memberships.is_empty());
    assert_eq!(p.unknown_groups, names(&["New"]));
}

#[test]
fn unmapped_groups_never_touch_memberships_and_absent_groups_remove_managed_ones() {
    let current = stored(&[("Admins", true)]);
    let local = names(&["Admins"]);
    let p = plan(
        &ada(None),
        Some(&current),
        &local,
        &ManagedGroups::All,
        false,
    );
    assert!(p.remove_memberships.is_empty());
    let p = plan(
        &ada(Some(&[])),
        Some(&current),
        &local,
        &ManagedGroups::All,
        false,
    );
    assert_eq!(p.remove_memberships, names(&["Admins"]));
}

#[test]
fn group_names_are_case_sensitive() {
    let current = stored(&[("admins", true)]);
    let p = plan(
        &ada(Some(&["Admins"])),
        Some(&current),
        &names(&["admins"]),
        &ManagedGroups::All,
        false,
    );
    assert_eq!(p.unknown_groups, names(&["Admins"]));
    assert_eq!(p.remove_memberships, names(&["admins"]));
}

#[test]
fn external_id_match_renames() {
    let mut current = stored(&[]);
    current.user.login_name = "old@example.com".into();
    current.user.external_id = Some("X1".into());
    let mut identity = ada(None);
    identity.external_id = Some("X1".into());
    let p = plan(
        &identity,
        Some(&current),
        &names(&[]),
        &ManagedGroups::All,
        false,
    );
    assert_eq!(p.fields.login_name.as_deref(), Some("ada"));
    assert_eq!(p.fields.external_id, None);
}
