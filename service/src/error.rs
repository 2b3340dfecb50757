//! The one error type of the service, with messages written for the person at the terminal.
//!
//! Values the user gave are shown with [`settings::quoted`]: control and invisible characters
//! escaped, long values cut. Nothing here ever holds a password: URLs are redacted before they
//! are stored, and driver messages are the server's own text, which never repeats one.

/// Everything that can go wrong in the service, classified by what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value supplied by the user breaks a validation rule.
    #[error("invalid {field} {}: {allowed}", settings::quoted(value))]
    Invalid {
        /// Which input was wrong (`name`, `age`, …).
        field: &'static str,
        /// The offending value, as given.
        value: String,
        /// What would have been accepted.
        allowed: String,
    },

    /// The database URL cannot be used; it is already redacted here.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with every secret replaced by `***`.
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An option of the database URL cannot be used (`?ssl-mode=bogus`, say).
    #[error("invalid database URL `{url}`: {reason}")]
    UrlOption {
        /// The URL with every secret replaced by `***`.
        url: String,
        /// The driver's reason.
        reason: String,
    },

    /// A student with this exact name is already stored (or was given twice).
    #[error("a student named {} already exists; names must be unique", settings::quoted(.0))]
    DuplicateName(String),

    /// The server could not be reached, refused the login, or the file could not be opened.
    #[error("cannot connect to the database at {target}: {reason}")]
    Unreachable {
        /// `host:port`, or the SQLite file path.
        target: String,
        /// What went wrong, without credentials.
        reason: String,
    },

    /// The connection broke while a command was running (the server died or restarted).
    #[error("lost the connection to the database: {0}")]
    ConnectionLost(String),

    /// A Galera node that is not part of its cluster's primary component (it lost quorum, or
    /// has not joined yet) refuses queries: MariaDB error 1047, `wsrep_ready` = `OFF`.
    #[error(
        "the database node{} is not part of the primary component of its Galera cluster (it lost contact with the majority of the nodes, or is still joining) and refuses queries",
        node_at(.0)
    )]
    NotPrimary(Option<String>),

    /// The SQLite file exists but is not a SQLite database.
    #[error("`{0}` is not a SQLite database file")]
    NotSqlite(String),

    /// The `student` table does not exist yet.
    #[error("the `student` table does not exist in this database")]
    TablesMissing,

    /// Another process holds a lock for longer than this one may wait (SQLite's busy timeout).
    #[error("the database is locked by another process; nothing was changed")]
    Locked,

    /// The user interrupted a write (Ctrl-C); it was rolled back.
    #[error("interrupted; the transaction was rolled back and nothing was changed")]
    Interrupted,

    /// Any other database failure, in the driver's own words.
    #[error("database error: {0}")]
    Database(String),

    /// No 32-bit id is left for a new row (another program wrote ids up to the limit, or
    /// moved the id counter there); the reason is the server's or names the id.
    #[error("no student id is left: {0}; nothing was changed")]
    IdsExhausted(String),

    /// Another session held a lock a schema change needs for longer than the lock timeout.
    #[error(
        "another session holds {what} and did not release it within {seconds}s (the lock timeout); nothing was changed"
    )]
    LockTimeout {
        /// Which lock, in words (`the migration lock (…)`, `a lock on table `student``).
        what: String,
        /// The lock timeout.
        seconds: u64,
    },

    /// A schema change on MySQL/MariaDB stopped after some of its statements took effect.
    #[error("{0}")]
    PartialChange(Box<PartialChange>),

    /// Ctrl-C came before a schema change on MySQL/MariaDB had changed anything.
    #[error("interrupted before anything was changed")]
    InterruptedUnchanged,

    /// A table the migrations would create exists already, unrecorded, and is not theirs.
    #[error(
        "table `{table}` already exists, no migration records it, and it differs from cli's: {}; nothing was changed",
        .differences.join("; ")
    )]
    ForeignTable {
        /// The table.
        table: String,
        /// How it differs.
        differences: Vec<String>,
        /// Whether it differs only in ways the toolkit does not rely on (`--adopt` takes it).
        adoptable: bool,
    },

    /// The schema and its migration records contradict each other in a way that cannot be
    /// repaired safely; the message says what to do.
    #[error("{0}; nothing was changed")]
    SchemaConflict(String),

    /// The database records a migration this version of the toolkit does not know.
    #[error(
        "the database records migration {} as applied, which this version of cli does not know (a newer version applied it?); nothing was changed",
        settings::quoted(.0)
    )]
    UnknownMigration(String),

    /// Migrations recorded as applied whose tables are missing (`migrate status --check`).
    #[error("the schema needs repair: {}", .0.join("; "))]
    NeedsRepair(Vec<String>),
}

/// ` at host:port` when the node is known.
fn node_at(node: &Option<String>) -> String {
    node.as_ref()
        .map(|n| format!(" at {n}"))
        .unwrap_or_default()
}

/// What a schema change on MySQL/MariaDB had done when it stopped: DDL there commits at once,
/// so the statements that took effect cannot be rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialChange {
    /// Why it stopped: `interrupted`, or the server's message.
    pub cause: String,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// The statements that took effect, in order.
    pub done: Vec<String>,
    /// The statement that failed, if one did.
    pub failed: Option<String>,
    /// Whether the connection broke during `failed`, so whether it took effect is unknown.
    pub outcome_unknown: bool,
    /// The statements that were not sent.
    pub not_done: Vec<String>,
}

impl std::fmt::Display for PartialChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |statements: &[String], from: usize| {
            statements
                .iter()
                .enumerate()
                .map(|(i, s)| format!("[{}] {s}", from + i + 1))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let done = if self.done.is_empty() {
            "none".to_owned()
        } else {
            list(&self.done, 0)
        };
        write!(
            f,
            "{}; MySQL/MariaDB cannot undo schema statements, and this change stopped partway: took effect: {done}",
            self.cause,
        )?;
        let mut next = self.done.len();
        if let Some(failed) = &self.failed {
            let fate = if self.outcome_unknown {
                "may or may not have taken effect (the connection was lost)"
            } else {
                "failed and did not take effect"
            };
            write!(f, "; {fate}: {}", list(std::slice::from_ref(failed), next))?;
            next += 1;
        }
        if !self.not_done.is_empty() {
            write!(f, "; not sent: {}", list(&self.not_done, next))?;
        }
        Ok(())
    }
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
            Error::IdsExhausted(_) => Some(
                "`id` is a 32-bit column (at most 2147483647): renumber the rows or lower the table's id counter",
            ),
            Error::Locked => Some(
                "wait for the other process to finish, or wait longer with busy_timeout (--busy-timeout SECS, default 60)",
            ),
            Error::LockTimeout { .. } => Some(
                "wait for the other session to finish, or wait longer with --lock-timeout SECS",
            ),
            Error::PartialChange(_) | Error::NeedsRepair(_) => Some(
                "`cli migrate status` shows the state; `cli create-tables` re-creates missing tables and records existing ones",
            ),
            Error::ForeignTable {
                adoptable: true, ..
            } => Some(
                "if it holds the students (the original Flask app's table does), run `cli create-tables --adopt` to use it as it is",
            ),
            Error::ForeignTable { .. } => {
                Some("rename or drop that table, or point cli at another database")
            }
            Error::UnknownMigration(_) => Some("use the version of cli that applied it"),
            Error::NotPrimary(_) => Some(
                "connect to a node of the primary component (list every node in `hosts`), or restore the cluster's quorum",
            ),
            _ => None,
        }
    }

    /// The process exit code that stands for this error (see the README's table).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid { .. } | Error::InvalidUrl { .. } | Error::UrlOption { .. } => 2,
            Error::DuplicateName(_) => 3,
            Error::Unreachable { .. }
            | Error::ConnectionLost(_)
            | Error::NotPrimary(_)
            | Error::NotSqlite(_) => 4,
            Error::TablesMissing => 5,
            Error::Interrupted | Error::InterruptedUnchanged => 130,
            Error::PartialChange(p) if p.interrupted => 130,
            Error::Locked
            | Error::Database(_)
            | Error::IdsExhausted(_)
            | Error::LockTimeout { .. }
            | Error::PartialChange(_)
            | Error::ForeignTable { .. }
            | Error::SchemaConflict(_)
            | Error::UnknownMigration(_)
            | Error::NeedsRepair(_) => 1,
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        value: impl std::fmt::Display,
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
