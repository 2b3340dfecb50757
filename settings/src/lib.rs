//! Settings of the student-records toolkit, shared by the `cli` binary and the web server.
//!
//! A setting comes from a flag, the environment, `./.env`, the TOML settings file (a
//! `[default]` table and one per profile, overriding it key by key) or a built-in default;
//! [`Settings::resolve`] merges them in that order and records each value's [`Source`].
//! Secrets are [`Secret`]s and [`SecretUrl`]s, whose `Debug` and `Display` never show them,
//! and every [`SettingsError`] names the file, line and key at fault without their value.

mod dialect;
mod env;
mod error;
mod file;
mod profile;
mod quote;
mod redact;
mod resolve;
mod secret;
mod session;
mod source;

pub use dialect::Dialect;
pub use env::{ENV_VARS, Environment};
pub use error::SettingsError;
pub use file::{DEFAULT_FILE, SettingsFile};
pub use profile::Profile;
pub use quote::{is_default_ignorable, needs_escape, quoted};
pub use redact::{is_secret_param, redact_url, userinfo_hint};
pub use resolve::{
    DEFAULT_BUSY_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE_URL, Database, Flags, Part,
    Resolution, Settings,
};
pub use secret::{Secret, SecretUrl};
pub use session::{
    CookieSettings, DEFAULT_SESSION_COOKIE_NAME, DEFAULT_SESSION_DIR, DEFAULT_SESSION_KEY_PREFIX,
    DEFAULT_SESSION_LIFETIME, DEFAULT_SESSION_MAX_BYTES, SameSite, SessionSettings, SessionType,
};
pub use source::{Source, Sourced};
