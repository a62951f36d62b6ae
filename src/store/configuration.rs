//! `CONFIGURATIONENTITY`: the settings' rows, read and written as strings. A key mapped to
//! `None` is a row whose `VALUE` is SQL NULL; a key that is missing has no row.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::store::connection::{DbConnection, lock_for_write};
use crate::store::schema::configuration_entity::dsl::{configuration_entity, name, value};
use time::OffsetDateTime;

use crate::store::idp_metadata::save_idp_metadata_in;
use crate::store::{CachedMetadata, SigningKeyError, Store, StoreError, signing_keys};
use crate::token::SigningKeyPair;

/// Every row: `NAME` -> `VALUE` (`None`: SQL NULL).
pub type ConfigRows = BTreeMap<String, Option<String>>;

/// What to do with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    /// Create or overwrite the row; `None` stores SQL NULL.
    Set(Option<String>),
    /// Delete the row (nothing happens when there is none).
    Delete,
}

impl Store {
    /// Every row of `CONFIGURATIONENTITY`.
    pub fn config_rows(&self) -> Result<ConfigRows, StoreError> {
        let mut conn = self.conn()?;
        read_rows(&mut conn).map_err(|e| self.query_error(&e))
    }

    /// Every row and the settings version they are (one read transaction: a consistent pair).
    pub fn config_snapshot(&self) -> Result<(ConfigRows, i64), StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| Ok((read_rows(conn)?, crate::store::nodes::read_version(conn)?)))
            .map_err(|e| self.query_error(&e))
    }

    /// Creates or overwrites the row `key`; `None` stores SQL NULL.
    pub fn set_config(&self, key: &str, new_value: Option<&str>) -> Result<(), StoreError> {
        let changes = BTreeMap::from([(key.to_owned(), RowChange::Set(new_value.map(Into::into)))]);
        self.write_config(&changes)
    }

    /// Deletes the row `key`; returns whether there was one.
    pub fn unset_config(&self, key: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            diesel::delete(configuration_entity.filter(name.eq(key)))
                .execute(&mut **conn)
                .map(|deleted| deleted > 0)
                .map_err(|e| self.query_error(&e))
        })
    }

    /// Applies every change in one transaction: all of them, or none.
    pub fn write_config(&self, changes: &BTreeMap<String, RowChange>) -> Result<(), StoreError> {
        self.update_config(|_| (changes.clone(), ()))
    }

    /// Makes the table hold exactly `rows`, in one transaction: all of them, or none.
    pub fn replace_config(&self, rows: &ConfigRows) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                lock_for_write(conn, "configurationentity")?;
                diesel::delete(configuration_entity).execute(conn)?;
                for (key, new_value) in rows {
                    insert(conn, key, new_value.as_deref())?;
                }
                Ok(())
            })
            .map_err(|e| self.query_error(&e))
        })
    }

    /// Read, decide, write, as one transaction that holds the write lock from the start: `decide`
    /// sees the current rows and returns the changes to make (none: nothing is written) and a
    /// result for the caller. No other writer can change the rows between the read and the
    /// write, so a decision taken on the rows read stays true.
    pub fn update_config<T>(
        &self,
        decide: impl FnOnce(&ConfigRows) -> (BTreeMap<String, RowChange>, T),
    ) -> Result<T, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                lock_for_write(conn, "configurationentity")?;
                let rows = read_rows(conn)?;
                let (changes, result) = decide(&rows);
                for (key, change) in &changes {
                    diesel::delete(configuration_entity.filter(name.eq(key))).execute(conn)?;
                    if let RowChange::Set(new_value) = change {
                        insert(conn, key, new_value.as_deref())?;
                    }
                }
                Ok(result)
            })
            .map_err(|e| self.query_error(&e))
        })
    }
}

impl Store {
    /// [`Store::update_config`] and the xsession signing key in one transaction (the installer's
    /// write): `decide` sees the current rows and returns the changes, or `None` to write
    /// nothing at all; then `key` is stored as the active key of its algorithm unless one is
    /// active already, and `metadata` (URL, document), when given, as the last good copy of
    /// that IdP metadata. Returns whether anything was written (`decide` did not refuse).
    pub fn update_config_with_signing_key(
        &self,
        key: &SigningKeyPair,
        now: OffsetDateTime,
        metadata: Option<(&str, &CachedMetadata)>,
        decide: impl FnOnce(&ConfigRows) -> Option<BTreeMap<String, RowChange>>,
    ) -> Result<bool, SigningKeyError> {
        let jwk = key.public_key().jwk_json()?;
        self.write(|conn| {
            conn.transaction(|conn| {
                lock_for_write(conn, "configurationentity")?;
                let rows = read_rows(conn)?;
                let Some(changes) = decide(&rows) else {
                    return Ok(false);
                };
                for (key_name, change) in &changes {
                    diesel::delete(configuration_entity.filter(name.eq(key_name))).execute(conn)?;
                    if let RowChange::Set(new_value) = change {
                        insert(conn, key_name, new_value.as_deref())?;
                    }
                }
                signing_keys::insert_unless_active(conn, key, &jwk, now)?;
                if let Some((url, document)) = metadata {
                    save_idp_metadata_in(conn, url, document)?;
                }
                Ok(true)
            })
            .map_err(|e| SigningKeyError::Store(self.query_error(&e)))
        })
    }
}

fn read_rows(conn: &mut DbConnection) -> QueryResult<ConfigRows> {
    let rows: Vec<(String, Option<String>)> =
        configuration_entity.select((name, value)).load(conn)?;
    Ok(rows.into_iter().collect())
}

fn insert(conn: &mut DbConnection, key: &str, new_value: Option<&str>) -> QueryResult<usize> {
    diesel::insert_into(configuration_entity)
        .values((name.eq(key), value.eq(new_value)))
        .execute(conn)
}
