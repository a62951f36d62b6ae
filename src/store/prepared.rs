//! PostgreSQL statements written in SQL that diesel prepares once per connection.
//!
//! diesel's `sql_query` is prepared anew at every execution (it cannot know the text is fixed),
//! and PostgreSQL then parses and plans it every time: measured on the login's statements, about
//! 60 us of server CPU each. A [`Prepared`] statement has a fixed text, so diesel's statement
//! cache keeps it (keyed by the text) and PostgreSQL reuses the plan. Used where one statement
//! does the work of several, a round trip each, that the query builder cannot express (common
//! table expressions that write).

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

/// One value bound to a `?` of a [`Prepared`] statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    /// `text`
    Text(&'a str),
    /// `text`, or NULL
    OptionalText(Option<&'a str>),
    /// `bigint`
    BigInt(i64),
    /// `bigint`, or NULL
    OptionalBigInt(Option<i64>),
    /// `boolean`
    Bool(bool),
    /// `bigint[]`
    BigInts(&'a [i64]),
    /// `text[]`
    Texts(&'a [String]),
}

/// A statement whose text has a `?` where each of `binds` goes, in order (a value used twice
/// is bound twice), returning rows of the SQL type `ST` (`()` when it returns none).
#[derive(Debug, Clone)]
pub(crate) struct Prepared<'a, ST = ()> {
    sql: String,
    binds: Vec<Bind<'a>>,
    returns: PhantomData<ST>,
}

impl<'a, ST> Prepared<'a, ST> {
    /// The statement `sql` with `binds` for its `?` marks (SQL text without `?` elsewhere: no
    /// string literals or operators holding one).
    pub(crate) fn new(sql: impl Into<String>, binds: Vec<Bind<'a>>) -> Prepared<'a, ST> {
        let sql = sql.into();
        debug_assert_eq!(sql.matches('?').count(), binds.len(), "{sql}");
        Prepared {
            sql,
            binds,
            returns: PhantomData,
        }
    }
}

impl<ST> QueryFragment<Pg> for Prepared<'_, ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for (bind, part) in self.binds.iter().zip(parts) {
            match bind {
                Bind::Text(value) => out.push_bind_param::<Text, _>(value)?,
                Bind::OptionalText(value) => out.push_bind_param::<Nullable<Text>, _>(value)?,
                Bind::BigInt(value) => out.push_bind_param::<BigInt, _>(value)?,
                Bind::OptionalBigInt(value) => {
                    out.push_bind_param::<Nullable<BigInt>, _>(value)?;
                }
                Bind::Bool(value) => out.push_bind_param::<Bool, _>(value)?,
                Bind::BigInts(values) => out.push_bind_param::<Array<BigInt>, _>(values)?,
                Bind::Texts(values) => out.push_bind_param::<Array<Text>, _>(values)?,
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

impl<ST> QueryId for Prepared<'_, ST> {
    // No type-level id: the cache keys the statement by its text and bind types.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: diesel::sql_types::SqlType + 'static> Query for Prepared<'_, ST> {
    type SqlType = ST;
}

impl<ST, Conn> RunQueryDsl<Conn> for Prepared<'_, ST> {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use diesel::sql_types::{BigInt, Bool, Nullable, Text};

    use super::*;
    use crate::store::connection::DbConnection;
    use crate::store::{Store, testing};

    /// A pooled PostgreSQL connection of a store on a fresh test database, if there is a server.
    fn postgres_store(test: &str) -> Option<Store> {
        testing::postgres_database(test).map(|url| Store::open(&url).unwrap())
    }

    #[test]
    #[should_panic(expected = "SELECT ?, ?")]
    fn a_mark_without_its_bind_is_caught_where_the_statement_is_written() {
        let _ = Prepared::<()>::new("SELECT ?, ?", vec![Bind::BigInt(1)]);
    }

    #[test]
    fn binds_go_to_their_marks_in_order_and_nulls_stay_null() {
        let Some(store) = postgres_store("binds_go_to_their_marks_in_order_and_nulls_stay_null")
        else {
            return;
        };
        let mut conn = store.conn().unwrap();
        let DbConnection::Postgres(pg) = &mut *conn else {
            panic!("a PostgreSQL store");
        };
        let row: (String, Option<String>, i64, Option<i64>, bool) =
            Prepared::<(Text, Nullable<Text>, BigInt, Nullable<BigInt>, Bool)>::new(
                "SELECT ?::text, ?::text, ?::bigint + 1, ?::bigint, ?::boolean",
                vec![
                    Bind::Text("it's"),
                    Bind::OptionalText(None),
                    Bind::BigInt(41),
                    Bind::OptionalBigInt(None),
                    Bind::Bool(true),
                ],
            )
            .get_result(pg)
            .unwrap();
        assert_eq!(row, ("it's".to_owned(), None, 42, None, true));
    }

    #[test]
    fn a_statement_is_prepared_once_per_connection_and_planned_generically() {
        let Some(store) =
            postgres_store("a_statement_is_prepared_once_per_connection_and_planned_generically")
        else {
            return;
        };
        let mut conn = store.conn().unwrap();
        let DbConnection::Postgres(pg) = &mut *conn else {
            panic!("a PostgreSQL store");
        };
        let text = "SELECT count(*) FROM users WHERE id = ANY(?)";
        for _ in 0..3 {
            let users: i64 = Prepared::<BigInt>::new(
                text.replace("ANY(?)", "ANY(ARRAY[?::bigint])"),
                vec![Bind::BigInt(7)],
            )
            .get_result(pg)
            .unwrap();
            assert_eq!(users, 0);
        }
        // diesel names the statements it keeps; `sql_query` ones are unnamed and not listed.
        let kept: i64 = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements \
             WHERE statement LIKE '%FROM users WHERE id = ANY(ARRAY[$1::bigint])%'",
        )
        .get_result::<Count>(pg)
        .unwrap()
        .n;
        assert_eq!(kept, 1, "prepared once, kept and reused");
        let mode: Setting = diesel::sql_query("SELECT current_setting('plan_cache_mode') AS value")
            .get_result(pg)
            .unwrap();
        assert_eq!(mode.value, "force_generic_plan");
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }
}
