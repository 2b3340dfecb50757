//! Settings of server-side sessions and of the session cookie (Flask-Session's `SESSION_*`
//! keys and Flask's `SESSION_COOKIE_*`).

use std::fmt;
use std::path::PathBuf;

use crate::secret::{Secret, SecretUrl};
use crate::source::Sourced;

/// Where sessions are kept (Flask-Session's `SESSION_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    /// Table `sessions` in the student database (or `session_url`'s database).
    Sql,
    /// Redis, Redis Cluster or Sentinel at `session_url`.
    Redis,
    /// memcached at `session_url`.
    Memcached,
    /// One file per session in `session_dir`.
    Filesystem,
    /// Collection `sessions` of the MongoDB database at `session_url`.
    Mongodb,
}

impl SessionType {
    /// Every accepted name, in the order messages list them.
    pub const NAMES: &'static [&'static str] =
        &["sql", "redis", "memcached", "filesystem", "mongodb"];

    /// The type called `name` (`sqlalchemy` is accepted for Flask-Session's name of `sql`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sql" | "sqlalchemy" => SessionType::Sql,
            "redis" => SessionType::Redis,
            "memcached" => SessionType::Memcached,
            "filesystem" => SessionType::Filesystem,
            "mongodb" => SessionType::Mongodb,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            SessionType::Sql => "sql",
            SessionType::Redis => "redis",
            SessionType::Memcached => "memcached",
            SessionType::Filesystem => "filesystem",
            SessionType::Mongodb => "mongodb",
        }
    }
}

impl fmt::Display for SessionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Also sent on top-level navigation from other sites (the default).
    Lax,
    /// Sent with every request; needs `Secure`.
    None,
}

impl SameSite {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] = &["Strict", "Lax", "None"];

    /// The value called `name` (any letter case).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "strict" => SameSite::Strict,
            "lax" => SameSite::Lax,
            "none" => SameSite::None,
            _ => return None,
        })
    }

    /// The attribute's value as sent.
    pub fn name(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Flask's default `PERMANENT_SESSION_LIFETIME`: 31 days, in seconds.
pub const DEFAULT_SESSION_LIFETIME: u64 = 31 * 24 * 3600;

/// The largest session record a store accepts unless told otherwise: 64 KiB.
pub const DEFAULT_SESSION_MAX_BYTES: u64 = 64 * 1024;

/// Flask-Session's default key prefix.
pub const DEFAULT_SESSION_KEY_PREFIX: &str = "session:";

/// Flask-Session's default directory of the filesystem store.
pub const DEFAULT_SESSION_DIR: &str = "flask_session";

/// Flask's default cookie name.
pub const DEFAULT_SESSION_COOKIE_NAME: &str = "session";

/// Where and how sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// The store.
    pub session_type: Sourced<SessionType>,
    /// The store's server; `None` for `sql` (the student database) and `filesystem`.
    pub url: Option<Sourced<SecretUrl>>,
    /// The filesystem store's directory.
    pub dir: Sourced<PathBuf>,
    /// Prefix of every key in Redis and memcached.
    pub key_prefix: Sourced<String>,
    /// Idle timeout in seconds: a session unused this long is gone.
    pub lifetime: Sourced<u64>,
    /// Cap on a session's total age in seconds, however active; `None` for no cap.
    pub absolute_lifetime: Option<Sourced<u64>>,
    /// The largest record a store accepts, in bytes.
    pub max_bytes: Sourced<u64>,
}

/// The session cookie and the key that signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Signs the cookie; `None` when not set (the web server then refuses to run under
    /// `product`, and elsewhere makes a random key for the run).
    pub secret_key: Option<Sourced<Secret>>,
    /// The cookie's name.
    pub name: Sourced<String>,
    /// Whether the cookie is sent only over HTTPS (on under `product`, off elsewhere).
    pub secure: Sourced<bool>,
    /// The cookie's `SameSite`.
    pub same_site: Sourced<SameSite>,
}
