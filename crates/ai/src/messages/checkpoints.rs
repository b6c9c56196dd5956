//! Checkpoints of answers while they stream, so that a crash keeps what had arrived.
//!
//! Each streaming answer offers its text (and a reasoning model's thoughts) so far about
//! once a second; one writer task writes what was offered, one UPDATE per workspace (a
//! statement is scoped to one workspace: row-level security) and per [`PER_STATEMENT`]
//! answers. Written one by
//! one, 500 answers streaming at once cost PostgreSQL 500 transactions a second (a third
//! of the machine in the benchmark); gathered, a few. The commits do not wait for the
//! disk: a crash of Nexus loses none of it, a crash of PostgreSQL at most the last
//! fraction of a second (see [`nexus_kernel::db::Tx::relax_durability`]). The final save
//! is durable and does not wait for this.

use chrono::Utc;
use nexus_kernel::db::{Db, Scope};
use sea_orm::sea_query::{CaseStatement, Expr, UpdateStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

use crate::entities::message;

/// How long the writer lets offers gather before it writes them.
const GATHER: Duration = Duration::from_millis(250);
/// Answers per statement: its `CASE` is checked for each row it updates.
const PER_STATEMENT: usize = 100;

#[derive(Default)]
pub struct Checkpoints {
    pending: Mutex<Pending>,
}

/// An answer as far as it has streamed.
pub struct Partial {
    pub content: String,
    /// A reasoning model's thoughts; empty for other models.
    pub reasoning: String,
}

#[derive(Default)]
struct Pending {
    /// Workspace → answer → what it has so far, not yet written.
    answers: HashMap<Uuid, HashMap<Uuid, Partial>>,
    /// The writer task is running. There is at most one: two could write an answer's
    /// texts out of order.
    writing: bool,
}

impl Checkpoints {
    /// Keep `partial` as the answer's checkpoint (replacing one not yet written), and
    /// start the writer if it is not running.
    pub fn offer(self: &Arc<Self>, db: &Db, workspace_id: Uuid, answer_id: Uuid, partial: Partial) {
        let start = {
            let mut pending = self.lock();
            pending
                .answers
                .entry(workspace_id)
                .or_default()
                .insert(answer_id, partial);
            !std::mem::replace(&mut pending.writing, true)
        };
        if start {
            let (this, db) = (self.clone(), db.clone());
            tokio::spawn(async move { this.write_until_none_left(db).await });
        }
    }

    /// The answer's final save comes next: drop its checkpoint if not yet written. One
    /// being written changes nothing once the final save has run (it only touches an
    /// answer still `streaming`).
    pub fn forget(&self, workspace_id: Uuid, answer_id: Uuid) {
        let mut pending = self.lock();
        if let Some(answers) = pending.answers.get_mut(&workspace_id) {
            answers.remove(&answer_id);
            if answers.is_empty() {
                pending.answers.remove(&workspace_id);
            }
        }
    }

    async fn write_until_none_left(&self, db: Db) {
        // Whatever ends this task (a panic included), the next offer starts another.
        let mut running = Running(Some(self));
        loop {
            tokio::time::sleep(GATHER).await;
            let batch = {
                let mut pending = self.lock();
                if pending.answers.is_empty() {
                    pending.writing = false;
                    running.0 = None;
                    return;
                }
                std::mem::take(&mut pending.answers)
            };
            for (workspace_id, answers) in batch {
                let answers: Vec<(Uuid, Partial)> = answers.into_iter().collect();
                for some in answers.chunks(PER_STATEMENT) {
                    let scope = Scope {
                        workspace_id,
                        user_id: None,
                    };
                    if let Err(err) = db
                        .single_update(scope, true, &update(workspace_id, some))
                        .await
                    {
                        tracing::warn!(error = ?err, "could not checkpoint streaming answers");
                    }
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Marks the writer stopped if its task ends other than by finding nothing left.
struct Running<'a>(Option<&'a Checkpoints>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(checkpoints) = self.0 {
            checkpoints.lock().writing = false;
        }
    }
}

/// One statement setting each answer's text, for answers of one workspace still streaming;
/// and their thoughts, when any of them has some (most answers have none, and the
/// statement stays as small as it was for them).
fn update(workspace_id: Uuid, answers: &[(Uuid, Partial)]) -> UpdateStatement {
    let mut content = CaseStatement::new();
    for (id, partial) in answers {
        content = content.case(
            message::Column::Id.eq(*id),
            Expr::value(partial.content.as_str()),
        );
    }
    let mut update = message::Entity::update_many().col_expr(
        message::Column::Content,
        content.finally(Expr::col(message::Column::Content)).into(),
    );
    let mut thinking = answers
        .iter()
        .filter(|(_, p)| !p.reasoning.is_empty())
        .peekable();
    if thinking.peek().is_some() {
        let mut reasoning = CaseStatement::new();
        for (id, partial) in thinking {
            reasoning = reasoning.case(
                message::Column::Id.eq(*id),
                Expr::value(partial.reasoning.as_str()),
            );
        }
        update = update.col_expr(
            message::Column::Reasoning,
            reasoning
                .finally(Expr::col(message::Column::Reasoning))
                .into(),
        );
    }
    update
        .col_expr(message::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(message::Column::WorkspaceId.eq(workspace_id))
        .filter(message::Column::Id.is_in(answers.iter().map(|(id, _)| *id)))
        .filter(message::Column::Status.eq("streaming"))
        .into_query()
}
