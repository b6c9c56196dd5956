//! Answers' final saves on their way to the database: on PostgreSQL a queue that one
//! writer task empties in groups, each group one query (see [`FinalSaves`]); on SQLite
//! each save written by its answer's own task.

use nexus_kernel::db::{Db, Engine, Group, Write, committed_nothing};
use sea_orm::DbErr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

use super::FinalSave;
use crate::usage::quota;

/// Answers' final saves, written together on PostgreSQL: whichever wait while one group
/// is being written go out as the next group, in one round trip and two transactions
/// (see [`Db::commit_groups`]). With 500 answers streaming, 800 of them end each second,
/// and one by one each final save cost PostgreSQL two transactions of its own. An
/// answer ending alone is written at once, as before. On SQLite each is written alone
/// (see [`grouped`]).
#[derive(Default)]
pub struct FinalSaves {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// The writer task is running; there is at most one.
    writing: bool,
}

/// A final save, and where its result goes.
struct Waiting {
    save: FinalSave,
    /// The bytes of SQL it adds to a group's query, at most ([`FinalSave::sql_size`]).
    size: usize,
    done: oneshot::Sender<Written>,
}

enum Written {
    /// Written, or failed: how many rows the answer's update changed.
    Done(Result<u64, DbErr>),
    /// The writer stopped before it took this save: nothing of it was sent.
    NotAttempted(Box<FinalSave>),
}

/// Final saves in one group at most on PostgreSQL: a group is one query.
const PER_GROUP: usize = 64;

/// A group's query stays under about this many bytes of SQL, unless one save alone is
/// larger. sqlx 0.9.0 leaves Nagle's algorithm on for its TCP connections (an upstream
/// regression, fixed there but not yet released), so a query larger than the socket's
/// send buffer (16 KiB to start with on Linux) goes out in two parts, the second held
/// back until PostgreSQL acknowledges the first, which it delays by 40 ms. Groups of
/// up to 64 measured 20 to 60 KiB and took 45 to 55 ms each, almost all of it that
/// wait, at PostgreSQL 500 held open. The margin below 16 KiB is for what
/// [`FinalSave::sql_size`] leaves out: the `PREPARE`s a connection sends with its first
/// use of each statement (about 2 KiB).
const GROUP_BYTES: usize = 12 * 1024;

/// Whether final saves are grouped: on PostgreSQL, yes. On SQLite, no: its transactions
/// cost little, but its writers take turns, and a message's save (which the message's
/// first token waits for) would wait behind a whole group instead of one final save.
/// Grouped, SQLite at 500 held open added 150 to 170 ms to the first token (p95) where
/// it had added 26 to 46; so there each final save is written by its own answer's task,
/// as before.
fn grouped(db: &Db) -> bool {
    db.engine() == Engine::Postgres
}

impl FinalSaves {
    /// Write `save` with whichever others are waiting; the rows the answer's update
    /// changed. Whatever happens to the save, the quota is settled.
    pub(super) async fn write(self: &Arc<Self>, db: &Db, save: FinalSave) -> Result<u64, DbErr> {
        if !grouped(db) {
            return write_alone(db, &save).await;
        }
        let (done, written) = oneshot::channel();
        let size = save.sql_size();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push(Waiting { save, size, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start {
            // Made before the task, so that a task dropped before it first runs (the
            // runtime shutting down) still gives the writer's place up.
            let running = Running(Some(self.clone()));
            let db = db.clone();
            tokio::spawn(async move { write_until_none_left(running, db).await });
        }
        match written.await {
            Ok(Written::Done(result)) => result,
            Ok(Written::NotAttempted(save)) => write_alone(db, &save).await,
            // The writer stopped (a panic) while writing this save's group: whether it
            // committed is not known.
            Err(_) => Err(DbErr::Custom("the final save's writer stopped".into())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn write_until_none_left(mut running: Running, db: Db) {
    let Some(saves) = running.0.clone() else {
        return;
    };
    loop {
        let mut group = {
            let mut queue = saves.lock();
            if queue.waiting.is_empty() {
                queue.writing = false;
                running.0 = None;
                return;
            }
            let n = group_size(queue.waiting.iter().map(|w| w.size));
            queue.waiting.drain(..n).collect::<Vec<_>>()
        };
        // Every writer takes rows in the same order, so that no two transactions wait
        // on each other: workspaces' quota rows (another replica's group may hold some),
        // then conversations, then answers by id, the order a checkpoint's index scan
        // meets them in. Should a deadlock end the group's transaction nonetheless, or a
        // lock be held long (see `Db::commit_groups`), each save is written alone.
        group.sort_by_key(|w| {
            (
                w.save.scope.workspace_id,
                w.save.conversation_id,
                w.save.answer_id,
            )
        });
        let list: Vec<&FinalSave> = group.iter().map(|w| &w.save).collect();
        let results = write_group(&db, &list).await;
        for (waiting, result) in group.into_iter().zip(results) {
            let _ = waiting.done.send(Written::Done(result));
        }
    }
}

/// How many of the waiting saves (their sizes, in order) make the next group: at most
/// [`PER_GROUP`], within [`GROUP_BYTES`] of SQL, and at least one if any wait.
fn group_size(sizes: impl ExactSizeIterator<Item = usize>) -> usize {
    let waiting = sizes.len();
    let mut bytes = 0;
    let fits = sizes
        .take(PER_GROUP)
        .take_while(|size| {
            bytes += size;
            bytes <= GROUP_BYTES
        })
        .count();
    fits.max(1).min(waiting)
}

/// Marks the writer stopped if its task ends other than by finding nothing left (a
/// panic), and hands the saves still waiting back to their answers' tasks, which write
/// them alone.
struct Running(Option<Arc<FinalSaves>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(saves) = self.0.take() {
            let waiting = {
                let mut queue = saves.lock();
                queue.writing = false;
                std::mem::take(&mut queue.waiting)
            };
            for w in waiting {
                let _ = w.done.send(Written::NotAttempted(Box::new(w.save)));
            }
        }
    }
}

/// Each save's result, in order: one query for all of them, the settlements of each
/// workspace's (and member's) counters summed into one statement
/// ([`quota::settle_together`]); if that fails having surely committed nothing of what
/// failed, each again on its own, so one save's failure is only its own.
async fn write_group(db: &Db, saves: &[&FinalSave]) -> Vec<Result<u64, DbErr>> {
    if let [save] = saves {
        return vec![write_alone(db, save).await];
    }
    let each: Vec<_> = saves.iter().map(|s| (&s.reservation, s.charged)).collect();
    let settlements = quota::settle_together(&each);
    let writes: Vec<Vec<Write<'_>>> = saves.iter().map(|save| save.writes()).collect();
    let groups: Vec<Group<'_>> = saves
        .iter()
        .zip(&settlements)
        .zip(&writes)
        .map(|((save, first), then)| Group {
            scope: save.scope,
            first,
            then,
        })
        .collect();
    let mut results = Vec::with_capacity(saves.len());
    match db.commit_groups(true, &groups).await {
        Ok((_, Ok(changed))) => {
            results.extend(changed.iter().map(|c| Ok(answer_changed(c))));
        }
        // Every settlement committed; the writes did not.
        Ok((_, Err(err))) if committed_nothing(&err) => {
            tracing::warn!(error = ?err, "a group of final saves failed; saving each alone");
            for (save, group) in saves.iter().zip(&groups) {
                let saved = db.write_and_commit(group.scope, group.then).await;
                if saved.is_err() {
                    save.release_row(db).await;
                }
                results.push(saved.map(|c| answer_changed(&c)));
            }
        }
        // Nothing committed.
        Err(err) if committed_nothing(&err) => {
            tracing::warn!(error = ?err, "a group of final saves failed; saving each alone");
            for save in saves {
                results.push(write_alone(db, save).await);
            }
        }
        // The connection was lost on the way: the writes may have committed, so they
        // are not sent again (as for a save written alone, see `write_alone`).
        Ok((_, Err(err))) => {
            for save in saves {
                save.release_row(db).await;
                results.push(Err(unknown(&err)));
            }
        }
        Err(err) => {
            for save in saves {
                save.settle_alone(db).await;
                results.push(Err(unknown(&err)));
            }
        }
    }
    results
}

/// A group's failure, for each of its saves.
fn unknown(err: &DbErr) -> DbErr {
    DbErr::Custom(format!("a group of final saves failed: {err}"))
}

/// One save as a group of its own. On PostgreSQL the settlement commits first, on its
/// own (relaxed, like the reservation: see [`quota::reserve`]); on SQLite it is one
/// more statement of the save (see [`quota::folds_into_writes`]). If it never commits,
/// it is made on its own.
async fn write_alone(db: &Db, save: &FinalSave) -> Result<u64, DbErr> {
    let (settlement, writes) = (save.settlement(), save.writes());
    let group = Group {
        scope: save.scope,
        first: &settlement,
        then: &writes,
    };
    match db.commit_groups(true, &[group]).await {
        Ok((_, Ok(mut changed))) => Ok(answer_changed(&changed.pop().unwrap_or_default())),
        // Settled, and the answer not saved (or not surely).
        Ok((_, Err(err))) => {
            save.release_row(db).await;
            Err(err)
        }
        Err(err) => {
            save.settle_alone(db).await;
            Err(err)
        }
    }
}

/// The rows the answer's own update (a save's first write) changed.
fn answer_changed(changed: &[u64]) -> u64 {
    changed.first().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::SAVE_OVERHEAD;
    use super::*;

    /// A group is as many saves as fit its bytes, 64 at most, and one however large.
    #[test]
    fn a_group_takes_what_fits_its_query() {
        let sizes = |list: &[usize]| group_size(list.iter().copied());
        assert_eq!(sizes(&[]), 0);
        assert_eq!(sizes(&[SAVE_OVERHEAD; 100]), GROUP_BYTES / SAVE_OVERHEAD);
        assert_eq!(sizes(&[1; 100]), PER_GROUP);
        assert_eq!(sizes(&[GROUP_BYTES * 3, 1, 1]), 1);
        assert_eq!(sizes(&[1, GROUP_BYTES, 1]), 1);
        assert_eq!(sizes(&[GROUP_BYTES / 2, GROUP_BYTES / 2, 1]), 2);
    }
}
