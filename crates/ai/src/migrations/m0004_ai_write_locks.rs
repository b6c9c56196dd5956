//! PostgreSQL only: the tables written by every message stop referencing their workspace's
//! row, so that messages stop queueing on it.
//!
//! A foreign key check locks the referenced row (`FOR KEY SHARE`) until the inserting
//! transaction ends. Every message inserted rows into `messages` and `ai_usage` (and on a
//! cache miss `ai_cache`) under a key to `workspaces`, so every message in flight in one
//! workspace held a lock on the same row, and PostgreSQL keeps many holders of one row's
//! lock as a multixact that each new holder and each reader of that row must walk: in
//! `bench/AI_RESULTS.md`'s 500 streams held open, `perf` found 12% of the machine's time
//! in `GetMultiXactIdMembers`, and without these keys PostgreSQL's share of the machine
//! fell from 58% to 42% and a third more streams got through.
//!
//! What the keys guarded still holds without them: a workspace is never deleted (only
//! marked), every write is scoped to a workspace the caller belongs to, and row-level
//! security checks each row's `workspace_id` against that scope. A message now references
//! its conversation instead, which is stronger (no message outlives its conversation,
//! `ON DELETE CASCADE`) and locks that conversation's row, which the same transaction
//! has already locked by updating it. Existing rows are not checked (`NOT VALID`): a
//! message left behind by a delete racing a send must not stop the upgrade.
//!
//! SQLite keeps its keys: it runs one write at a time whatever the keys, checks them
//! without locking rows, and can change a table's keys only by rebuilding the table.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_ai_write_locks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        if conn.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // The keys were created unnamed, so find them by what they reference.
        conn.execute_unprepared(
            "DO $$
             DECLARE k record;
             BEGIN
               FOR k IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
                        WHERE contype = 'f' AND confrelid = 'workspaces'::regclass
                          AND conrelid IN ('messages'::regclass, 'ai_usage'::regclass,
                                           'ai_cache'::regclass)
               LOOP
                 EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', k.tbl, k.conname);
               END LOOP;
             END $$;
             ALTER TABLE messages ADD CONSTRAINT messages_conversation_fkey
               FOREIGN KEY (workspace_id, conversation_id)
               REFERENCES conversations (workspace_id, id) ON DELETE CASCADE NOT VALID;",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
