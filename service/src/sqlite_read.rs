//! Reading `student` from a SQLite file with rusqlite, for `list`.
//!
//! sqlx's SQLite driver hands every row across threads one at a time, which costs about five
//! times what `sqlite3` itself spends per row. Here one blocking thread steps the statement
//! and sends rows in batches over a bounded channel: the same streaming, with memory bounded
//! by the channel (a few batches), at close to SQLite's own speed.

use std::path::{Path, PathBuf};

use entity::student;
use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::{Connection, OpenFlags};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

/// How long the reader waits for a writer that is committing (readers never wait otherwise).
const READER_BUSY_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(settings::DEFAULT_BUSY_TIMEOUT);
use crate::error::{Error, Result};

/// Rows per message from the reader thread.
const BATCH_ROWS: usize = 1_024;
/// Batches in flight: what bounds memory when stdout is slower than the disk.
const BATCHES_IN_FLIGHT: usize = 4;

type Batch = std::result::Result<Vec<student::Model>, String>;

/// The database file behind `db`, when it is one rusqlite can open on its own (not in-memory).
pub(crate) fn file_of(db: &DatabaseConnection) -> Option<PathBuf> {
    let options = db.get_sqlite_connection_pool().connect_options();
    let path = options.get_filename();
    let name = path.to_string_lossy();
    // sqlx names in-memory databases `file:sqlx-in-memory-…`; those live in its own connections.
    (!name.is_empty() && name != ":memory:" && !name.starts_with("file:")).then(|| path.to_owned())
}

/// All students of the SQLite file at `path` ordered by id, read on a blocking thread.
pub(crate) async fn stream_students(
    db: &DatabaseConnection,
    path: PathBuf,
) -> Result<BoxStream<'static, Result<student::Model>>> {
    let (rows_tx, rows_rx) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    let (ready_tx, ready_rx) = oneshot::channel::<std::result::Result<(), String>>();
    tokio::task::spawn_blocking(move || read(&path, &rows_tx, ready_tx));
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(message)) => return Err(crate::classify::on_student_message(db, message).await),
        Err(_) => {
            return Err(Error::Database(
                "the SQLite reader stopped before starting".into(),
            ));
        }
    }
    let batches = stream::unfold(
        rows_rx,
        |mut rx| async move { rx.recv().await.map(|b| (b, rx)) },
    );
    Ok(batches
        .flat_map(|batch| match batch {
            Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
            Err(message) => stream::iter([Err(Error::Database(message))]).right_stream(),
        })
        .boxed())
}

/// Steps `SELECT … ORDER BY id` and sends batches until done or until nobody listens.
fn read(
    path: &Path,
    rows: &mpsc::Sender<Batch>,
    ready: oneshot::Sender<std::result::Result<(), String>>,
) {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e) => {
            let _receiver_gone = ready.send(Err(e.to_string()));
            return;
        }
    };
    let prepared = conn
        .busy_timeout(READER_BUSY_TIMEOUT)
        .and_then(|()| conn.prepare("SELECT id, s_name, s_age, s_score FROM student ORDER BY id"));
    let mut statement = match prepared {
        Ok(statement) => statement,
        Err(e) => {
            let _receiver_gone = ready.send(Err(e.to_string()));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    let mut cursor = match statement.query([]) {
        Ok(cursor) => cursor,
        Err(e) => {
            let _receiver_gone = rows.blocking_send(Err(e.to_string()));
            return;
        }
    };
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    loop {
        let row = match cursor.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                let _receiver_gone = rows.blocking_send(Err(e.to_string()));
                return;
            }
        };
        let decoded = (|| {
            Ok::<_, rusqlite::Error>(student::Model {
                id: row.get(0)?,
                s_name: row.get(1)?,
                s_age: row.get(2)?,
                // REAL is double precision; the column is a single-precision FLOAT.
                s_score: row.get::<_, f64>(3)? as f32,
            })
        })();
        match decoded {
            Ok(model) => batch.push(model),
            Err(e) => {
                let _receiver_gone = rows.blocking_send(Err(e.to_string()));
                return;
            }
        }
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if rows.blocking_send(Ok(full)).is_err() {
                // The consumer went away (`cli list | head`): stop reading.
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _receiver_gone = rows.blocking_send(Ok(batch));
    }
}
