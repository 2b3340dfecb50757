//! Every write to `student`: one row, many rows, and random rows.

use std::collections::HashSet;
use std::time::Duration;

use entity::student;
use sea_orm::sea_query::{Alias, InsertStatement, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, QuerySelect, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
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
        .ok_or(DbErr::RecordNotFound(format!(
            "the new student {id} could not be read back"
        )))?;
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
}

/// How many whole-transaction retries a deadlock with a concurrent writer gets.
const SEED_ATTEMPTS: u32 = 5;

/// Inserts exactly `count` new random students in one transaction.
///
/// Names that collide with stored names (or with a concurrent `seed`) are skipped by the
/// database and topped up with fresh ones, so the count is exact. Rows are generated one
/// statement at a time: memory does not grow with `count`. `progress` hears the running total.
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
    let mut attempt = 1;
    loop {
        match seed_once(db, count, options.rng_seed, per_statement as u64, progress).await {
            Ok(report) => return Ok(report),
            Err(SeedFailure::Db(e)) if classify::is_retryable(&e) && attempt < SEED_ATTEMPTS => {
                attempt += 1;
                progress(0);
            }
            Err(SeedFailure::Db(e)) => return Err(classify::on_student(db, e).await),
            Err(SeedFailure::NamesExhausted { generated }) => {
                return Err(Error::Database(format!(
                    "gave up after generating {generated} names for {count} new rows: almost every generated name is taken"
                )));
            }
        }
    }
}

enum SeedFailure {
    Db(DbErr),
    NamesExhausted { generated: u64 },
}

impl From<DbErr> for SeedFailure {
    fn from(e: DbErr) -> Self {
        SeedFailure::Db(e)
    }
}

async fn seed_once(
    db: &DatabaseConnection,
    count: u64,
    rng_seed: Option<u64>,
    per_statement: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SeedReport, SeedFailure> {
    let mut batches = SeedBatches {
        backend: db.get_database_backend(),
        generator: StudentGenerator::new(rng_seed),
        rows: Vec::with_capacity(per_statement.min(count) as usize),
        generated: 0,
        // A bound on the work, not a normal exit: with ~10⁹ possible names it is only
        // reached when nearly every name is taken.
        give_up_after: count.saturating_mul(10).saturating_add(10_000),
    };
    let tx = begin_write(db).await?;
    let mut added = 0u64;
    let mut in_flight: Option<(Statement, u64)> = None;
    loop {
        let (statement, rows) = match in_flight.take() {
            Some(next) => next,
            None if added < count => batches.next(per_statement.min(count - added))?,
            None => break,
        };
        // While the database runs this statement, build the next one, counting on this one
        // inserting every row; a shortfall (taken names) is topped up when the queue drains.
        let next_rows = per_statement.min(count.saturating_sub(added + rows));
        let (result, next) = tokio::join!(tx.execute_raw(statement), async {
            (next_rows > 0).then(|| batches.next(next_rows))
        });
        added += result?.rows_affected();
        progress(added);
        in_flight = next.transpose()?;
    }
    tx.commit().await?;
    Ok(SeedReport {
        added,
        replaced_collisions: batches.generated - added,
    })
}

/// Turns generated students into INSERT statements, one batch at a time.
struct SeedBatches {
    backend: DbBackend,
    generator: StudentGenerator,
    /// Reused for every batch, so memory does not grow with the count.
    rows: Vec<NewStudent>,
    generated: u64,
    give_up_after: u64,
}

impl SeedBatches {
    /// A statement inserting `n` new random students, skipping taken names.
    fn next(&mut self, n: u64) -> Result<(Statement, u64), SeedFailure> {
        if self.generated >= self.give_up_after {
            return Err(SeedFailure::NamesExhausted {
                generated: self.generated,
            });
        }
        self.rows.clear();
        self.rows
            .extend((0..n).map(|_| self.generator.next_student()));
        // In name order each statement walks the unique index on `s_name` once instead of
        // hopping across it: on SQLite 1M rows take 3.4 s instead of 6.0 s, because pages are
        // no longer evicted and re-read between rows.
        self.rows.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        self.generated += n;
        Ok((insert_statement(self.backend, &self.rows, true)?, n))
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
}
