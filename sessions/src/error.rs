//! The one error type of the session layer. Every message names the store and its address,
//! never a password, a session id or session data.

/// What can go wrong with a session store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The store's server cannot be reached or stopped answering.
    #[error("the session store ({store}) cannot be reached: {reason}")]
    Unavailable {
        /// The store and its address, e.g. `redis at 127.0.0.1:6379`.
        store: String,
        /// What went wrong.
        reason: String,
    },

    /// The store's settings cannot be used.
    #[error("the session store ({store}) is misconfigured: {reason}")]
    Misconfigured {
        /// The store and its address.
        store: String,
        /// What is wrong, and how to fix it.
        reason: String,
    },

    /// A session record is larger than `session_max_bytes`.
    #[error("the session is {bytes} bytes, over the limit of {max} bytes (session_max_bytes)")]
    TooLarge {
        /// The record's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },

    /// The store cannot do what was asked (memcached cannot list keys without `lru_crawler`).
    #[error("the session store ({store}) cannot {what}")]
    Unsupported {
        /// The store and its address.
        store: String,
        /// What it cannot do, and why.
        what: String,
    },

    /// The `sessions` table does not exist in the database the `sql` store uses.
    #[error(
        "the session store ({store}) has no `sessions` table; run `cli create-tables` (or `cli migrate up`) first"
    )]
    TableMissing {
        /// The store and its database.
        store: String,
    },

    /// An operator command named a key that is not a store key (64 hexadecimal digits).
    #[error("invalid session key {}: a store key is 64 hexadecimal digits, as `cli sessions list` shows", settings::quoted(.0))]
    InvalidKey(String),

    /// The store answered with something unexpected.
    #[error("the session store ({store}) failed: {reason}")]
    Store {
        /// The store and its address.
        store: String,
        /// The store's own message.
        reason: String,
    },
}

impl Error {
    /// The process exit code that stands for this error (the README's table).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Unavailable { .. } => 4,
            Error::Misconfigured { .. }
            | Error::TooLarge { .. }
            | Error::Unsupported { .. }
            | Error::InvalidKey(_) => 2,
            Error::Store { .. } => 1,
            Error::TableMissing { .. } => 5,
        }
    }

    /// Whether the store itself is down (a web page then answers 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// The result type of the session layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
