//! Where a value in force came from, so `cli config` can say it and errors can point at it.

use std::fmt;
use std::path::PathBuf;

/// The origin of one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--database-url`.
    Flag(&'static str),
    /// A variable of the process environment.
    Env(String),
    /// A line of `./.env` (read only for variables the environment does not set).
    DotEnv(String),
    /// A key of the settings file.
    File {
        /// The settings file.
        path: PathBuf,
        /// The table the key is in: `default`, `develop`, `test` or `product`.
        table: String,
        /// 1-based line of the key (or of the table header, for values composed from parts).
        line: usize,
    },
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::DotEnv(var) => write!(f, ".env {var}"),
            Source::File { path, table, line } => write!(f, "{}:{line} [{table}]", path.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A value in force and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it was set.
    pub source: Source,
}

impl<T> Sourced<T> {
    /// `value` from `source`.
    pub fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }

    /// The built-in default `value`.
    pub fn default_value(value: T) -> Self {
        Sourced {
            value,
            source: Source::Default,
        }
    }

    /// The same source with the value transformed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            source: self.source,
        }
    }
}
