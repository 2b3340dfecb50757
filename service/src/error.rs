//! The one error type of the service, with messages written for the person at the terminal.

use std::fmt;

/// Everything that can go wrong in the service, classified by what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value supplied by the user breaks a validation rule.
    #[error("invalid {field} `{value}`: {allowed}")]
    Invalid {
        /// Which input was wrong (`name`, `age`, …).
        field: &'static str,
        /// The offending value, as given.
        value: String,
        /// What would have been accepted.
        allowed: String,
    },

    /// The database URL cannot be used; its password is already masked here.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A student with this exact name is already stored (or was given twice).
    #[error("a student named `{0}` already exists; names must be unique")]
    DuplicateName(String),

    /// The server could not be reached, refused the login, or the file could not be opened.
    #[error("cannot connect to the database at {target}: {reason}")]
    Unreachable {
        /// `host:port`, or the SQLite file path.
        target: String,
        /// What the driver said, without credentials.
        reason: String,
    },

    /// The `student` table does not exist yet.
    #[error("the `student` table does not exist in this database")]
    TablesMissing,

    /// The user interrupted a write (Ctrl-C); it was rolled back.
    #[error("interrupted; the transaction was rolled back and nothing was changed")]
    Interrupted,

    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl Error {
    /// A short next step for the user, where there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::TablesMissing => Some("run `cli create-tables` first"),
            Error::DuplicateName(_) => Some("choose another name"),
            Error::InvalidUrl { .. } => Some(
                "expected mysql://user:pass@host:3306/db, postgres://user@host:5432/db or sqlite://file.db",
            ),
            _ => None,
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        value: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// The result type of every service function.
pub type Result<T, E = Error> = std::result::Result<T, E>;
