//! The one error type of settings resolution. Every message names the file, line and key at
//! fault (or the flag or variable), and never contains a secret.

use std::path::PathBuf;

use crate::quote::quoted;
use crate::source::Source;

/// A setting that cannot be used. Every variant is invalid input: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A table, key or value of the settings file is wrong.
    #[error("{}:{line}: {}{message}", path.display(), table.as_ref().map(|t| format!("[{t}] ")).unwrap_or_default())]
    File {
        /// The settings file.
        path: PathBuf,
        /// 1-based line at fault.
        line: usize,
        /// The table at fault, when the fault is inside one.
        table: Option<String>,
        /// What is wrong, naming the key; never the value of a secret.
        message: String,
    },

    /// The settings file cannot be read at all.
    #[error("cannot read settings file `{}`: {reason}", path.display())]
    Unreadable {
        /// The settings file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },

    /// `./.env` exists but cannot be parsed.
    #[error("cannot read `.env`: {0}")]
    DotEnv(String),

    /// `--env` / `APP_ENV` names no profile.
    #[error("unknown profile {} from {from}{}: expected one of develop, test, product", quoted(name), file.as_ref().map(|f| format!(" (settings file `{}`)", f.display())).unwrap_or_default())]
    UnknownProfile {
        /// The name given.
        name: String,
        /// Where it was given.
        from: Source,
        /// The settings file in use, if any.
        file: Option<PathBuf>,
    },

    /// A flag or environment value that is not usable (a variable that is not UTF-8, say).
    #[error("{0}")]
    Invalid(String),
}

impl SettingsError {
    /// The process exit code for this error: invalid input.
    pub fn exit_code(&self) -> u8 {
        2
    }

    /// A next step for the user, where there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            SettingsError::UnknownProfile { .. } => Some("choose it with --env NAME or APP_ENV"),
            _ => None,
        }
    }
}
