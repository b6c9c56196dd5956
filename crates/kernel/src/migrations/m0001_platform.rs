//! The platform schema: identity, workspaces, members, invitations, API keys, audit log,
//! data keys, secrets, module switches. `workspace_id` leads every tenant table's keys
//! (ready for Citus distribution on it).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::tenant_table;

/// The tenant tables this migration creates; later migrations add theirs to
/// [`super::TENANT_TABLES`].
const TENANT_TABLES: &[&str] = &[
    "members",
    "invitations",
    "api_keys",
    "audit_events",
    "data_keys",
    "secrets",
    "workspace_modules",
];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_platform"
    }
}

fn tz(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn tz_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create()
        .name(name)
        .table(table)
        .if_not_exists()
        .take();
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("users")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(string("email").unique_key())
                .col(string("name"))
                .col(string("password_hash"))
                .col(boolean("is_system_admin").default(false))
                .col(tz("created_at"))
                .col(tz("updated_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sessions")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(string("token_digest").unique_key())
                .col(uuid("user_id"))
                .col(string("csrf_token"))
                .col(tz("created_at"))
                .col(tz("last_seen_at"))
                .col(tz("expires_at"))
                .col(string_null("ip"))
                .col(string_null("user_agent"))
                .foreign_key(
                    ForeignKey::create()
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(index("sessions_user", "sessions", &["user_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("workspaces")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(string("slug").unique_key())
                .col(string("plan").default("free"))
                .col(tz_null("suspended_at"))
                .col(tz_null("deleted_at"))
                // Head of the audit hash chain; updating it row-locks the workspace, which
                // serialises audit writes per workspace.
                .col(big_integer("audit_seq").default(0))
                .col(string("audit_head").default(""))
                .col(uuid("created_by"))
                .col(tz("created_at"))
                .col(tz("updated_at"))
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("members")
                .col(uuid("user_id"))
                .col(string("role"))
                .col(tz("created_at"))
                .primary_key(Index::create().col("workspace_id").col("user_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("members", "workspace_id")
                        .to("workspaces", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("members", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(index("members_user", "members", &["user_id"], false))
            .await?;
        m.create_table(
            tenant_table("invitations")
                .col(uuid("id"))
                .col(string("email"))
                .col(string("role"))
                .col(string("token_digest").unique_key())
                .col(uuid("invited_by"))
                .col(tz("expires_at"))
                .col(tz_null("accepted_at"))
                .col(uuid_null("accepted_by"))
                .col(tz_null("revoked_at"))
                .col(tz("created_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("invitations", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("api_keys")
                .col(uuid("id"))
                .col(string("name"))
                .col(string("prefix"))
                .col(string("token_digest").unique_key())
                .col(string("role"))
                .col(uuid("created_by"))
                .col(tz_null("expires_at"))
                .col(tz_null("last_used_at"))
                .col(tz_null("revoked_at"))
                .col(tz("created_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("api_keys", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("audit_events")
                .col(uuid("id"))
                .col(big_integer("seq"))
                .col(string("actor_type"))
                .col(uuid_null("actor_id"))
                .col(string("actor_label"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string_null("target_id"))
                .col(json("summary"))
                .col(string_null("ip"))
                .col(string_null("user_agent"))
                .col(string("request_id"))
                .col(tz("created_at"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "audit_events_seq",
            "audit_events",
            &["workspace_id", "seq"],
            true,
        ))
        .await?;
        m.create_table(
            tenant_table("data_keys")
                .col(uuid("id"))
                .col(binary("wrapped_key"))
                .col(string("master_key_id"))
                .col(tz("created_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("data_keys", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("secrets")
                .col(string("name"))
                .col(binary("ciphertext"))
                .col(binary("nonce"))
                .col(uuid("data_key_id"))
                .col(uuid("updated_by"))
                .col(tz("created_at"))
                .col(tz("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("name"))
                .foreign_key(
                    ForeignKey::create()
                        .from("secrets", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("workspace_modules")
                .col(string("module"))
                .col(boolean("enabled"))
                .col(tz("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("module"))
                .foreign_key(
                    ForeignKey::create()
                        .from("workspace_modules", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;

        if m.get_database_backend() == DbBackend::Postgres {
            postgres_security(m.get_connection()).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the platform schema cannot be rolled back".into(),
        ))
    }
}

/// PostgreSQL's second wall: row-level security on every tenant table, forced even for
/// the table owner, keyed on settings that `Db::tenant` sets per transaction; and a
/// trigger that makes the audit log append-only for every role.
async fn postgres_security(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let me = "user_id = nullif(current_setting('app.user_id', true), '')::uuid";
    let token = "token_digest = nullif(current_setting('app.token_digest', true), '')";
    for table in TENANT_TABLES {
        let extra = match *table {
            // A user sees their own memberships in every workspace (the workspace list).
            "members" => Some(me),
            // A holder of an API key or invitation token may find its row by digest.
            "api_keys" | "invitations" => Some(token),
            _ => None,
        };
        super::enable_rls(conn, table, extra).await?;
    }
    conn.execute_unprepared(
        "CREATE FUNCTION nexus_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;
         CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
         FOR EACH ROW EXECUTE FUNCTION nexus_audit_append_only();",
    )
    .await?;
    Ok(())
}
