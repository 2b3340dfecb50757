//! Turns driver errors into [`Error`]s that mean something to the user.

use migration::SchemaManager;
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr, SqlErr};

use crate::error::Error;

/// The driver's own error, when there is one.
fn sqlx_database_error(
    err: &DbErr,
) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::SqlxError::Database(db) => Some(db.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `err` broke the unique key on `s_name`.
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether the whole transaction may simply be run again (deadlock, serialization failure).
pub(crate) fn is_retryable(err: &DbErr) -> bool {
    let Some(db) = sqlx_database_error(err) else {
        return false;
    };
    if let Some(mysql) = db.try_downcast_ref::<sea_orm::SqlxMySqlError>() {
        // 1213 deadlock found, 1205 lock wait timeout.
        return matches!(mysql.number(), 1213 | 1205);
    }
    // PostgreSQL: 40P01 deadlock_detected, 40001 serialization_failure.
    matches!(db.code().as_deref(), Some("40P01" | "40001"))
}

/// An error whose cause needs no further look at the database.
pub(crate) fn other(err: DbErr) -> Error {
    Error::Database(message(&err))
}

/// The driver's message without SeaORM's layer names ("Execution Error: …").
fn message(err: &DbErr) -> String {
    match sqlx_database_error(err) {
        Some(db) => db.message().to_owned(),
        None => err.to_string(),
    }
}

/// Classifies an error from a statement on `student`: a missing table becomes
/// [`Error::TablesMissing`], whatever wording the backend uses for it.
pub(crate) async fn on_student(db: &DatabaseConnection, err: DbErr) -> Error {
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
