//! The hand-written `table!` definitions against the database the migrations make, on both
//! backends: same tables, same columns in the same order, same types, nullability and primary
//! keys. A migration that changes a table without `schema.rs` (or the reverse) fails here.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::store::Store;
use crate::store::testing::{postgres_database, sqlite_database};

/// One column as `schema.rs` or the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    /// `Text`, `BigInt` or `Bool`.
    kind: String,
    nullable: bool,
}

/// One table: its columns in order and its primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
}

/// The tables of `schema.rs`, by SQL name (lower case).
fn declared() -> BTreeMap<String, Table> {
    let text = include_str!("../schema.rs");
    let mut tables = BTreeMap::new();
    let mut sql_name: Option<String> = None;
    let mut current: Option<(String, Table)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[sql_name = \"") {
            sql_name = Some(rest.trim_end_matches("\"]").to_owned());
        } else if let Some((head, _)) = line.split_once(" {")
            && let Some((name, key)) = head.split_once(" (")
            && !name.contains(' ')
        {
            let primary_key = key
                .trim_end_matches(')')
                .split(',')
                .map(|k| k.trim().to_owned())
                .collect();
            let name = sql_name.take().unwrap_or_else(|| name.to_owned());
            current = Some((
                name,
                Table {
                    columns: Vec::new(),
                    primary_key,
                },
            ));
        } else if let Some((name, kind)) = line.trim_end_matches(',').split_once(" -> ")
            && let Some((_, table)) = current.as_mut()
        {
            let (kind, nullable) = match kind.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (kind, false),
            };
            table.columns.push(Column {
                name: name.to_owned(),
                kind: kind.to_owned(),
                nullable,
            });
        } else if line == "}"
            && let Some((name, table)) = current.take()
        {
            tables.insert(name, table);
        }
    }
    assert!(tables.len() >= 10, "schema.rs parsed to {tables:?}");
    tables
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Bool)]
    notnull: bool,
    #[diesel(sql_type = BigInt)]
    pk: i64,
    /// 0: an ordinary column; 2, 3: a generated column (virtual, stored); 1: hidden.
    #[diesel(sql_type = BigInt)]
    hidden: i64,
}

/// The tables the SQLite migrations made.
fn sqlite_tables(path: &str) -> BTreeMap<String, Table> {
    let mut conn = SqliteConnection::establish(path).unwrap();
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .unwrap();
    names
        .into_iter()
        .map(|table| {
            let rows: Vec<SqliteColumn> =
                diesel::sql_query(format!("PRAGMA table_xinfo(\"{}\")", table.name))
                    .load(&mut conn)
                    .unwrap();
            // table_xinfo lists generated columns too (table_info leaves them out).
            let rows: Vec<SqliteColumn> = rows.into_iter().filter(|c| c.hidden != 1).collect();
            let mut primary_key: Vec<(i64, String)> = rows
                .iter()
                .filter(|c| c.pk > 0)
                .map(|c| (c.pk, c.name.to_lowercase()))
                .collect();
            primary_key.sort();
            let columns = rows
                .iter()
                .map(|c| Column {
                    name: c.name.to_lowercase(),
                    kind: match c.r#type.as_str() {
                        "TEXT" => "Text",
                        // INTEGER PRIMARY KEY is SQLite's 64-bit rowid.
                        "BIGINT" | "INTEGER" => "BigInt",
                        "BOOLEAN" => "Bool",
                        other => panic!("{}.{}: unexpected type {other}", table.name, c.name),
                    }
                    .to_owned(),
                    // A primary key column is never NULL (SQLite only says so for rowids).
                    nullable: !c.notnull && c.pk == 0,
                })
                .collect();
            let table_info = Table {
                columns,
                primary_key: primary_key.into_iter().map(|(_, n)| n).collect(),
            };
            (table.name.to_lowercase(), table_info)
        })
        .collect()
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct PgKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// The tables the PostgreSQL migrations made.
fn postgres_tables(url: &str) -> BTreeMap<String, Table> {
    let mut conn = PgConnection::establish(url).unwrap();
    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .unwrap();
    let keys: Vec<PgKey> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, a.attname::text AS column_name \
         FROM pg_index i \
         JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema() \
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE i.indisprimary ORDER BY t.relname, k.position",
    )
    .load(&mut conn)
    .unwrap();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for c in columns {
        let kind = match c.data_type.as_str() {
            "text" => "Text",
            "bigint" => "BigInt",
            "boolean" => "Bool",
            other => panic!(
                "{}.{}: unexpected type {other}",
                c.table_name, c.column_name
            ),
        };
        tables
            .entry(c.table_name)
            .or_insert_with(|| Table {
                columns: Vec::new(),
                primary_key: Vec::new(),
            })
            .columns
            .push(Column {
                name: c.column_name,
                kind: kind.to_owned(),
                nullable: c.is_nullable == "YES",
            });
    }
    for k in keys {
        if let Some(table) = tables.get_mut(&k.table_name) {
            table.primary_key.push(k.column_name);
        }
    }
    tables
}

#[test]
fn schema_rs_matches_the_tables_the_sqlite_migrations_make() {
    let (_dir, path) = sqlite_database();
    Store::open(&path).unwrap();
    assert_eq!(sqlite_tables(&path), declared());
}

#[test]
fn schema_rs_matches_the_tables_the_postgres_migrations_make() {
    let Some(url) = postgres_database("schema_rs_matches_the_tables_the_postgres_migrations_make")
    else {
        return;
    };
    Store::open(&url).unwrap();
    assert_eq!(postgres_tables(&url), declared());
}

#[test]
fn the_schema_parser_sees_every_table_and_column() {
    let tables = declared();
    let config = &tables["configurationentity"];
    assert_eq!(config.primary_key, ["name"]);
    assert_eq!(
        config.columns[1],
        Column {
            name: "value".into(),
            kind: "Text".into(),
            nullable: true
        }
    );
    assert_eq!(tables["memberships"].primary_key, ["user_id", "group_id"]);
    assert_eq!(tables["users"].columns.len(), 12);
}
