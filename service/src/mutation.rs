//! Every write to `student`: one row, many rows, and random rows.

use std::collections::HashSet;
use std::time::Duration;

use entity::student;
use sea_orm::sea_query::{Alias, InsertStatement, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, SqliteTransactionMode,
    SqlxMySqlConnector, Statement, TransactionOptions, TransactionTrait,
};

use crate::classify;
use crate::error::{Error, Result};
use crate::names::StudentGenerator;
use crate::validate::{NewStudent, count_rule};

/// Bind parameters one statement may carry: MySQL/MariaDB and PostgreSQL take 65,535,
/// SQLite (since 3.32) 32,766.
pub fn max_bind_params(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Sqlite => 32_766,
        _ => 65_535,
    }
}

/// Columns bound per inserted row (`s_name`, `s_age`, `s_score`).
const PARAMS_PER_ROW: usize = 3;

/// Rows sent in one INSERT on `backend`, chosen by measurement (`bench/run.sh`, 1M rows) and
/// never over the backend's bind-parameter limit.
///
/// MariaDB takes 4.7-5.2 s for any size from 500 to 21,845 rows, with 2,000 among the
/// fastest; larger statements only cost client memory. SQLite, with rows sorted by name, gets
/// faster up to its limit (2,000: 6.0 s, 5,000: 4.5 s, 10,922: 3.4 s), because fewer, longer
/// ordered runs touch each index page fewer times.
pub fn rows_per_statement(backend: DbBackend) -> usize {
    let preferred = match backend {
        DbBackend::Sqlite => 10_000,
        _ => 2_000,
    };
    preferred.min(max_rows_per_statement(backend))
}

/// The most rows one INSERT can carry on `backend`.
pub fn max_rows_per_statement(backend: DbBackend) -> usize {
    max_bind_params(backend) / PARAMS_PER_ROW
}

/// Checks a requested number of rows per INSERT against `backend`'s bind-parameter limit;
/// callers can check it before connecting, since the backend is known from the URL.
pub fn rows_per_statement_rule(backend: DbBackend, n: usize) -> Result<usize> {
    let max = max_rows_per_statement(backend);
    if (1..=max).contains(&n) {
        return Ok(n);
    }
    Err(Error::invalid(
        "rows per statement",
        n,
        format!(
            "1 to {max} on this backend ({} bind parameters per statement, {PARAMS_PER_ROW} per row)",
            max_bind_params(backend)
        ),
    ))
}

/// What `seed` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedOptions {
    /// New rows to add; at least 1.
    pub count: u64,
    /// Seed for the generator; `None` draws one from the OS.
    pub rng_seed: Option<u64>,
    /// Rows per INSERT; `None` picks the measured default for the backend.
    pub rows_per_statement: Option<usize>,
}

impl SeedOptions {
    /// `count` random rows with the defaults.
    pub fn new(count: u64) -> Self {
        SeedOptions {
            count,
            rng_seed: None,
            rows_per_statement: None,
        }
    }
}

/// How many times a write is tried in all when the database picks it as a deadlock victim
/// (or Galera refuses its COMMIT after a conflict with another node).
const WRITE_ATTEMPTS: u32 = 10;

/// Waits before try `attempt` (2, 3, …): 25 ms doubling up to 2 s, with jitter, so that two
/// writers that deadlocked each other do not start again at the same moment.
async fn backoff(attempt: u32) {
    let ceiling = Duration::from_millis(25)
        .saturating_mul(1 << attempt.saturating_sub(2).min(7))
        .min(Duration::from_secs(2));
    tokio::time::sleep(ceiling.mul_f64(rand::random_range(0.5..=1.0))).await;
}

/// Why one try of a write failed; its transaction has rolled back.
enum Failure {
    /// The database refused a statement.
    Db(DbErr),
    /// A check of ours refused to commit; this is what to report.
    Refused(Error),
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Failure::Db(e)
    }
}

impl Failure {
    /// Whether the whole transaction may be tried again.
    fn is_retryable(&self) -> bool {
        matches!(self, Failure::Db(e) if classify::is_retryable(e))
    }

    /// What to tell the user; `db` answers whether the table exists.
    async fn into_error(self, db: &DatabaseConnection) -> Error {
        match self {
            Failure::Refused(e) => e,
            Failure::Db(e) if classify::is_ids_exhausted(&e) => {
                Error::IdsExhausted(classify::message(&e))
            }
            Failure::Db(e) => classify::on_student(db, e).await,
        }
    }
}

/// Inserts one student and returns the stored row with its new id.
///
/// The insert and the read-back are one transaction that commits only when both worked, so
/// an error always means nothing was stored. (On SQLite an insert outside a transaction can
/// report its row and then fail to commit it, silently, when another process is reading.)
pub async fn add_student(db: &DatabaseConnection, new: &NewStudent) -> Result<student::Model> {
    let mut attempt = 1;
    loop {
        match add_student_once(db, new).await {
            Ok(row) => return Ok(row),
            Err(f) if f.is_retryable() && attempt < WRITE_ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
            }
            Err(Failure::Db(e)) if classify::is_duplicate_name(&e) => {
                return Err(Error::DuplicateName(new.name.clone()));
            }
            Err(f) => return Err(f.into_error(db).await),
        }
    }
}

async fn add_student_once(
    db: &DatabaseConnection,
    new: &NewStudent,
) -> Result<student::Model, Failure> {
    let backend = db.get_database_backend();
    let tx = begin_write(db).await?;
    let mut insert = insert_query(std::slice::from_ref(new))?;
    let id: i64 = match backend {
        DbBackend::MySql => {
            let id = tx
                .execute_raw(backend.build(&insert))
                .await?
                .last_insert_id();
            i64::try_from(id).unwrap_or(i64::MAX)
        }
        _ => {
            insert.returning_col(Alias::new("id"));
            // `query_all` steps the statement to its end, so every error reaches us.
            let rows = tx.query_all_raw(backend.build(&insert)).await?;
            let row = rows.first().ok_or_else(|| DbErr::RecordNotInserted)?;
            if backend == DbBackend::Postgres {
                i64::from(row.try_get::<i32>("", "id")?)
            } else {
                // SQLite's INTEGER holds 64 bits: another program may have used ids past 2³¹.
                row.try_get::<i64>("", "id")?
            }
        }
    };
    let id = i32::try_from(id).map_err(|_| {
        Failure::Refused(Error::IdsExhausted(format!(
            "the next id, {id}, does not fit the 32-bit `id` column"
        )))
    })?;
    let row = student::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("the new student {id} was not found")))?;
    tx.commit().await?;
    Ok(row)
}

/// Inserts all `students` in one transaction: every row, or none when any name is taken.
pub async fn add_students(db: &DatabaseConnection, students: &[NewStudent]) -> Result<u64> {
    let mut seen = HashSet::with_capacity(students.len());
    if let Some(dup) = students.iter().find(|s| !seen.insert(s.name.as_str())) {
        return Err(Error::DuplicateName(dup.name.clone()));
    }
    let mut attempt = 1;
    loop {
        match add_students_once(db, students).await {
            Ok(n) => return Ok(n),
            Err(f) if f.is_retryable() && attempt < WRITE_ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
            }
            Err(Failure::Db(e)) if classify::is_duplicate_name(&e) => {
                return Err(taken_name(db, students).await);
            }
            Err(f) => return Err(f.into_error(db).await),
        }
    }
}

async fn add_students_once(
    db: &DatabaseConnection,
    students: &[NewStudent],
) -> Result<u64, Failure> {
    let backend = db.get_database_backend();
    let tx = begin_write(db).await?;
    let mut added = 0;
    for chunk in students.chunks(rows_per_statement(backend)) {
        added += tx
            .execute_raw(insert_statement(backend, chunk, false)?)
            .await?
            .rows_affected();
    }
    ids_fit(&tx).await?;
    tx.commit().await?;
    Ok(added)
}

/// After a rolled-back bulk insert, names the first student whose name is already stored.
async fn taken_name(db: &DatabaseConnection, students: &[NewStudent]) -> Error {
    for chunk in students.chunks(1_000) {
        let names = chunk.iter().map(|s| s.name.clone());
        let found: Result<Option<String>, DbErr> = student::Entity::find()
            .select_only()
            .column(student::Column::SName)
            .filter(student::Column::SName.is_in(names))
            .into_tuple()
            .one(db)
            .await;
        match found {
            Ok(Some(name)) => return Error::DuplicateName(name),
            Ok(None) => {}
            Err(e) => return classify::other(e),
        }
    }
    // Taken by a concurrent writer that has since let go of it: still a duplicate.
    Error::Database("a name was taken by another writer while adding; nothing was added".into())
}

/// On SQLite, refuses to commit rows whose ids do not fit the 32-bit `id` column: its INTEGER
/// holds 64 bits, so after another program used ids past 2³¹ new rows would get such ids, and
/// no one could read them back. (MySQL/MariaDB and PostgreSQL refuse those ids themselves.)
async fn ids_fit(tx: &DatabaseTransaction) -> Result<(), Failure> {
    if tx.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let max = tx
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT MAX(id) AS id FROM student",
        ))
        .await?
        .map(|row| row.try_get::<Option<i64>>("", "id"))
        .transpose()?
        .flatten();
    match max {
        Some(id) if i32::try_from(id).is_err() => {
            Err(Failure::Refused(Error::IdsExhausted(format!(
                "the new rows would need ids up to {id}, past what the 32-bit `id` column holds"
            ))))
        }
        _ => Ok(()),
    }
}

/// What `seed` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    /// New rows committed: always the count asked for.
    pub added: u64,
    /// Generated rows skipped because their name was already taken, and replaced.
    pub replaced_collisions: u64,
    /// Times the whole transaction was run again after the database refused it for a
    /// deadlock, a lock wait timeout, or (Galera) a certification conflict at COMMIT.
    pub retried: u32,
}

/// Inserts exactly `count` new random students in one transaction.
///
/// Names that collide with stored names (or with a concurrent `seed`) are skipped by the
/// database and topped up with fresh ones, so the count is exact. Rows are generated one
/// statement at a time: memory does not grow with `count`. `progress` hears the running total.
///
/// Concurrent seeds of one database take turns (an advisory lock on MySQL/MariaDB and
/// PostgreSQL, the write lock on SQLite): run at once, their transactions would deadlock on
/// each other's names. A deadlock with any other writer is retried with the whole transaction.
pub async fn seed(
    db: &DatabaseConnection,
    options: &SeedOptions,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SeedReport> {
    let count = count_rule(options.count)?;
    let backend = db.get_database_backend();
    let per_statement = match options.rows_per_statement {
        None => rows_per_statement(backend),
        Some(n) => rows_per_statement_rule(backend, n)?,
    };
    // On MySQL/MariaDB the lock belongs to a session, not to a transaction: the seed gets a
    // connection of its own, so the lock can never stay behind on a pooled connection (after
    // a rollback, or when Ctrl-C drops this future) to block the next seed.
    let own = if backend == DbBackend::MySql && !db.is_mock_connection() {
        Some(mysql_seed_connection(db).await.map_err(classify::other)?)
    } else {
        None
    };
    let conn = own.as_ref().unwrap_or(db);
    let mut attempt = 1;
    let outcome = loop {
        let tried = seed_once(
            conn,
            count,
            options.rng_seed,
            per_statement as u64,
            progress,
        )
        .await;
        match tried {
            Err(f) if f.is_retryable() && attempt < WRITE_ATTEMPTS => {
                attempt += 1;
                progress(0);
                backoff(attempt).await;
            }
            Ok(report) => {
                break Ok(SeedReport {
                    retried: attempt - 1,
                    ..report
                });
            }
            Err(f) => break Err(f),
        }
    };
    if let Some(own) = own {
        // Best effort: closing the session also releases its lock.
        let _closed = own.close().await;
    }
    match outcome {
        Ok(report) => Ok(report),
        Err(f) => Err(f.into_error(db).await),
    }
}

/// A one-connection pool over `db`'s settings, for a seed on MySQL/MariaDB.
async fn mysql_seed_connection(db: &DatabaseConnection) -> Result<DatabaseConnection, DbErr> {
    let pool = db.get_mysql_connection_pool();
    let own = sea_orm::sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Every skipped row leaves a warning, and all of them must be read (the
                // default keeps 64); in English, so the key a duplicate broke can be read.
                sea_orm::sqlx::Executor::execute(
                    conn,
                    "SET SESSION max_error_count = 65535, lc_messages = 'en_US'",
                )
                .await
                .map(drop)
            })
        })
        .connect_lazy_with((*pool.connect_options()).clone());
    let conn = SqlxMySqlConnector::from_sqlx_mysql_pool(own);
    // Logs in now, so a failure to connect is reported as one.
    conn.ping().await?;
    Ok(conn)
}

/// The MySQL/MariaDB lock that seeds of one database take turns on (lock names are at most
/// 64 characters, so the database is named by its hash).
const MYSQL_SEED_LOCK: &str = "CONCAT('cli.seed.', MD5(DATABASE()))";

/// PostgreSQL's advisory locks belong to one database already: one key serves every database.
const POSTGRES_SEED_LOCK: i64 = 0x636c_692e_7365_6564; // "cli.seed"

/// One try at the whole seed: take the turn, run the transaction, give the turn back.
async fn seed_once(
    conn: &DatabaseConnection,
    count: u64,
    rng_seed: Option<u64>,
    per_statement: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SeedReport, Failure> {
    if conn.get_database_backend() != DbBackend::MySql {
        return seed_transaction(conn, count, rng_seed, per_statement, progress).await;
    }
    // A year: seeds wait for each other as long as they run (MariaDB has no "forever").
    let locked = conn
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            format!("SELECT GET_LOCK({MYSQL_SEED_LOCK}, 31536000) AS locked"),
        ))
        .await?
        .map(|row| row.try_get::<Option<i64>>("", "locked"))
        .transpose()?
        .flatten();
    if locked != Some(1) {
        return Err(Failure::Refused(Error::Database(
            "could not take the seed lock (GET_LOCK failed); nothing was changed".into(),
        )));
    }
    let outcome = seed_transaction(conn, count, rng_seed, per_statement, progress).await;
    // After COMMIT or ROLLBACK: the next seed starts on what this one left. A lost
    // connection took the lock with it (and asking the pool for another would only wait);
    // a failure to release changes nothing, as the lock goes when `seed` closes the session.
    let lost = matches!(&outcome, Err(Failure::Db(e)) if classify::connection_lost(e).is_some());
    if !lost {
        let _released = conn
            .execute_unprepared(&format!("DO RELEASE_LOCK({MYSQL_SEED_LOCK})"))
            .await;
    }
    outcome
}

/// The seed's transaction: statements of generated rows until exactly `count` are new.
async fn seed_transaction(
    conn: &DatabaseConnection,
    count: u64,
    rng_seed: Option<u64>,
    per_statement: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SeedReport, Failure> {
    let backend = conn.get_database_backend();
    let mut batches = SeedBatches {
        backend,
        generator: StudentGenerator::new(rng_seed),
        rows: Vec::with_capacity(per_statement.min(count) as usize),
        generated: 0,
        skipped: 0,
        give_up_after: give_up_bound(count, 0),
    };
    let tx = begin_write(conn).await?;
    if backend == DbBackend::Postgres {
        // Held until COMMIT or ROLLBACK, whatever ends the transaction.
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({POSTGRES_SEED_LOCK})"),
        ))
        .await?;
    }
    let mut added = 0u64;
    let mut in_flight: Option<Batch> = None;
    let mut dense = false;
    let mut counted_stored = false;
    while added < count {
        let remaining = count - added;
        if in_flight.is_none() && batches.generated >= batches.give_up_after {
            // Generous for new names; rows already stored (by an earlier seed with the same
            // `--seed`, say) are regenerated first, so they widen the bound once counted.
            if counted_stored {
                return Err(Failure::Refused(Error::Database(format!(
                    "gave up after generating {} names for {count} new rows: almost every generated name is taken; nothing was changed",
                    batches.generated
                ))));
            }
            counted_stored = true;
            let stored = count_rows(&tx).await?.saturating_sub(added);
            batches.give_up_after = batches.give_up_after.max(give_up_bound(count, stored));
            continue;
        }
        let batch = match in_flight.take() {
            Some(batch) => batch,
            None if dense => batches.free_names(&tx, per_statement, remaining).await?,
            None => batches.next(per_statement.min(remaining))?,
        };
        // While the database runs this statement, build the next one, counting on this one
        // inserting every row; a shortfall (taken names) is topped up when the queue drains.
        let next_rows = if dense || batches.generated >= batches.give_up_after {
            0
        } else {
            per_statement.min(remaining.saturating_sub(batch.rows))
        };
        let (inserted, next) = tokio::join!(run_insert(&tx, batch.statement, batch.rows), async {
            (next_rows > 0).then(|| batches.next(next_rows))
        });
        let inserted = inserted?;
        added += inserted;
        let lost = batch.taken + (batch.rows - inserted);
        batches.skipped += lost;
        // Mostly taken names (a rerun of the same `--seed`): look names up before inserting,
        // instead of sending statements that insert next to nothing.
        dense = lost * 2 > batch.candidates;
        progress(added);
        in_flight = next.transpose()?;
    }
    ids_fit(&tx).await?;
    tx.commit().await?;
    Ok(SeedReport {
        added,
        replaced_collisions: batches.skipped,
        retried: 0,
    })
}

/// How many names a seed of `count` may generate before giving up, with `stored` rows already
/// in the table: a bound on the work, never reached while a fair share of names is free.
fn give_up_bound(count: u64, stored: u64) -> u64 {
    count
        .saturating_mul(10)
        .saturating_add(10_000)
        .saturating_add(stored)
}

/// The rows of `student`, as this transaction sees them.
async fn count_rows(tx: &DatabaseTransaction) -> Result<u64, DbErr> {
    let n = student::Entity::find().count(tx).await?;
    Ok(n)
}

/// Runs one INSERT of `sent` generated rows and returns how many it inserted.
async fn run_insert(
    tx: &DatabaseTransaction,
    statement: Option<Statement>,
    sent: u64,
) -> Result<u64, Failure> {
    let Some(statement) = statement else {
        return Ok(0);
    };
    let inserted = tx.execute_raw(statement).await?.rows_affected();
    if tx.get_database_backend() == DbBackend::MySql {
        only_taken_names_skipped(tx, sent.saturating_sub(inserted)).await?;
    }
    Ok(inserted)
}

/// `INSERT IGNORE` turns every error into a warning: it skips the row (an exhausted id
/// range, say) or stores a clipped value. Only a taken name may be skipped; any other
/// warning fails the seed with the server's message, and the transaction rolls back.
async fn only_taken_names_skipped(tx: &DatabaseTransaction, skipped: u64) -> Result<(), Failure> {
    let warnings = tx
        .query_all_raw(Statement::from_string(DbBackend::MySql, "SHOW WARNINGS"))
        .await?;
    let mut taken = 0u64;
    for warning in &warnings {
        let code = warning.try_get::<u32>("", "Code")?;
        let message = warning.try_get::<String>("", "Message")?;
        if code == 1062 && classify::mysql_key_is_s_name(&message) {
            taken += 1;
            continue;
        }
        return Err(Failure::Refused(
            if matches!(code, 167 | 1264) && message.contains("column 'id'") {
                Error::IdsExhausted(message)
            } else {
                Error::Database(format!("{message}; nothing was changed"))
            },
        ));
    }
    if taken != skipped {
        return Err(Failure::Refused(Error::Database(format!(
            "{skipped} rows were skipped but the server reported {taken} taken names; nothing was changed"
        ))));
    }
    Ok(())
}

/// One INSERT of generated rows.
struct Batch {
    /// `None` when every candidate name was taken: nothing to send.
    statement: Option<Statement>,
    /// Rows in the statement.
    rows: u64,
    /// Names generated for it, including those dropped because they were taken.
    candidates: u64,
    /// Names dropped before sending because they were taken.
    taken: u64,
}

/// Turns generated students into INSERT statements, one batch at a time.
struct SeedBatches {
    backend: DbBackend,
    generator: StudentGenerator,
    /// Reused for every batch, so memory does not grow with the count.
    rows: Vec<NewStudent>,
    generated: u64,
    /// Generated names that were taken, and replaced.
    skipped: u64,
    give_up_after: u64,
}

impl SeedBatches {
    /// A statement inserting `n` new random students, skipping taken names.
    fn next(&mut self, n: u64) -> Result<Batch, DbErr> {
        self.rows.clear();
        self.rows
            .extend((0..n).map(|_| self.generator.next_student()));
        self.generated += n;
        self.statement(n, 0)
    }

    /// A statement inserting up to `want` students chosen among `candidates` new random ones
    /// whose names are not stored yet (one lookup instead of a statement of taken names).
    async fn free_names(
        &mut self,
        tx: &DatabaseTransaction,
        candidates: u64,
        want: u64,
    ) -> Result<Batch, DbErr> {
        self.rows.clear();
        self.rows
            .extend((0..candidates).map(|_| self.generator.next_student()));
        self.generated += candidates;
        let names = self.rows.iter().map(|s| s.name.clone());
        let stored: Vec<String> = student::Entity::find()
            .select_only()
            .column(student::Column::SName)
            .filter(student::Column::SName.is_in(names))
            .into_tuple()
            .all(tx)
            .await?;
        let stored: HashSet<String> = stored.into_iter().collect();
        let before = self.rows.len() as u64;
        let mut seen = HashSet::with_capacity(self.rows.len());
        // In the generator's order, so the chosen names are as random as the rest.
        self.rows
            .retain(|s| !stored.contains(&s.name) && seen.insert(s.name.clone()));
        let taken = before - self.rows.len() as u64;
        self.rows.truncate(want as usize);
        let rows = self.rows.len() as u64;
        let mut batch = self.statement(rows, taken)?;
        batch.candidates = candidates;
        Ok(batch)
    }

    fn statement(&mut self, rows: u64, taken: u64) -> Result<Batch, DbErr> {
        // In name order each statement walks the unique index on `s_name` once instead of
        // hopping across it: on SQLite 1M rows take 3.4 s instead of 6.0 s, because pages are
        // no longer evicted and re-read between rows.
        self.rows.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let statement = if self.rows.is_empty() {
            None
        } else {
            Some(insert_statement(self.backend, &self.rows, true)?)
        };
        Ok(Batch {
            statement,
            rows,
            candidates: rows + taken,
            taken,
        })
    }
}

/// Starts a write transaction; on SQLite it takes the write lock at once, so two writers
/// queue on the busy timeout instead of failing to upgrade a read lock.
async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// A multi-row INSERT of `rows` into `student`, without conflict handling.
fn insert_query(rows: &[NewStudent]) -> Result<InsertStatement, DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Alias::new("student")).columns([
        Alias::new("s_name"),
        Alias::new("s_age"),
        Alias::new("s_score"),
    ]);
    for row in rows {
        insert
            .values([row.name.as_str().into(), row.age.into(), row.score.into()])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(insert)
}

/// A multi-row INSERT of `rows`; with `skip_duplicates` a taken name skips its row, and
/// `rows_affected` counts exactly the rows inserted on every backend.
///
/// Every caller runs it inside a transaction that is rolled back whole on any error.
fn insert_statement(
    backend: DbBackend,
    rows: &[NewStudent],
    skip_duplicates: bool,
) -> Result<Statement, DbErr> {
    let mut insert = insert_query(rows)?;
    if skip_duplicates && backend != DbBackend::MySql {
        insert.on_conflict(
            OnConflict::column(Alias::new("s_name"))
                .do_nothing()
                .to_owned(),
        );
    }
    let mut statement = backend.build(&insert);
    if skip_duplicates && backend == DbBackend::MySql {
        // sea-query has no INSERT IGNORE, and its MySQL stand-in for DO NOTHING
        // (`ON DUPLICATE KEY UPDATE id = id`) counts skipped rows as affected. IGNORE skips
        // more than taken names: `run_insert` checks every warning.
        statement.sql = statement
            .sql
            .replacen("INSERT INTO", "INSERT IGNORE INTO", 1);
    }
    if backend == DbBackend::Sqlite {
        // With the default ABORT a failing row undoes only its own statement, so inside a
        // transaction SQLite first copies every existing page the statement changes to a
        // statement journal (a temp file): at 10M rows almost one 4 KiB page per inserted row,
        // half again the seed's CPU. FAIL needs none, and every caller rolls the whole
        // transaction back on any error; `seed`'s taken names are still skipped by ON
        // CONFLICT DO NOTHING. Same rows, same rollback journal, same durability.
        statement.sql = statement
            .sql
            .replacen("INSERT INTO", "INSERT OR FAIL INTO", 1);
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<NewStudent> {
        (0..n)
            .map(|i| NewStudent {
                name: format!("n{i}"),
                age: 1,
                score: 1.0,
            })
            .collect()
    }

    #[test]
    fn statements_stay_under_every_bind_limit() {
        for backend in [DbBackend::MySql, DbBackend::Postgres, DbBackend::Sqlite] {
            let n = rows_per_statement(backend);
            assert!(
                n * PARAMS_PER_ROW <= max_bind_params(backend),
                "{backend:?}"
            );
            let st = insert_statement(backend, &rows(n), true).unwrap();
            assert_eq!(st.values.unwrap().0.len(), n * PARAMS_PER_ROW);
        }
    }

    #[test]
    fn skipping_duplicates_uses_each_backends_exact_form() {
        let my = insert_statement(DbBackend::MySql, &rows(2), true)
            .unwrap()
            .sql;
        assert!(my.starts_with("INSERT IGNORE INTO `student`"), "{my}");
        assert!(!my.contains("ON DUPLICATE KEY"), "{my}");
        let pg = insert_statement(DbBackend::Postgres, &rows(2), true)
            .unwrap()
            .sql;
        assert!(pg.ends_with(r#"ON CONFLICT ("s_name") DO NOTHING"#), "{pg}");
        let strict = insert_statement(DbBackend::Sqlite, &rows(2), false)
            .unwrap()
            .sql;
        assert!(!strict.contains("CONFLICT"), "{strict}");
    }

    /// Runs `insert_statement`'s SQLite SQL with rusqlite inside a transaction.
    fn run_on_sqlite(
        conn: &rusqlite::Connection,
        rows: &[NewStudent],
        skip_duplicates: bool,
    ) -> rusqlite::Result<usize> {
        let st = insert_statement(DbBackend::Sqlite, rows, skip_duplicates).unwrap();
        let params = st.values.unwrap().0.into_iter().map(|v| match v {
            sea_orm::Value::String(Some(s)) => rusqlite::types::Value::Text(s),
            sea_orm::Value::Int(Some(i)) => rusqlite::types::Value::Integer(i.into()),
            sea_orm::Value::Float(Some(f)) => rusqlite::types::Value::Real(f.into()),
            other => panic!("unexpected value {other:?}"),
        });
        conn.execute(&st.sql, rusqlite::params_from_iter(params))
    }

    #[test]
    fn sqlite_inserts_skip_taken_names_and_fail_without_a_statement_journal() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            r#"CREATE TABLE "student" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
                 "s_name" varchar(32) NOT NULL UNIQUE, "s_age" integer NOT NULL DEFAULT 18,
                 "s_score" float NOT NULL DEFAULT 0);
               INSERT INTO student (s_name) VALUES ('n1');
               BEGIN IMMEDIATE;"#,
        )
        .unwrap();
        // seed: the taken n1 is skipped, and only inserted rows are counted.
        assert_eq!(run_on_sqlite(&conn, &rows(3), true).unwrap(), 2);
        // A strict insert still fails on a taken name, but as FAIL: its rows before the
        // failure stay until the caller rolls the transaction back, which is what lets SQLite
        // skip the statement journal.
        let mut strict = rows(4);
        strict[0].name = "fresh".into();
        let err = run_on_sqlite(&conn, &strict[..2], false).unwrap_err();
        assert!(
            err.to_string().contains("UNIQUE constraint failed"),
            "{err}"
        );
        let fresh: i64 = conn
            .query_row(
                "SELECT count(*) FROM student WHERE s_name = 'fresh'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(fresh, 1);
        conn.execute_batch("ROLLBACK").unwrap();
        let total: i64 = conn
            .query_row("SELECT count(*) FROM student", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 1);
    }
}
