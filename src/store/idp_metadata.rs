//! `idp_metadata_cache`: the last good copy of the IdP metadata, one row per metadata URL, so
//! that a restart while the IdP is unreachable still knows the IdP's keys.

use diesel::prelude::*;

use crate::store::connection::DbConnection;
use crate::store::schema::idp_metadata_cache::dsl::{body, fetched_at, idp_metadata_cache, url};
use crate::store::{Store, StoreError};

/// A cached metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMetadata {
    /// The document as fetched.
    pub body: String,
    /// When it was fetched, in epoch seconds.
    pub fetched_at: i64,
}

impl Store {
    /// The cached metadata of `metadata_url`, if any.
    pub fn cached_idp_metadata(
        &self,
        metadata_url: &str,
    ) -> Result<Option<CachedMetadata>, StoreError> {
        let mut conn = self.conn()?;
        idp_metadata_cache
            .filter(url.eq(metadata_url))
            .select((body, fetched_at))
            .first::<(String, i64)>(&mut conn)
            .optional()
            .map(|row| {
                row.map(|(b, at)| CachedMetadata {
                    body: b,
                    fetched_at: at,
                })
            })
            .map_err(|e| self.query_error(&e))
    }

    /// Stores `document` as the last good copy of `metadata_url`, replacing the previous one
    /// (one transaction).
    pub fn save_idp_metadata(
        &self,
        metadata_url: &str,
        document: &CachedMetadata,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| save_idp_metadata_in(conn, metadata_url, document))
                .map_err(|e| self.query_error(&e))
        })
    }
}

/// [`Store::save_idp_metadata`] inside the caller's transaction.
pub(crate) fn save_idp_metadata_in(
    conn: &mut DbConnection,
    metadata_url: &str,
    document: &CachedMetadata,
) -> QueryResult<()> {
    diesel::delete(idp_metadata_cache.filter(url.eq(metadata_url))).execute(conn)?;
    diesel::insert_into(idp_metadata_cache)
        .values((
            url.eq(metadata_url),
            body.eq(&document.body),
            fetched_at.eq(document.fetched_at),
        ))
        .execute(conn)
        .map(drop)
}
