//! `config_version` and `node_status`: which version of the settings exists, and which one each
//! running server holds. Triggers on `CONFIGURATIONENTITY` raise the version on every change
//! (SQL included); every server records the version it has taken in, and when it last wrote
//! (its write probe), so that `fedbridge config set` can say when a change is in service on
//! every running node.

use diesel::prelude::*;

use crate::store::schema::{config_version, node_status};
use crate::store::{Store, StoreError};

/// One running server, as it records itself.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = node_status)]
pub struct NodeRecord {
    /// Chosen at start: unique per process.
    pub node_id: String,
    /// When it started (epoch seconds).
    pub started_at: i64,
    /// When it last wrote this row (epoch seconds).
    pub seen_at: i64,
    /// The settings version it holds: the rows of that version were read and judged.
    pub config_version: i64,
    /// fedbridge's version.
    pub version: String,
}

impl Store {
    /// The version of the settings now.
    pub fn config_version(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        read_version(&mut conn).map_err(|e| self.query_error(&e))
    }

    /// Records `node` (insert, or update its row): a real write, so it fails when logins
    /// could not be written either.
    pub fn record_node(&self, node: &NodeRecord) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                let updated = diesel::update(node_status::table.find(&node.node_id))
                    .set((
                        node_status::seen_at.eq(node.seen_at),
                        node_status::config_version.eq(node.config_version),
                        node_status::version.eq(&node.version),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(node_status::table)
                        .values((
                            node_status::node_id.eq(&node.node_id),
                            node_status::started_at.eq(node.started_at),
                            node_status::seen_at.eq(node.seen_at),
                            node_status::config_version.eq(node.config_version),
                            node_status::version.eq(&node.version),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .map_err(|e| self.query_error(&e))
        })
    }

    /// The nodes that wrote their row at `since` (epoch seconds) or later, by node ID.
    pub fn nodes_seen_since(&self, since: i64) -> Result<Vec<NodeRecord>, StoreError> {
        let mut conn = self.conn()?;
        node_status::table
            .filter(node_status::seen_at.ge(since))
            .order(node_status::node_id)
            .select(NodeRecord::as_select())
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))
    }

    /// Deletes the rows of nodes not seen since `before` (epoch seconds); returns how many.
    pub fn purge_nodes(&self, before: i64) -> Result<usize, StoreError> {
        self.write(|conn| {
            diesel::delete(node_status::table.filter(node_status::seen_at.lt(before)))
                .execute(&mut **conn)
                .map_err(|e| self.query_error(&e))
        })
    }
}

/// `config_version.version` (0 when the row is missing, which the migration prevents).
pub(crate) fn read_version(conn: &mut crate::store::connection::DbConnection) -> QueryResult<i64> {
    config_version::table
        .select(config_version::version)
        .first(conn)
        .optional()
        .map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RowChange;
    use crate::store::testing::{postgres_database, sqlite_database};

    fn versions_rise_with_every_change_and_nodes_are_recorded(store: &Store) {
        let v0 = store.config_version().unwrap();
        store
            .set_config("FEDBRIDGE_CLOCK_SKEW", Some("90s"))
            .unwrap();
        let v1 = store.config_version().unwrap();
        assert!(v1 > v0);
        store
            .write_config(&std::collections::BTreeMap::from([
                ("A".to_owned(), RowChange::Set(Some("1".into()))),
                ("B".to_owned(), RowChange::Delete),
            ]))
            .unwrap();
        let v2 = store.config_version().unwrap();
        assert!(v2 > v1);
        let (rows, v) = store.config_snapshot().unwrap();
        assert_eq!(v, v2);
        assert_eq!(rows.len(), 2);
        assert!(store.unset_config("A").unwrap());
        assert!(store.config_version().unwrap() > v2);

        let mut node = NodeRecord {
            node_id: "n1".into(),
            started_at: 100,
            seen_at: 100,
            config_version: v2,
            version: "0.1.0".into(),
        };
        store.record_node(&node).unwrap();
        node.seen_at = 110;
        store.record_node(&node).unwrap();
        assert_eq!(store.nodes_seen_since(105).unwrap(), [node.clone()]);
        assert!(store.nodes_seen_since(111).unwrap().is_empty());
        assert_eq!(store.purge_nodes(111).unwrap(), 1);
        assert!(store.nodes_seen_since(0).unwrap().is_empty());
    }

    #[test]
    fn sqlite_versions_and_nodes() {
        let (_dir, path) = sqlite_database();
        versions_rise_with_every_change_and_nodes_are_recorded(&Store::open(&path).unwrap());
    }

    #[test]
    fn postgres_versions_and_nodes() {
        let Some(url) = postgres_database("postgres_versions_and_nodes") else {
            return;
        };
        versions_rise_with_every_change_and_nodes_are_recorded(&Store::open(&url).unwrap());
    }
}
