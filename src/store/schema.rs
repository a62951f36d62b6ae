//! The tables, as diesel sees them: written by hand to match `migrations/sqlite` and
//! `migrations/postgres` (which hold the same tables with each backend's types). Only types that
//! both backends share: `Text`, `BigInt` (times are epoch seconds) and `Bool`.
//!
//! `CONFIGURATIONENTITY (NAME, VALUE)` is named in lower case here: SQLite compares names
//! case-insensitively, and PostgreSQL folds the unquoted upper-case names of the migration to
//! lower case, so diesel's quoted lower-case names find the table on both.

#![expect(
    missing_docs,
    reason = "`table!` generates undocumented items; the migrations document every column"
)]

diesel::table! {
    /// The settings: one row per key; `value` NULL is not the same as no row.
    #[sql_name = "configurationentity"]
    configuration_entity (name) {
        name -> Text,
        value -> Nullable<Text>,
    }
}

diesel::table! {
    /// Local users, created and updated by the login sync.
    users (id) {
        id -> BigInt,
        login_name -> Text,
        external_id -> Nullable<Text>,
        full_name -> Nullable<Text>,
        email -> Nullable<Text>,
        description -> Nullable<Text>,
        inherit_licences -> Bool,
        inherit_permissions -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        /// Generated: `login_name` folded to ASCII lower case (never written).
        login_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Local groups, matched by name with the IdP's group names.
    groups (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    /// The IdP's identifiers of local groups (Azure AD object IDs, SIDs).
    group_idp_ids (group_id, idp_id) {
        group_id -> BigInt,
        idp_id -> Text,
        /// Generated: `idp_id` folded to ASCII lower case (never written), unique.
        idp_id_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Who is in which group; `federated`: added by the login sync.
    memberships (user_id, group_id) {
        user_id -> BigInt,
        group_id -> BigInt,
        federated -> Bool,
    }
}

diesel::table! {
    /// fedbridge's xsession signing keys; retired keys stay published until their tokens expire.
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_pem -> Text,
        public_pem -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// AuthnRequests sent and not yet answered, so any node can finish a login.
    outstanding_requests (request_id) {
        request_id -> Text,
        relay_handle -> Text,
        target -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        purpose -> Text,
        browser_binding -> Nullable<Text>,
    }
}

diesel::table! {
    /// Assertion IDs seen, kept until the assertion expires; a duplicate insert is a replay.
    replay_cache (assertion_id) {
        assertion_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// xsession token IDs revoked before their expiry (logout, user disabled).
    revoked_sessions (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// Every xsession issued (until it expires), so revocation can find a user's tokens.
    xsessions (jti) {
        jti -> Text,
        sid -> Text,
        user_id -> BigInt,
        issued_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// One row per login attempt, accepted or not.
    login_audit (id) {
        id -> BigInt,
        at -> BigInt,
        outcome -> Text,
        reason_code -> Nullable<Text>,
        detail -> Nullable<Text>,
        idp -> Nullable<Text>,
        login_name -> Nullable<Text>,
        correlation_id -> Nullable<Text>,
        flags -> Nullable<Text>,
        dry_run -> Bool,
        clock_offset -> Nullable<BigInt>,
        attributes -> Nullable<Text>,
        changes -> Nullable<Text>,
        client -> Nullable<Text>,
        count -> BigInt,
    }
}

diesel::table! {
    /// Sessions of the admin console (the cookie's secret, hashed; the sign-in's xsession).
    admin_sessions (secret_hash) {
        secret_hash -> Text,
        jti -> Text,
        login_name -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// The last good copy of the IdP metadata, used when a fetch fails.
    idp_metadata_cache (url) {
        url -> Text,
        body -> Text,
        fetched_at -> BigInt,
    }
}

diesel::table! {
    /// The version of the settings: raised by triggers on every change of CONFIGURATIONENTITY.
    config_version (id) {
        id -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    /// Every running server, as its write probe last recorded it.
    node_status (node_id) {
        node_id -> Text,
        started_at -> BigInt,
        seen_at -> BigInt,
        config_version -> BigInt,
        version -> Text,
    }
}

diesel::joinable!(group_idp_ids -> groups (group_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> groups (group_id));
diesel::joinable!(xsessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    configuration_entity,
    users,
    groups,
    group_idp_ids,
    memberships,
    signing_keys,
    outstanding_requests,
    replay_cache,
    revoked_sessions,
    xsessions,
    login_audit,
    idp_metadata_cache,
    admin_sessions,
    config_version,
    node_status,
);

#[cfg(test)]
mod tests;
