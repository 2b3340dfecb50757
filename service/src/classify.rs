//! Turns driver errors into [`Error`]s that mean something to the user.

use migration::SchemaManager;
use sea_orm::{ConnAcquireErr, DatabaseConnection, DbErr, RuntimeErr};

use crate::error::Error;

/// The sqlx error underneath a SeaORM error, when there is one.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::SqlxError> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    }
}

/// The driver's own database error, when there is one.
fn sqlx_database_error(
    err: &DbErr,
) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
    match sqlx_error(err)? {
        sea_orm::SqlxError::Database(db) => Some(db.as_ref()),
        _ => None,
    }
}

/// Whether `err` broke the unique key on `s_name`, and no other: a clash on the primary key
/// (ids written by another program) is not a taken name.
pub(crate) fn is_duplicate_name(err: &DbErr) -> bool {
    let Some(db) = sqlx_database_error(err) else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<sea_orm::SqlxMySqlError>() {
        return my.number() == 1062 && mysql_key_is_s_name(my.message());
    }
    if let Some(pg) = db.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>() {
        // The constraint's name is not translated; the detail names the column.
        return pg.code() == "23505"
            && (pg.constraint() == Some("student_s_name_key")
                || pg.detail().is_some_and(|d| d.starts_with("Key (s_name)=")));
    }
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        return db.message() == "UNIQUE constraint failed: student.s_name";
    }
    false
}

/// Whether a MySQL/MariaDB duplicate-key message (error or warning 1062) names the `s_name`
/// key: "Duplicate entry '…' for key 's_name'" (MySQL 8 says `student.s_name`). The key comes
/// last, after the value, so no name can imitate it.
pub(crate) fn mysql_key_is_s_name(message: &str) -> bool {
    let message = message.trim_end();
    message.ends_with(" 's_name'") || message.ends_with(" 'student.s_name'")
}

/// Whether `err` says that no 32-bit id is left for a new row: PostgreSQL's sequence reached
/// its maximum, or MySQL/MariaDB could not store the next auto-increment value.
pub(crate) fn is_ids_exhausted(err: &DbErr) -> bool {
    if let Some(n) = mysql_number(err) {
        // 167/1264 out of range for `id`, 1467 failed to read the auto-increment value.
        return match n {
            167 | 1264 => message(err).contains("column 'id'"),
            1467 => true,
            _ => false,
        };
    }
    // 2200H sequence_generator_limit_exceeded.
    code(err).as_deref() == Some("2200H")
}

/// The MySQL/MariaDB error number of `err`, when it is one.
pub(crate) fn mysql_number(err: &DbErr) -> Option<u16> {
    sqlx_database_error(err)?
        .try_downcast_ref::<sea_orm::SqlxMySqlError>()
        .map(|e| e.number())
}

/// The SQLSTATE (PostgreSQL) or result code (SQLite) of `err`, when it has one.
pub(crate) fn code(err: &DbErr) -> Option<String> {
    sqlx_database_error(err)?.code().map(|c| c.into_owned())
}

/// Whether the whole transaction may simply be run again (deadlock, serialization failure).
pub(crate) fn is_retryable(err: &DbErr) -> bool {
    if let Some(n) = mysql_number(err) {
        return mysql_retryable(n, &message(err));
    }
    // PostgreSQL: 40P01 deadlock_detected, 40001 serialization_failure.
    matches!(code(err).as_deref(), Some("40P01" | "40001"))
}

/// Whether MySQL/MariaDB error `n` lets the whole transaction be run again: 1213 deadlock
/// found, which is also Galera's certification failure at COMMIT and its brute-force abort of
/// a local transaction that conflicted with one replicated from another node; 1205 lock wait
/// timeout; and 1180 when Galera could not replicate the transaction because the node was
/// briefly not in the primary component (another node just died and the cluster is forming
/// its new view): the transaction was rolled back everywhere, and once the view is formed it
/// commits (or the node, left without quorum, answers 1047). Not 1047 itself: a node outside
/// the primary component stays so until an operator acts.
pub(crate) fn mysql_retryable(n: u16, message: &str) -> bool {
    match n {
        1213 | 1205 => true,
        1180 => {
            message.starts_with("Error while appending streaming replication fragment")
                && message.contains("Not connected to Primary Component")
        }
        _ => false,
    }
}

/// MariaDB error 1047 (ER_UNKNOWN_COM_ERROR, SQLSTATE 08S01), which a Galera node outside the
/// primary component answers to every query: "WSREP has not yet prepared node for application
/// use".
pub(crate) const NOT_PRIMARY: u16 = 1047;

/// Whether `err` is a Galera node refusing queries because it is not in the primary component.
pub(crate) fn is_not_primary(err: &DbErr) -> bool {
    mysql_number(err) == Some(NOT_PRIMARY)
}

/// When `err` means the connection itself broke (the server died, restarted or went away),
/// why; such errors need no further look at the database, which could not answer anyway.
pub(crate) fn connection_lost(err: &DbErr) -> Option<String> {
    use sea_orm::SqlxError as E;
    if let DbErr::ConnectionAcquire(e) = err {
        return Some(match e {
            ConnAcquireErr::Timeout => "no connection could be opened again".to_owned(),
            ConnAcquireErr::ConnectionClosed => "the connection was closed".to_owned(),
        });
    }
    match sqlx_error(err)? {
        E::Io(io) => Some(io.to_string()),
        E::Protocol(p) => Some(format!("protocol error: {p}")),
        E::PoolClosed | E::PoolTimedOut => Some("no connection could be opened again".to_owned()),
        E::WorkerCrashed => Some("the database driver's worker stopped".to_owned()),
        E::Database(_) => match (mysql_number(err), code(err).as_deref()) {
            // Server shutdown in progress, connection killed.
            (Some(1053 | 1927 | 2006 | 2013), _) => Some(message(err)),
            // admin_shutdown, crash_shutdown, cannot_connect_now
            (None, Some("57P01" | "57P02" | "57P03")) => Some(message(err)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `err` is SQLite giving up on another process's lock (SQLITE_BUSY, SQLITE_LOCKED).
pub(crate) fn is_sqlite_busy(err: &DbErr) -> bool {
    matches!(sqlx_error(err), Some(sea_orm::SqlxError::Database(db))
        if db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some()
            && matches!(db.code().as_deref(), Some("5" | "6" | "517" | "261" | "262")))
}

/// An error whose cause needs no further look at the database.
pub(crate) fn other(err: DbErr) -> Error {
    if is_not_primary(&err) {
        return Error::NotPrimary(None);
    }
    if let Some(reason) = connection_lost(&err) {
        return Error::ConnectionLost(reason);
    }
    if is_sqlite_busy(&err) {
        return Error::Locked;
    }
    Error::Database(message(&err))
}

/// The driver's message without SeaORM's layer names ("Execution Error: …").
pub(crate) fn message(err: &DbErr) -> String {
    match sqlx_database_error(err) {
        Some(db) => db.message().to_owned(),
        None => match sqlx_error(err) {
            Some(e) => e.to_string(),
            None => err.to_string(),
        },
    }
}

/// Classifies an error from a statement on `student`: a missing table becomes
/// [`Error::TablesMissing`], whatever wording the backend uses for it.
pub(crate) async fn on_student(db: &DatabaseConnection, err: DbErr) -> Error {
    if is_not_primary(&err) {
        return Error::NotPrimary(None);
    }
    if let Some(reason) = connection_lost(&err) {
        return Error::ConnectionLost(reason);
    }
    if is_sqlite_busy(&err) {
        return Error::Locked;
    }
    on_student_message(db, message(&err)).await
}

/// As [`on_student`], for a driver error known only by its message (rusqlite's).
pub(crate) async fn on_student_message(db: &DatabaseConnection, message: String) -> Error {
    // Asking the catalogue is the one check that reads the same on every backend.
    match SchemaManager::new(db).has_table("student").await {
        Ok(false) => Error::TablesMissing,
        _ => Error::Database(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galera_conflicts_are_retried_and_a_lost_quorum_is_not() {
        // Certification failure / brute-force abort, and InnoDB's own deadlock: same number.
        assert!(mysql_retryable(
            1213,
            "Deadlock found when trying to get lock; try restarting transaction"
        ));
        assert!(mysql_retryable(1205, "Lock wait timeout exceeded"));
        // Observed when a node of three was killed during a seed on another.
        assert!(mysql_retryable(
            1180,
            "Error while appending streaming replication fragment(provider status: Not connected to Primary Component)"
        ));
        assert!(!mysql_retryable(
            1180,
            "Got error 28 \"No space left on device\" during COMMIT"
        ));
        assert!(!mysql_retryable(
            NOT_PRIMARY,
            "WSREP has not yet prepared node for application use"
        ));
        assert!(!mysql_retryable(
            1062,
            "Duplicate entry 'a' for key 's_name'"
        ));
        assert_eq!(Error::NotPrimary(None).exit_code(), 4);
        let text = Error::NotPrimary(Some("127.0.0.1:4306".into())).to_string();
        assert!(
            text.starts_with(
                "the database node at 127.0.0.1:4306 is not part of the primary component"
            ),
            "{text}"
        );
    }
}
