//! Group commit: many writers' transactions made durable by one fsync.
//!
//! With `synchronous=FULL` every SQLite commit syncs the WAL, and one
//! connection commits one transaction at a time, so a busy host spends its
//! store time waiting on the disk, one transition per fsync. Here writes are
//! jobs sent to one writer thread. While it syncs one batch the next one
//! queues; it then runs the whole queue in one `BEGIN IMMEDIATE … COMMIT`,
//! each job inside a savepoint of its own, and answers every job only after
//! the commit is on disk.
//!
//! What each caller sees is what it saw with a transaction of its own: its
//! job runs alone on the connection (jobs run one after the other, each sees
//! the earlier jobs' writes), a job that fails is rolled back to its savepoint
//! without touching the others, and nothing is reported done before it is
//! durable. If the commit itself fails, every job of the batch gets the error
//! and nothing of it was written, which the callers treat like any failed
//! write: retry, or answer that the request may be retried.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::store_error::StoreError;

/// The most jobs one commit carries: bounds how long the writer holds the
/// connection, so readers on it are not starved.
const MAX_BATCH: usize = 256;

/// Jobs that may wait for the writer before senders block.
const QUEUE: usize = 4096;

/// How a job's caller is answered once the commit's outcome is known.
type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

/// One caller's write, type-erased for the queue.
trait Job: Send {
    /// Runs the statements: whether they succeeded (so the savepoint is
    /// kept), and the reply to send after the commit.
    fn run(self: Box<Self>, connection: &Connection) -> (bool, Reply);

    /// Answers with `error` without running: the batch could not begin.
    fn refuse(self: Box<Self>, error: &rusqlite::Error);
}

type Outcome<R> = std::thread::Result<Result<R, StoreError>>;

/// Where a job's outcome goes: a blocked thread, or an awaiting task.
enum Answer<R> {
    Blocking(SyncSender<Outcome<R>>),
    Async(tokio::sync::oneshot::Sender<Outcome<R>>),
}

impl<R> Answer<R> {
    fn send(self, outcome: Outcome<R>) {
        // The caller may have given up (its task was aborted): then nobody
        // is left to tell.
        let _ = match self {
            Answer::Blocking(sender) => sender.send(outcome).map_err(drop),
            Answer::Async(sender) => sender.send(outcome).map_err(drop),
        };
    }
}

struct Typed<F, R> {
    op: F,
    answer: Answer<R>,
}

impl<F, R> Job for Typed<F, R>
where
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send,
    R: Send + 'static,
{
    fn run(self: Box<Self>, connection: &Connection) -> (bool, Reply) {
        let Typed { op, answer } = *self;
        let outcome = catch_unwind(AssertUnwindSafe(|| op(connection)));
        let ok = matches!(outcome, Ok(Ok(_)));
        let reply = move |commit_error: Option<&rusqlite::Error>| {
            let outcome = match (outcome, commit_error) {
                (Ok(Ok(_)), Some(error)) => Ok(Err(StoreError::Database(copy(error)))),
                (outcome, _) => outcome,
            };
            answer.send(outcome);
        };
        (ok, Box::new(reply))
    }

    fn refuse(self: Box<Self>, error: &rusqlite::Error) {
        self.answer.send(Ok(Err(StoreError::Database(copy(error)))));
    }
}

/// The sending side of the writer thread; the thread ends when this is dropped.
pub(crate) struct GroupCommit {
    jobs: SyncSender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the writer thread on `connection`, which others may lock too
    /// (reads, and writes that need a transaction of their own).
    pub(crate) fn start(connection: Arc<Mutex<Connection>>) -> GroupCommit {
        let (jobs, queue) = sync_channel::<Box<dyn Job>>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("corridor-writer".into())
            .spawn(move || write_batches(&connection, &queue));
        if let Err(error) = spawned {
            panic!("cannot start the database writer thread: {error}");
        }
        GroupCommit { jobs }
    }

    /// Runs `op` in the next batch and returns its result once the batch is
    /// durable. Blocks the calling thread: call it from the blocking pool.
    /// `op` must not lock the database itself (the writer holds it).
    pub(crate) fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (answer, answered) = sync_channel(1);
        self.enqueue(Box::new(Typed {
            op,
            answer: Answer::Blocking(answer),
        }));
        match answered.recv() {
            Ok(outcome) => unwind(outcome),
            Err(_) => unreachable!("the writer answers every job it takes"),
        }
    }

    /// [`GroupCommit::write`] for async callers: no thread waits, the task
    /// is woken when the batch is durable.
    pub(crate) async fn write_async<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.enqueue(Box::new(Typed {
            op,
            answer: Answer::Async(answer),
        }));
        match answered.await {
            Ok(outcome) => unwind(outcome),
            Err(_) => unreachable!("the writer answers every job it takes"),
        }
    }

    fn enqueue(&self, mut job: Box<dyn Job>) {
        loop {
            match self.jobs.try_send(job) {
                Ok(()) => return,
                Err(TrySendError::Full(returned)) => {
                    // Thousands of writes queued: the disk is the limit; wait
                    // a moment rather than grow the queue without bound.
                    job = returned;
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                Err(TrySendError::Disconnected(_)) => {
                    unreachable!("the writer thread lives as long as the database")
                }
            }
        }
    }
}

/// A job's result, or its panic resumed in the caller.
fn unwind<R>(outcome: Outcome<R>) -> Result<R, StoreError> {
    match outcome {
        Ok(result) => result,
        Err(panic) => resume_unwind(panic),
    }
}

/// The writer thread: a batch per loop, until every sender is gone.
fn write_batches(connection: &Mutex<Connection>, queue: &Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let connection = connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        commit_batch(&connection, batch);
    }
}

/// One transaction for `batch`, a savepoint per job; every job answered
/// after the commit (or its failure).
fn commit_batch(connection: &Connection, batch: Vec<Box<dyn Job>>) {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        for job in batch {
            job.refuse(&error);
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        let began = run(connection, "SAVEPOINT job");
        let (ok, reply) = match began {
            Ok(()) => job.run(connection),
            Err(error) => {
                job.refuse(&error);
                continue;
            }
        };
        let ended = if ok {
            run(connection, "RELEASE job")
        } else {
            run(connection, "ROLLBACK TO job").and_then(|()| run(connection, "RELEASE job"))
        };
        if let Err(error) = ended {
            tracing::error!(%error, "cannot end a job's savepoint");
        }
        replies.push(reply);
    }
    let committed = connection.execute_batch("COMMIT");
    if committed.is_err() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    metrics::histogram!("corridor_commit_batch_jobs").record(replies.len() as f64);
    let error = committed.err();
    for reply in replies {
        reply(error.as_ref());
    }
}

/// Runs one of the batch's own statements, parsed once per connection.
fn run(connection: &Connection, statement: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(statement)?.execute([])?;
    Ok(())
}

/// A copy of a commit's error for each job of the batch (the error type is not `Clone`).
fn copy(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::database::Database;
    use crate::store_error::StoreError;

    fn database() -> (tempfile::TempDir, Arc<Database>) {
        let folder = tempfile::tempdir().expect("temp dir");
        let database = Database::open(&folder.path().join("t.db")).expect("open");
        database
            .lock()
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .expect("table");
        (folder, Arc::new(database))
    }

    fn count(database: &Database) -> i64 {
        database
            .read()
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .expect("count")
    }

    #[test]
    fn writes_from_many_threads_all_land_and_each_sees_its_own_result() {
        let (_folder, database) = database();
        let writers: Vec<_> = (0..64)
            .map(|n| {
                let database = database.clone();
                std::thread::spawn(move || {
                    database.write(move |connection| {
                        connection.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        Ok(n * 2)
                    })
                })
            })
            .collect();
        let results: Vec<i64> = writers
            .into_iter()
            .map(|writer| writer.join().expect("thread").expect("write"))
            .collect();
        assert_eq!(results, (0..64).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(count(&database), 64);
    }

    #[test]
    fn a_failed_job_leaves_nothing_and_its_batch_neighbours_are_kept() {
        let (_folder, database) = database();
        database
            .write(|connection| Ok(connection.execute("INSERT INTO t (n) VALUES (1)", [])?))
            .expect("first");
        let failed = database.write(|connection| {
            connection.execute("INSERT INTO t (n) VALUES (2)", [])?;
            // A duplicate key: the job fails after one of its writes.
            connection.execute("INSERT INTO t (n) VALUES (1)", [])?;
            Ok(())
        });
        assert!(matches!(failed, Err(StoreError::Database(_))));
        database
            .write(|connection| Ok(connection.execute("INSERT INTO t (n) VALUES (3)", [])?))
            .expect("third");
        let kept: Vec<i64> = database
            .read()
            .prepare("SELECT n FROM t ORDER BY n")
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(kept, [1, 3]);
    }

    #[test]
    fn a_panicking_job_panics_its_caller_and_the_writer_goes_on() {
        let (_folder, database) = database();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            database.write(|connection| -> Result<(), StoreError> {
                connection.execute("INSERT INTO t (n) VALUES (7)", [])?;
                panic!("a bug in a job");
            })
        }));
        assert!(panicked.is_err());
        database
            .write(|connection| Ok(connection.execute("INSERT INTO t (n) VALUES (8)", [])?))
            .expect("the writer still writes");
        assert_eq!(count(&database), 1);
    }
}
