//! Tests of the login flow against a real SQLite store.
