//! Migrations are append-only: never edit one that has shipped; add the next.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sea_orm_migration::prelude::*;

mod m0001_platform;
mod m0003_audit_filters;
mod m0006_audit_heads;

/// The kernel's migrations, in order. The server's migrator runs these first, then each
/// module's.
pub fn platform() -> Vec<Box<dyn MigrationTrait>> {
    // m0002, m0004 and m0005 are the AI module's (numbers are shared by every module's
    // migrations).
    vec![
        Box::new(m0001_platform::Migration),
        Box::new(m0003_audit_filters::Migration),
        Box::new(m0006_audit_heads::Migration),
    ]
}

/// A tenant table starts with its `workspace_id`, which leads its primary key.
pub fn tenant_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .if_not_exists()
        .col(sea_orm_migration::schema::uuid("workspace_id"))
        .take()
}

/// PostgreSQL only: row-level security on a tenant table, forced for the owner too, keyed
/// on the transaction's `app.workspace_id`; `extra` widens what may be read (never written).
pub async fn enable_rls(
    conn: &impl ConnectionTrait,
    table: &str,
    extra: Option<&str>,
) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let ws = "workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid";
    let using = match extra {
        Some(extra) => format!("{ws} OR {extra}"),
        None => ws.to_owned(),
    };
    conn.execute_unprepared(&format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK ({ws});"
    ))
    .await?;
    Ok(())
}

/// Every table that holds one workspace's rows. Each gets row-level security on
/// PostgreSQL; the cross-tenant tests walk this list too.
pub const TENANT_TABLES: &[&str] = &[
    "members",
    "invitations",
    "api_keys",
    "audit_events",
    "data_keys",
    "secrets",
    "workspace_modules",
    "audit_heads",
];

/// Grant the server's runtime role what it needs and nothing more: no DDL, and on the
/// audit log only SELECT and INSERT, so even a compromised server cannot rewrite history.
pub async fn grant_app_role(conn: &impl ConnectionTrait, role: &str) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    if !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || role.is_empty() {
        return Err(DbErr::Custom(format!("invalid database_app_role {role:?}")));
    }
    let sql = format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {role};
         REVOKE INSERT, UPDATE, DELETE ON seaql_migrations FROM {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
    );
    conn.execute_unprepared(&sql).await?;
    Ok(())
}

/// Whether the current connection's role can bypass row-level security (a superuser or a
/// role with BYPASSRLS). The server warns at start when it can.
pub async fn role_bypasses_rls(conn: &impl ConnectionTrait) -> Result<bool, DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (rolsuper OR rolbypassrls) AS bypass FROM pg_roles WHERE rolname = current_user",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "bypass")?,
        None => false,
    })
}
