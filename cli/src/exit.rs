//! How a failed run is reported: one `error:` line on stderr and a documented exit code.

use std::io;
use std::process::ExitCode;

/// Exit codes, as documented in the README.
pub mod code {
    /// Anything not listed below.
    pub const OTHER: u8 = 1;
    /// Invalid input: a bad flag or value, a bad URL, or `.env` that cannot be read (as clap).
    pub const INVALID_INPUT: u8 = 2;
    /// The name is already taken.
    pub const DUPLICATE_NAME: u8 = 3;
    /// The database is unreachable or refused the login.
    pub const UNREACHABLE: u8 = 4;
    /// The tables do not exist yet.
    pub const TABLES_MISSING: u8 = 5;
    /// Interrupted by Ctrl-C (128 + SIGINT), after rolling back.
    pub const INTERRUPTED: u8 = 130;
}

/// Why a run did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The service refused or failed.
    Service(service::Error),
    /// Writing to stdout or reading stdin failed.
    Output(io::Error),
    /// The user answered no to a confirmation.
    Declined,
    /// A problem with the settings themselves (`.env`, the settings file, the profile).
    Config(String),
    /// A destructive command refused under the production profile without `--yes`.
    Refused(String),
    /// `migrate status --check` found pending migrations.
    Pending(usize),
}

impl From<service::Error> for Failure {
    fn from(e: service::Error) -> Self {
        Failure::Service(e)
    }
}

impl Failure {
    /// Reports the failure on stderr, without `url`'s password, and gives the exit code.
    pub fn report(&self, url: &str) -> ExitCode {
        use service::Error as E;
        let (message, hint, status) = match self {
            // A reader that went away (`cli list | head`) is not an error.
            Failure::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                return ExitCode::SUCCESS;
            }
            Failure::Output(e) => (format!("cannot write output: {e}"), None, code::OTHER),
            Failure::Declined => (
                "not confirmed; nothing was dropped".to_owned(),
                None,
                code::OTHER,
            ),
            Failure::Config(msg) => (msg.clone(), None, code::INVALID_INPUT),
            Failure::Refused(msg) => (msg.clone(), None, code::INVALID_INPUT),
            Failure::Pending(n) => (
                format!(
                    "{n} migration{} pending",
                    if *n == 1 { " is" } else { "s are" }
                ),
                Some("run `cli migrate up`"),
                code::OTHER,
            ),
            Failure::Service(e) => {
                let status = match e {
                    E::Invalid { .. } | E::InvalidUrl { .. } => code::INVALID_INPUT,
                    E::DuplicateName(_) => code::DUPLICATE_NAME,
                    E::Unreachable { .. } => code::UNREACHABLE,
                    E::TablesMissing => code::TABLES_MISSING,
                    E::Interrupted => code::INTERRUPTED,
                    E::Database(_) => code::OTHER,
                };
                (e.to_string(), e.hint(), status)
            }
        };
        let line = match hint {
            Some(h) => format!("error: {message}; hint: {h}"),
            None => format!("error: {message}"),
        };
        // One line, whatever the driver's message contained.
        let line = line.replace(['\n', '\r'], " ");
        eprintln!("{}", service::scrub_password(&line, url));
        ExitCode::from(status)
    }
}
