//! Runs a schema change so that it either completes or is reported exactly.
//!
//! Every run holds the migration lock of its database for its whole length, on one dedicated
//! connection, so concurrent runs take turns and later ones find the work done:
//!
//! - PostgreSQL and SQLite run the whole change (DDL and bookkeeping) in one transaction,
//!   behind `pg_advisory_xact_lock` or SQLite's `BEGIN IMMEDIATE`. A failure, a lock not
//!   granted within the lock timeout, or Ctrl-C rolls it back: nothing changed.
//! - MySQL/MariaDB commit each DDL statement at once. The run takes `GET_LOCK`, then `LOCK
//!   TABLES … WRITE` on every existing table the change uses, each waiting at most the lock
//!   timeout, before the first statement that changes anything: a conflicting lock fails the
//!   run with nothing changed. The table locks are held to the end (a second session creates
//!   the new tables, which a locking session may not). The statements run one at a time;
//!   Ctrl-C stops between two (never in the middle of one), and a failure or a stop after the
//!   first change names exactly the statements that took effect and those that did not.
//! - A MariaDB Galera node (`wsrep_on`) replicates DDL to every node in total order (TOI),
//!   but `GET_LOCK` and `LOCK TABLES` lock only the node they run on. So a run there also
//!   takes the cluster-wide lock: a row in `cli_schema_lock`, written in a transaction that
//!   certification lets only one node commit at a time (a loser gets 1213 and tries again until
//!   the lock timeout). The row is deleted at the end; one left by a run that died expires
//!   after [`CLUSTER_LOCK_LEASE`] seconds. Runs on two nodes therefore take turns like runs on
//!   one server, and the later one finds the work done. `LOCK TABLES` is not used there.

use std::future::Future;
use std::time::Duration;

use migration::{Migrations, Target};
use sea_orm::sqlx;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, SqlxMySqlConnector, SqlxPostgresConnector, SqlxSqliteConnector,
    Statement, TransactionOptions, TransactionTrait,
};

use crate::classify;
use crate::error::{Error, PartialChange, Result};
use crate::inspect::{quote_ident, read_state};
use crate::interrupt::Interrupt;
use crate::plan::{Plan, plan};
use crate::schema::{SchemaChange, SchemaOptions, SchemaReport};

/// What the migration lock is, for the message of a run that could not take it.
const MIGRATION_LOCK: &str =
    "the migration lock (another `cli` schema change is running on this database)";

/// What the cluster-wide migration lock of a Galera cluster is, for messages.
const CLUSTER_LOCK: &str = "the cluster-wide migration lock (another `cli` schema change is running on a node of this Galera cluster; a row in `cli_schema_lock`)";

/// Seconds after which the cluster-wide lock of a run that died is taken over.
pub(crate) const CLUSTER_LOCK_LEASE: u64 = 600;

/// How long to wait for a cancelled statement to end before sending the cancel again.
const CANCEL_AGAIN: Duration = Duration::from_millis(200);

/// The PostgreSQL advisory lock key of schema changes. Advisory locks are per database, so
/// one constant serves every database on a server.
const PG_LOCK_KEY: i64 = 0x636c_695f_7363_6865; // "cli_sche"

/// Runs `change` of `M` on `db`; `observer` sees each statement once it has run.
pub(crate) async fn run<M: Migrations>(
    db: &DatabaseConnection,
    change: SchemaChange,
    options: &SchemaOptions,
    observer: &mut (dyn FnMut(&Statement) + Send),
) -> Result<SchemaReport> {
    let migrations = M::all();
    let session = open_session(db, options.lock_timeout)?;
    let run = Run {
        db,
        session: &session,
        migrations: &migrations,
        change,
        options,
    };
    let outcome = match db.get_database_backend() {
        DbBackend::MySql => run.mysql(observer).await,
        _ => run.transactional(observer).await,
    };
    if abandoned(&session, &outcome) {
        // An abandoned SQLite statement may still be waiting on the connection's thread,
        // and closing would wait for it: dropping the pool lets it end on its own (the
        // uncommitted transaction rolls back when the connection closes).
        drop(session);
    } else {
        // Closing the connection ends the session: MySQL/MariaDB release its locks with it.
        let _closed = session.close().await;
    }
    outcome
}

/// Whether a run on `session` ended by abandoning a SQLite statement (Ctrl-C).
fn abandoned<T>(session: &DatabaseConnection, outcome: &Result<T>) -> bool {
    session.get_database_backend() == DbBackend::Sqlite
        && matches!(outcome, Err(Error::Interrupted))
}

/// A pool of exactly one connection with the options of `db`'s, so that every statement of a
/// run (and the session locks it takes) goes through the same connection.
fn open_session(db: &DatabaseConnection, lock_timeout: Duration) -> Result<DatabaseConnection> {
    fn one<DB: sqlx::Database>(like: &sqlx::Pool<DB>) -> sqlx::pool::PoolOptions<DB> {
        sqlx::pool::PoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(like.options().get_acquire_timeout())
            // Never replaced behind the run's back: session locks live on this connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
    }
    Ok(match db.get_database_backend() {
        DbBackend::MySql => {
            let pool = db.get_mysql_connection_pool();
            SqlxMySqlConnector::from_sqlx_mysql_pool(
                one(pool).connect_lazy_with((*pool.connect_options()).clone()),
            )
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            SqlxPostgresConnector::from_sqlx_postgres_pool(
                one(pool).connect_lazy_with((*pool.connect_options()).clone()),
            )
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            // `BEGIN IMMEDIATE` and `COMMIT` wait for other writers and readers this long.
            let options = (*pool.connect_options()).clone().busy_timeout(lock_timeout);
            SqlxSqliteConnector::from_sqlx_sqlite_pool(one(pool).connect_lazy_with(options))
        }
        other => {
            return Err(Error::Database(format!(
                "schema changes are not supported on {}",
                other.as_str()
            )));
        }
    })
}

/// How to stop a statement that is waiting when Ctrl-C comes.
enum Cancel {
    /// Ask the server, from another connection, to cancel it; it then ends with an error.
    Server(Statement),
    /// Abandon it (SQLite: the uncommitted transaction is rolled back when the connection
    /// closes).
    Abandon,
}

/// Ctrl-C came while a statement was waiting; it was cancelled.
struct Interrupted;

struct Run<'a> {
    /// The caller's pool, used only to cancel a waiting statement of the session.
    db: &'a DatabaseConnection,
    /// The run's one connection.
    session: &'a DatabaseConnection,
    migrations: &'a [Box<dyn migration::Migration>],
    change: SchemaChange,
    options: &'a SchemaOptions,
}

impl Run<'_> {
    fn seconds(&self) -> u64 {
        self.options.lock_timeout.as_secs()
    }

    /// Awaits `fut`; on Ctrl-C, cancels it as `cancel` says.
    async fn interruptible<T>(
        &self,
        fut: impl Future<Output = Result<T, DbErr>>,
        cancel: &Cancel,
    ) -> std::result::Result<Result<T, DbErr>, Interrupted> {
        let mut stop: Interrupt = self.options.interrupt.clone();
        let mut fut = std::pin::pin!(fut);
        tokio::select! {
            biased;
            result = &mut fut => Ok(result),
            () = stop.wait() => {
                if let Cancel::Server(statement) = cancel {
                    // The statement keeps being driven while the cancel goes out: it may not
                    // have reached the server yet, and a cancel that finds the session idle
                    // does nothing, so it is sent again until the statement ends (at the
                    // latest by the lock timeout).
                    loop {
                        let attempt = async {
                            let _cancelled = self.db.execute_raw(statement.clone()).await;
                            tokio::time::sleep(CANCEL_AGAIN).await;
                        };
                        tokio::select! {
                            biased;
                            _ended = &mut fut => break,
                            () = attempt => {}
                        }
                    }
                }
                Err(Interrupted)
            }
        }
    }

    /// Reads the schema as `conn` sees it (under the run's locks) and plans the change.
    async fn plan_on<C: ConnectionTrait>(&self, conn: &C, target: &Target) -> Result<Plan> {
        let state = read_state(conn, self.migrations)
            .await
            .map_err(classify::other)?;
        plan(
            self.migrations,
            &state,
            self.change,
            self.options.adopt,
            target,
        )
    }

    fn lock_timeout(&self, what: impl Into<String>) -> Error {
        Error::LockTimeout {
            what: what.into(),
            seconds: self.seconds(),
        }
    }

    /// MySQL/MariaDB: locks first, then one statement at a time, reported exactly.
    async fn mysql(&self, observer: &mut (dyn FnMut(&Statement) + Send)) -> Result<SchemaReport> {
        let b = DbBackend::MySql;
        let s = self.session;
        let target = Target::detect(s).await.map_err(classify::other)?;
        let id = scalar_i64(s, "SELECT CAST(CONNECTION_ID() AS SIGNED)").await?;
        let kill = Cancel::Server(Statement::from_string(b, format!("KILL QUERY {id}")));
        exec(s, &self.mysql_wait()).await.map_err(classify::other)?;
        let get_lock = Statement::from_string(
            b,
            format!(
                "SELECT GET_LOCK(CONCAT('cli-schema:', SHA1(COALESCE(DATABASE(), ''))), {}) AS got",
                self.seconds()
            ),
        );
        if self.options.interrupt.is_set() {
            return Err(Error::InterruptedUnchanged);
        }
        let got = match self.interruptible(s.query_one_raw(get_lock), &kill).await {
            Err(Interrupted) => return Err(Error::InterruptedUnchanged),
            Ok(result) => result.map_err(classify::other)?,
        };
        match got.map(|row| row.try_get::<Option<i64>>("", "got")) {
            Some(Ok(Some(1))) => {}
            Some(Ok(Some(_))) => return Err(self.lock_timeout(MIGRATION_LOCK)),
            Some(Err(e)) => return Err(classify::other(e)),
            Some(Ok(None)) | None => {
                return Err(Error::Database(
                    "GET_LOCK failed to take the migration lock".into(),
                ));
            }
        }
        let galera = is_galera(s).await.map_err(classify::other)?;
        if galera {
            self.take_cluster_lock().await?;
        }
        let outcome = self.mysql_locked(observer, galera, &kill, target).await;
        if galera {
            // Best effort: a row left behind expires with its lease.
            let _released = exec(
                s,
                "DELETE FROM `cli_schema_lock` WHERE `id` = 1 AND `holder` = @cli_schema_lock_holder",
            )
            .await;
        }
        outcome
    }

    /// MySQL/MariaDB, with the migration lock held: plan, lock the tables (not on Galera), run.
    async fn mysql_locked(
        &self,
        observer: &mut (dyn FnMut(&Statement) + Send),
        galera: bool,
        kill: &Cancel,
        target: Target,
    ) -> Result<SchemaReport> {
        let b = DbBackend::MySql;
        let s = self.session;
        let plan = self.plan_on(s, &target).await?;
        if plan.statements.is_empty() {
            return Ok(plan.report);
        }
        if self.options.interrupt.is_set() {
            return Err(Error::InterruptedUnchanged);
        }
        // Galera does not replicate table locks; the cluster-wide lock stands in for them.
        let mut locked = if galera {
            Vec::new()
        } else {
            plan.tables_to_lock()
        };
        if !locked.is_empty() {
            let list: Vec<String> = locked
                .iter()
                .map(|t| format!("{} WRITE", quote_ident(b, t)))
                .collect();
            let sql = format!("LOCK TABLES {}", list.join(", "));
            match self.interruptible(exec(s, &sql), kill).await {
                Err(Interrupted) => return Err(Error::InterruptedUnchanged),
                Ok(Err(e)) if classify::mysql_number(&e) == Some(1205) => {
                    return Err(
                        self.lock_timeout(format!("a lock on table `{}`", locked.join("`, `")))
                    );
                }
                Ok(Err(e)) => return Err(classify::other(e)),
                Ok(Ok(())) => {}
            }
        }
        let mut helper = None;
        let outcome = self
            .mysql_statements(&plan, &mut locked, &mut helper, observer)
            .await;
        if let Some(helper) = helper {
            let _closed = helper.close().await;
        }
        if !locked.is_empty() {
            // The session's end releases them anyway.
            let _unlocked = exec(s, "UNLOCK TABLES").await;
        }
        outcome.map(|()| plan.report)
    }

    /// Galera: takes the cluster-wide migration lock, waiting up to the lock timeout for
    /// another node's run to end. Mutual exclusion comes from certification: of two nodes that
    /// write the lock row at once, only one commits; the other gets 1213 and looks again.
    async fn take_cluster_lock(&self) -> Result<()> {
        let s = self.session;
        exec(
            s,
            "CREATE TABLE IF NOT EXISTS `cli_schema_lock` ( `id` int NOT NULL PRIMARY KEY, \
             `holder` varchar(255) NOT NULL, `expires_at` bigint NOT NULL ) ENGINE=InnoDB",
        )
        .await
        .map_err(classify::other)?;
        exec(
            s,
            "SET @cli_schema_lock_holder = CONCAT(@@wsrep_node_name, ' (', @@hostname, ':', @@port, ') connection ', CONNECTION_ID())",
        )
        .await
        .map_err(classify::other)?;
        let deadline = std::time::Instant::now() + self.options.lock_timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            if self.options.interrupt.is_set() {
                return Err(Error::InterruptedUnchanged);
            }
            let held_by = match self.try_cluster_lock().await {
                Ok(None) => return Ok(()),
                Ok(Some(holder)) => Some(holder),
                Err(e)
                    if classify::is_retryable(&e) || classify::mysql_number(&e) == Some(1062) =>
                {
                    None
                }
                Err(e) => return Err(classify::other(e)),
            };
            if std::time::Instant::now() >= deadline {
                return Err(self.lock_timeout(match held_by {
                    Some(holder) => format!("{CLUSTER_LOCK}, held by {holder}"),
                    None => CLUSTER_LOCK.to_owned(),
                }));
            }
            tokio::time::sleep(pause.mul_f64(rand::random_range(0.5..=1.0))).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// One try at the cluster-wide lock: `None` when it is now ours, or who holds it.
    async fn try_cluster_lock(&self) -> Result<Option<String>, DbErr> {
        let s = self.session;
        let b = DbBackend::MySql;
        let tx = s.begin().await?;
        let row = tx
            .query_one_raw(Statement::from_string(
                b,
                "SELECT `holder`, `expires_at` > UNIX_TIMESTAMP() AS `live` FROM `cli_schema_lock` WHERE `id` = 1 FOR UPDATE",
            ))
            .await?;
        if let Some(row) = row {
            let holder: String = row.try_get("", "holder")?;
            let live: i64 = row.try_get("", "live")?;
            if live == 1 {
                tx.rollback().await?;
                return Ok(Some(holder));
            }
        }
        tx.execute_unprepared(&format!(
            "REPLACE INTO `cli_schema_lock` (`id`, `holder`, `expires_at`) VALUES (1, @cli_schema_lock_holder, UNIX_TIMESTAMP() + {CLUSTER_LOCK_LEASE})"
        ))
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// MySQL/MariaDB: sends the statements of `plan` one at a time. The table locks stay on
    /// the run's session until the end (DDL does not release them), and the statements on
    /// `locked` tables run there. A session holding table locks may touch no other table and
    /// create none, so the statements that do (creating a table, then using it) run on a
    /// second session, `helper`. Only the tables this change creates are left unlocked, and
    /// no other session was using them when it began.
    async fn mysql_statements(
        &self,
        plan: &Plan,
        locked: &mut Vec<String>,
        helper: &mut Option<DatabaseConnection>,
        observer: &mut (dyn FnMut(&Statement) + Send),
    ) -> Result<()> {
        let mut done = 0;
        for (i, p) in plan.statements.iter().enumerate() {
            if self.options.interrupt.is_set() {
                return Err(if done == 0 {
                    Error::InterruptedUnchanged
                } else {
                    partial(plan, i, None, "interrupted".into(), true, false)
                });
            }
            let on_locked = !p.uses.is_empty() && p.uses.iter().all(|t| locked.contains(t));
            if !on_locked && p.uses.iter().any(|t| locked.contains(t)) {
                // Uses a locked table and a new one: no session could run it under the
                // locks. None of the toolkit's migrations does this.
                if let Err(e) = exec(self.session, "UNLOCK TABLES").await {
                    return Err(self.failed(plan, i, e, done));
                }
                locked.clear();
            }
            let session = if locked.is_empty() || on_locked {
                self.session
            } else {
                match helper {
                    Some(h) => &*h,
                    None => {
                        let h = open_session(self.db, self.options.lock_timeout)?;
                        let h = helper.insert(h);
                        if let Err(e) = exec(h, &self.mysql_wait()).await {
                            return Err(self.failed(plan, i, e, done));
                        }
                        &*h
                    }
                }
            };
            match session.execute_raw(p.statement.clone()).await {
                Ok(_) => {
                    done += 1;
                    observer(&p.statement);
                }
                Err(e) => return Err(self.failed(plan, i, e, done)),
            }
        }
        Ok(())
    }

    /// The session settings that bound every lock wait of a MySQL/MariaDB session.
    fn mysql_wait(&self) -> String {
        // MySQL's minimum is 1 s; MariaDB takes 0 as "do not wait" but 1 s is close enough.
        let wait = self.seconds().max(1);
        format!("SET SESSION lock_wait_timeout = {wait}, innodb_lock_wait_timeout = {wait}")
    }

    /// MySQL/MariaDB: the error for statement `i` of `plan` failing with `e` after `done`
    /// statements took effect.
    fn failed(&self, plan: &Plan, i: usize, e: DbErr, done: usize) -> Error {
        let lost = classify::connection_lost(&e).is_some();
        if done == 0 && !lost {
            if classify::mysql_number(&e) == Some(1205) {
                return self.lock_timeout(format!(
                    "a lock that `{}` needs",
                    plan.statements[i].statement
                ));
            }
            return classify::other(e);
        }
        partial(plan, i, Some(i), classify::message(&e), false, lost)
    }

    /// PostgreSQL and SQLite: everything in one transaction.
    async fn transactional(
        &self,
        observer: &mut (dyn FnMut(&Statement) + Send),
    ) -> Result<SchemaReport> {
        let b = self.session.get_database_backend();
        let sqlite = b == DbBackend::Sqlite;
        let options = TransactionOptions {
            // Takes the write lock at once, so runs take turns before reading anything.
            sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let txn = match self
            .interruptible(self.session.begin_with_options(options), &Cancel::Abandon)
            .await
        {
            Err(Interrupted) => return Err(Error::Interrupted),
            // SQLite's one message for another process's lock on the file, as for every
            // other write.
            Ok(Err(e)) if classify::is_sqlite_busy(&e) => return Err(Error::Locked),
            Ok(Err(e)) => return Err(classify::other(e)),
            Ok(Ok(txn)) => txn,
        };
        let outcome = self.in_transaction(&txn, observer).await;
        match outcome {
            Ok(Some(report)) => self.commit(txn).await.map(|()| report),
            Ok(None) => {
                let _rolled_back = txn.rollback().await;
                Ok(SchemaReport::default())
            }
            Err(e) => {
                let outcome: Result<SchemaReport> = Err(e);
                if abandoned(self.session, &outcome) {
                    // Rolls back when the connection is next used or closed; awaiting the
                    // rollback would wait for the abandoned statement.
                    drop(txn);
                } else {
                    let _rolled_back = txn.rollback().await;
                }
                outcome
            }
        }
    }

    /// Locks, reads, plans and runs the statements inside `txn`; `None` when there is nothing
    /// to do.
    async fn in_transaction(
        &self,
        txn: &DatabaseTransaction,
        observer: &mut (dyn FnMut(&Statement) + Send),
    ) -> Result<Option<SchemaReport>> {
        let b = txn.get_database_backend();
        let cancel = if b == DbBackend::Postgres {
            // 0 would mean "wait forever" to PostgreSQL.
            let ms = self.options.lock_timeout.as_millis().max(1);
            exec(txn, &format!("SET LOCAL lock_timeout = {ms}"))
                .await
                .map_err(classify::other)?;
            let pid = scalar_i64(txn, "SELECT CAST(pg_backend_pid() AS BIGINT)").await?;
            let cancel = Cancel::Server(Statement::from_string(
                b,
                format!("SELECT pg_cancel_backend({pid})"),
            ));
            let sql = format!("SELECT pg_advisory_xact_lock({PG_LOCK_KEY})");
            match self.interruptible(exec(txn, &sql), &cancel).await {
                Err(Interrupted) => return Err(Error::Interrupted),
                Ok(Err(e)) if is_lock_timeout(&e) => return Err(self.lock_timeout(MIGRATION_LOCK)),
                Ok(Err(e)) => return Err(classify::other(e)),
                Ok(Ok(())) => {}
            }
            cancel
        } else {
            Cancel::Abandon
        };
        let plan = self.plan_on(txn, &Target::new(b)).await?;
        if plan.statements.is_empty() {
            return Ok(None);
        }
        for p in &plan.statements {
            if self.options.interrupt.is_set() {
                return Err(Error::Interrupted);
            }
            match self
                .interruptible(txn.execute_raw(p.statement.clone()), &cancel)
                .await
            {
                Err(Interrupted) => return Err(Error::Interrupted),
                Ok(Err(e)) if is_lock_timeout(&e) => {
                    return Err(self.lock_timeout(format!("a lock that `{}` needs", p.statement)));
                }
                Ok(Err(e)) => return Err(classify::other(e)),
                Ok(Ok(_)) => observer(&p.statement),
            }
        }
        if self.options.interrupt.is_set() {
            return Err(Error::Interrupted);
        }
        Ok(Some(plan.report))
    }

    /// Commits `txn`; on SQLite this waits (up to the lock timeout) for readers to finish.
    async fn commit(&self, txn: DatabaseTransaction) -> Result<()> {
        match self.interruptible(txn.commit(), &Cancel::Abandon).await {
            Ok(Ok(())) => Ok(()),
            // Dropping the commit dropped the transaction, which rolls back.
            Err(Interrupted) => Err(Error::Interrupted),
            Ok(Err(e)) if classify::is_sqlite_busy(&e) => Err(Error::Locked),
            Ok(Err(e)) => match classify::connection_lost(&e) {
                Some(reason) => Err(Error::Database(format!(
                    "lost the connection while committing ({reason}); the change may or may not have been made: run `cli migrate status`"
                ))),
                None => Err(classify::other(e)),
            },
        }
    }
}

/// Whether `e` is PostgreSQL's `lock_timeout` running out (SQLite's busy timeout is
/// [`Error::Locked`], through [`classify::other`]).
fn is_lock_timeout(e: &DbErr) -> bool {
    classify::code(e).as_deref() == Some("55P03")
}

/// The report of a MySQL/MariaDB change that stopped before statement `next`: statements
/// before it took effect; `failed`, if any, is the one that failed (with `unknown` when the
/// connection was lost during it, so its outcome is unknown).
fn partial(
    plan: &Plan,
    next: usize,
    failed: Option<usize>,
    cause: String,
    interrupted: bool,
    unknown: bool,
) -> Error {
    let text = |range: std::ops::Range<usize>| -> Vec<String> {
        plan.statements[range]
            .iter()
            .map(|p| p.statement.to_string())
            .collect()
    };
    let after = failed.map_or(next, |f| f + 1);
    Error::PartialChange(Box::new(PartialChange {
        cause,
        interrupted,
        done: text(0..next),
        failed: failed.map(|f| plan.statements[f].statement.to_string()),
        outcome_unknown: unknown,
        not_done: text(after..plan.statements.len()),
    }))
}

/// Whether the server is a MariaDB Galera node (`wsrep_on` is `ON`); MySQL has no such
/// variable, and a plain MariaDB says `OFF`.
pub(crate) async fn is_galera<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            "SHOW VARIABLES LIKE 'wsrep_on'",
        ))
        .await?;
    Ok(match row {
        Some(row) => row
            .try_get_by_index::<String>(1)?
            .eq_ignore_ascii_case("ON"),
        None => false,
    })
}

async fn exec<C: ConnectionTrait>(db: &C, sql: &str) -> Result<(), DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

async fn scalar_i64<C: ConnectionTrait>(db: &C, sql: &str) -> Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(classify::other)?;
    match row {
        Some(row) => row.try_get_by_index::<i64>(0).map_err(classify::other),
        None => Err(Error::Database(format!("`{sql}` returned no row"))),
    }
}
