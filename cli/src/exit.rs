//! How a run ends: one `error:` line on stderr and a documented exit code. Nothing here can
//! panic, whatever state stdout and stderr are in.

use std::io::{self, Write};
use std::process::ExitCode;

use settings::SettingsError;

/// Exit codes, as documented in the README. Codes 2–5 and 130 are also what the settings and
/// service errors give through their `exit_code()`.
pub mod code {
    /// Anything not listed below.
    pub const OTHER: u8 = 1;
    /// Invalid input: a bad flag or value, a bad URL, unusable settings (as clap).
    pub const INVALID_INPUT: u8 = 2;
    /// The change was made (and committed), but the report of it could not be written: stdout
    /// was closed or full. Running the command again would repeat the change.
    pub const UNREPORTED: u8 = 6;
}

/// Why a run did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The settings cannot be used.
    Settings(SettingsError),
    /// The service refused or failed.
    Service(service::Error),
    /// Writing the output of a command that changed nothing failed.
    Output(io::Error),
    /// The command's change was made, but its report could not be written.
    Unreported(io::Error),
    /// The user answered no to a confirmation.
    Declined,
    /// A destructive command refused under the production profile without `--yes`.
    Refused(String),
    /// `migrate status --check` found pending migrations.
    Pending(usize),
    /// `serve` could not start or stopped with an error.
    Serve(web::ServeError),
    /// The session store refused or failed.
    Sessions(sessions::Error),
    /// What was asked for does not exist (a session key).
    NotFound(String),
}

impl From<sessions::Error> for Failure {
    fn from(e: sessions::Error) -> Self {
        Failure::Sessions(e)
    }
}

impl From<service::Error> for Failure {
    fn from(e: service::Error) -> Self {
        Failure::Service(e)
    }
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Self {
        Failure::Settings(e)
    }
}

impl Failure {
    /// The message, the hint and the exit code; `None` for a failure that is not one (a
    /// reader that went away from the output of a read-only command, like `cli list | head`).
    fn describe(&self) -> Option<(String, Option<&'static str>, u8)> {
        Some(match self {
            Failure::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => return None,
            Failure::Output(e) => (format!("cannot write output: {e}"), None, code::OTHER),
            Failure::Unreported(e) => (
                format!("the change was made, but its report could not be written: {e}"),
                None,
                code::UNREPORTED,
            ),
            Failure::Declined => (
                "not confirmed; nothing was dropped".to_owned(),
                None,
                code::OTHER,
            ),
            Failure::Refused(msg) => (msg.clone(), None, code::INVALID_INPUT),
            Failure::Pending(n) => (
                format!(
                    "{n} migration{} pending",
                    if *n == 1 { " is" } else { "s are" }
                ),
                Some("run `cli migrate up`"),
                code::OTHER,
            ),
            Failure::Settings(e) => (e.to_string(), e.hint(), e.exit_code()),
            Failure::Service(e) => (e.to_string(), e.hint(), e.exit_code()),
            Failure::Serve(e) => (e.to_string(), None, e.exit_code()),
            Failure::Sessions(e) => (e.to_string(), None, e.exit_code()),
            Failure::NotFound(msg) => (msg.clone(), None, code::OTHER),
        })
    }

    /// Reports the failure on stderr (if stderr can be written at all) and gives the code.
    pub fn report(&self) -> ExitCode {
        let Some((message, hint, status)) = self.describe() else {
            return ExitCode::SUCCESS;
        };
        let line = match hint {
            Some(h) => format!("error: {message}; hint: {h}"),
            None => format!("error: {message}"),
        };
        // One line, whatever the driver's message contained.
        let line = line.replace(['\n', '\r'], " ");
        // Nowhere left to report a failure to report: the exit code still tells.
        let _unwritable = writeln!(io::stderr().lock(), "{line}");
        ExitCode::from(status)
    }
}
