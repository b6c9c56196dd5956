//! Raw SQL written once with PostgreSQL's `$n` placeholders; SQLite gets `?n`.

use sea_orm::{DbBackend, Statement, Value};

pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, text, values)
}
