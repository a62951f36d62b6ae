use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

/// What the store does with a plan, on plain values (`local`: the group names).
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

fn claim() -> impl Strategy<Value = GroupClaim> {
    prop_oneof![
        Just(GroupClaim::NotMapped),
        Just(GroupClaim::Absent),
        Just(GroupClaim::Overage {
            marker: "http://schemas.microsoft.com/claims/groups.link".into()
        }),
        group_set().prop_map(GroupClaim::Present),
        group_set().prop_map(GroupClaim::Present),
    ]
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        prop_oneof![Just("ada".to_owned()), Just("bob".to_owned())],
        field(),
        field(),
        field(),
        claim(),
    )
        .prop_map(
            |(login_name, full_name, email, description, groups)| Identity {
                name_id: Some(login_name.clone()),
                login_name,
                full_name,
                email,
                description,
                groups,
            },
        )
}

fn policy() -> impl Strategy<Value = SyncPolicy> {
    (managed(), any::<bool>(), 0..8usize).prop_map(|(managed, create, max)| SyncPolicy {
        managed,
        create_missing_groups: create,
        max_group_removals: max,
        ..SyncPolicy::default()
    })
}

/// Local groups by name only.
fn by_name(names: &BTreeSet<String>) -> LocalGroups {
    LocalGroups {
        names: names.clone(),
        by_idp_id: BTreeMap::new(),
    }
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
        policy in policy(),
    ) {
        let first = plan(&identity, current.as_ref(), &by_name(&local), &policy);
        let (after, local_after) = apply(current.as_ref(), &local, &first);
        let second = plan(&identity, Some(&after), &by_name(&local_after), &policy);
        if first.held.is_none() {
            prop_assert!(second.is_noop(), "{second:?}");
            prop_assert_eq!(&second.unknown_groups, &first.unknown_groups);
        }
    }

    #[test]
    fn unmanaged_and_unknown_groups_never_change(
        identity in identity(),
        (current, local) in state(),
        policy in policy(),
    ) {
        let p = plan(&identity, current.as_ref(), &by_name(&local), &policy);
        let (after, _) = apply(current.as_ref(), &local, &p);
        let before = current.map(|c| c.memberships).unwrap_or_default();
        let managed = &policy.managed;
        for g in NAMES.iter().filter(|g| !managed.is_managed(g)) {
            prop_assert_eq!(before.get(*g), after.memberships.get(*g));
        }
        for g in &p.unknown_groups {
            prop_assert!(!p.add_memberships.contains(g) && !p.create_groups.contains(g));
            prop_assert!(!local.contains(g));
        }
        for g in p.add_memberships.iter().chain(&p.create_groups) {
            prop_assert!(managed.is_managed(g));
            prop_assert!(local.contains(g) || policy.create_missing_groups);
        }
        if identity.groups == GroupClaim::NotMapped {
            prop_assert_eq!(before, after.memberships);
            prop_assert!(p.held.is_none());
        }
    }

    /// The safety nets: a held plan changes no membership and creates no group; a plan is held
    /// exactly when the claim is absent or overage, or it would remove more than allowed.
    #[test]
    fn a_held_plan_changes_no_membership(
        identity in identity(),
        (current, local) in state(),
        policy in policy(),
    ) {
        let p = plan(&identity, current.as_ref(), &by_name(&local), &policy);
        let (after, local_after) = apply(current.as_ref(), &local, &p);
        let before = current.as_ref().map(|c| c.memberships.clone()).unwrap_or_default();
        let expected_hold = match &identity.groups {
            GroupClaim::Absent => Some(SyncFlag::GroupsAttributeAbsent),
            GroupClaim::Overage { .. } => Some(SyncFlag::GroupsOverage),
            GroupClaim::NotMapped => None,
            GroupClaim::Present(_) => {
                let unheld = SyncPolicy { max_group_removals: usize::MAX, ..policy.clone() };
                let full = plan(&identity, current.as_ref(), &by_name(&local), &unheld);
                (full.remove_memberships.len() > policy.max_group_removals)
                    .then_some(SyncFlag::GroupRemovalLimitExceeded)
            }
        };
        prop_assert_eq!(p.flags().first().copied().filter(|f| f.is_hold()), expected_hold);
        if p.held.is_some() {
            prop_assert_eq!(&before, &after.memberships);
            prop_assert_eq!(&local, &local_after);
            prop_assert!(p.remove_memberships.len() <= policy.max_group_removals);
        } else {
            prop_assert!(p.remove_memberships.len() <= policy.max_group_removals);
        }
    }

    #[test]
    fn managed_memberships_end_as_named(
        identity in identity(),
        (current, local) in state(),
        policy in policy(),
    ) {
        let GroupClaim::Present(named) = &identity.groups else { return Ok(()); };
        let p = plan(&identity, current.as_ref(), &by_name(&local), &policy);
        if p.held.is_some() {
            return Ok(());
        }
        let (after, local_after) = apply(current.as_ref(), &local, &p);
        for g in NAMES.iter().filter(|g| policy.managed.is_managed(g)) {
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
        name_id: Some("ada".into()),
        full_name: Some("Ada".into()),
        email: None,
        description: None,
        groups: groups.map_or(GroupClaim::NotMapped, |g| GroupClaim::Present(names(g))),
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

fn with(managed: ManagedGroups, create_missing_groups: bool) -> SyncPolicy {
    SyncPolicy {
        managed,
        create_missing_groups,
        ..SyncPolicy::default()
    }
}

fn local(list: &[&str]) -> LocalGroups {
    by_name(&names(list))
}

#[test]
fn new_user_is_created_with_its_groups() {
    let p = plan(
        &ada(Some(&["Staff", "Ghost"])),
        None,
        &local(&["Staff", "Admins"]),
        &SyncPolicy::default(),
    );
    assert!(p.create_user);
    assert_eq!(p.fields.full_name.as_deref(), Some("Ada"));
    assert_eq!(p.fields.email, None);
    assert_eq!(p.add_memberships, names(&["Staff"]));
    assert_eq!(p.unknown_groups, names(&["Ghost"]));
    assert!(p.create_groups.is_empty() && p.remove_memberships.is_empty());
    assert_eq!(p.flags(), [SyncFlag::UnknownGroups]);
    assert_eq!(p.report().as_deref(), Some("unknown groups (1): Ghost"));
}

#[test]
fn managed_all_reconciles_every_group() {
    let current = stored(&[("Admins", false), ("Old", true)]);
    let p = plan(
        &ada(Some(&["Staff"])),
        Some(&current),
        &local(&["Staff", "Admins", "Old"]),
        &SyncPolicy::default(),
    );
    assert!(!p.create_user);
    assert_eq!(p.fields.full_name.as_deref(), Some("Ada"));
    assert_eq!(p.fields.email, None, "unmapped or absent: left alone");
    assert_eq!(p.add_memberships, names(&["Staff"]));
    assert_eq!(p.remove_memberships, names(&["Admins", "Old"]));
    assert!(p.flags().is_empty() && p.report().is_none());
}

#[test]
fn managed_list_touches_listed_groups_only() {
    let current = stored(&[("Admins", false), ("Old", true)]);
    let managed = ManagedGroups::List(vec!["Staff".into(), "Old".into()]);
    let p = plan(
        &ada(Some(&["Staff", "Admins", "Extra"])),
        Some(&current),
        &local(&["Staff", "Admins", "Old", "Extra"]),
        &with(managed, true),
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
        &local(&["Staff", "Admins"]),
        &with(ManagedGroups::List(vec![]), true),
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
        &local(&[]),
        &with(managed.clone(), true),
    );
    assert_eq!(p.create_groups, names(&["New"]));
    assert_eq!(p.add_memberships, names(&["New"]));
    assert_eq!(p.unknown_groups, names(&["Other"]));
    let p = plan(
        &ada(Some(&["New"])),
        None,
        &local(&[]),
        &with(managed, false),
    );
    assert!(p.create_groups.is_empty() && p.add_memberships.is_empty());
    assert_eq!(p.unknown_groups, names(&["New"]));
}

#[test]
fn unmapped_groups_never_touch_memberships_and_an_empty_attribute_removes_managed_ones() {
    let current = stored(&[("Admins", true)]);
    let groups = local(&["Admins"]);
    let p = plan(&ada(None), Some(&current), &groups, &SyncPolicy::default());
    assert!(p.remove_memberships.is_empty() && p.held.is_none());
    let p = plan(
        &ada(Some(&[])),
        Some(&current),
        &groups,
        &SyncPolicy::default(),
    );
    assert_eq!(p.remove_memberships, names(&["Admins"]));
    assert!(p.held.is_none());
}

#[test]
fn an_absent_attribute_or_an_overage_claim_holds_every_membership() {
    let current = stored(&[("Admins", true), ("Local", false)]);
    let groups = local(&["Admins", "Local"]);
    let mut identity = ada(None);
    identity.groups = GroupClaim::Absent;
    let p = plan(&identity, Some(&current), &groups, &SyncPolicy::default());
    assert_eq!(p.held, Some(Hold::GroupsAbsent));
    assert!(p.remove_memberships.is_empty() && p.add_memberships.is_empty());
    assert_eq!(
        p.fields.full_name.as_deref(),
        Some("Ada"),
        "fields are still updated"
    );
    assert_eq!(p.flags(), [SyncFlag::GroupsAttributeAbsent]);
    identity.groups = GroupClaim::Overage {
        marker: "_claim_names".into(),
    };
    let p = plan(&identity, Some(&current), &groups, &SyncPolicy::default());
    assert_eq!(p.flags(), [SyncFlag::GroupsOverage]);
    assert!(p.report().unwrap().contains("_claim_names"));
    assert!(p.remove_memberships.is_empty());
}

#[test]
fn more_removals_than_the_limit_hold_every_membership() {
    let groups: Vec<String> = (1..=7).map(|n| format!("G{n}")).collect();
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    let current = stored(&refs.iter().map(|g| (*g, true)).collect::<Vec<_>>());
    let mut all = refs.clone();
    all.push("New");
    let identity = ada(Some(&["G1", "New"]));
    let p = plan(
        &identity,
        Some(&current),
        &local(&all),
        &SyncPolicy::default(),
    );
    assert_eq!(
        p.held,
        Some(Hold::RemovalLimit {
            would_remove: 6,
            limit: 5
        })
    );
    assert!(p.add_memberships.is_empty() && p.remove_memberships.is_empty());
    assert_eq!(p.flags(), [SyncFlag::GroupRemovalLimitExceeded]);
    let enough = SyncPolicy {
        max_group_removals: 6,
        ..SyncPolicy::default()
    };
    let p = plan(&identity, Some(&current), &local(&all), &enough);
    assert_eq!(p.held, None);
    assert_eq!(p.remove_memberships.len(), 6);
    assert_eq!(p.add_memberships, names(&["New"]));
}

#[test]
fn group_names_are_case_sensitive() {
    let current = stored(&[("admins", true)]);
    let p = plan(
        &ada(Some(&["Admins"])),
        Some(&current),
        &local(&["admins"]),
        &SyncPolicy::default(),
    );
    assert_eq!(p.unknown_groups, names(&["Admins"]));
    assert_eq!(p.remove_memberships, names(&["admins"]));
}

#[test]
fn values_resolve_by_idp_id_then_name_then_domain_group() {
    let guid = "be9c7ccc-07c4-4149-8fa4-958ea36c9aba";
    let groups = LocalGroups {
        names: names(&["Engineering", "Sales", "CORP\\Sales", "Domain Users"]),
        by_idp_id: [(guid.to_owned(), "Engineering".to_owned())].into(),
    };
    assert_eq!(groups.resolve(&guid.to_uppercase()), Some("Engineering"));
    assert_eq!(groups.resolve("Sales"), Some("Sales"));
    // DOMAIN\Group: the group of that very name first, else Group.
    assert_eq!(groups.resolve("CORP\\Sales"), Some("CORP\\Sales"));
    assert_eq!(groups.resolve("CORP\\Engineering"), Some("Engineering"));
    assert_eq!(
        groups.resolve("corp.example.com\\Domain Users"),
        Some("Domain Users")
    );
    for unknown in ["CORP\\", "\\Sales", "A\\B\\Sales", "sales", "Nope"] {
        assert_eq!(groups.resolve(unknown), None, "{unknown}");
    }
    let (lookup_names, keys) = LocalGroups::lookups(&names(&["CORP\\Sales", "ABC"]));
    assert_eq!(lookup_names, names(&["ABC", "CORP\\Sales", "Sales"]));
    assert_eq!(keys, names(&["abc", "corp\\sales"]));
    // A group reached by two values counts once; managed is decided on the local name.
    let current = stored(&[]);
    let managed = ManagedGroups::List(vec!["Engineering".into()]);
    let p = plan(
        &ada(Some(&[guid, "CORP\\Engineering", "Sales"])),
        Some(&current),
        &groups,
        &with(managed, false),
    );
    assert_eq!(p.add_memberships, names(&["Engineering"]));
    assert!(p.unknown_groups.is_empty());
}

#[test]
fn the_report_names_at_most_50_unknown_groups() {
    let many: Vec<String> = (0..60).map(|n| format!("g{n:02}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let p = plan(&ada(Some(&refs)), None, &local(&[]), &SyncPolicy::default());
    let report = p.report().unwrap();
    assert!(
        report.starts_with("unknown groups (60): g00, g01"),
        "{report}"
    );
    assert!(report.ends_with("… and 10 more"), "{report}");
}
