//! The command line, declared once: these doc comments are the help text.

#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "these doc comments are clap's help text, where [default] and [env: X] are literal"
)]

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage the `student` table on MySQL/MariaDB, PostgreSQL or an embedded SQLite file.
///
/// The database is taken from --database-url, else DATABASE_URL (environment or `.env`), else
/// the chosen profile of the settings file (`settings.toml`), else the SQLite file
/// `students.db` in the current directory, created by `create-tables`.
#[derive(Debug, Parser)]
#[command(name = "cli", version, propagate_version = true, max_term_width = 100)]
pub struct Opt {
    #[command(flatten)]
    pub global: GlobalOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. The environment variables they fall back to are read by the
/// `settings` crate, not by clap, so `--help` works whatever the environment holds.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Database URL, e.g. mysql://user:pass@127.0.0.1:3306/my_flask [env: DATABASE_URL, also read from ./.env].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Settings file with [default], [develop], [test] and [product] tables [env: STUDENTS_CONFIG] [default: ./settings.toml if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// Settings profile: develop, test or product [env: APP_ENV] [default: develop].
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Seconds to wait for the server to accept the connection and login [default: 5].
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout: Option<u64>,

    /// SQLite: seconds a write waits for another process's lock before failing [default: 60].
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub busy_timeout: Option<u64>,

    /// Echo every SQL statement to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl GlobalOpts {
    /// What the flags say, for the settings resolver.
    pub fn flags(&self) -> settings::Flags {
        settings::Flags {
            database_url: self.database_url.clone(),
            config: self.config.clone(),
            profile: self.profile.clone(),
            connect_timeout: self.connect_timeout,
            busy_timeout: self.busy_timeout,
            echo: self.verbose,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the tables by applying every pending migration; does nothing when up to date.
    ///
    /// Also repairs: re-creates a table that a migration is recorded to have created but that
    /// is missing, and records a table that exists unrecorded and matches. A `student` table
    /// made by another program is refused unless --adopt.
    CreateTables(CreateArgs),

    /// Add one student and print the stored row with its id.
    AddStudent(AddStudentArgs),

    /// Add N random students in one transaction: exactly N new rows, or none.
    Seed(SeedArgs),

    /// Print all students ordered by id.
    List(ListArgs),

    /// Drop the tables the migrations created, the migration tracking table included.
    DropTables(DropArgs),

    /// Show, apply or revert schema migrations one by one.
    #[command(subcommand)]
    Migrate(MigrateCommand),

    /// Print the profile, the database URL (password masked) and where each setting came from.
    Config,

    /// Look into and tidy the session store (the one the settings name).
    #[command(subcommand)]
    Sessions(SessionsCommand),

    /// Serve the original Flask app's pages (sessions, login, the student list) over HTTP.
    Serve(ServeArgs),

    /// Print a shell completion script, e.g. `cli completions bash > /etc/bash_completion.d/cli`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions: store key, created, expires, size and the names of the values held
    /// (never a session id).
    List(SessionsListArgs),

    /// Print one session's values as JSON.
    Show {
        /// The store key, as `cli sessions list` prints it.
        key: String,
    },

    /// Delete one session (its user is logged out).
    Delete {
        /// The store key, as `cli sessions list` prints it.
        key: String,
    },

    /// Delete every session of this store; refused under `product` without --yes.
    Clear(Confirm),

    /// Remove expired sessions in small batches and say how many.
    Cleanup,

    /// Count live and expired sessions and their bytes.
    Stats,
}

#[derive(Debug, Args)]
pub struct SessionsListArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,

    /// At most this many sessions.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

/// `--yes` alone, for destructive commands without a dry run.
#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation; required under the `product` profile.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; the original bound 0.0.0.0, this binds loopback unless told.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: String,

    /// Port to listen on.
    #[arg(long, short = 'p', default_value_t = 8000)]
    pub port: u16,

    /// A directory of your own Jinja templates (Login.html, welcome.html, …), like Flask's
    /// templates folder; templates it lacks come from the built-in set.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<std::path::PathBuf>,

    /// Seconds requests in flight get to finish after SIGINT or SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub grace: u64,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// List every migration as applied or pending, changing nothing.
    Status(StatusArgs),

    /// Apply pending migrations, oldest first.
    Up(UpArgs),

    /// Revert applied migrations, newest first.
    Down(DownArgs),

    /// Revert every applied migration, then apply every migration.
    Refresh(DropArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,

    /// Exit with code 1 when any migration is pending, for deploy pipelines.
    #[arg(long)]
    pub check: bool,
}

/// How `migrate status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON array of objects.
    Json,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// How many pending migrations to apply [default: all].
    #[arg(short = 'n', long = "steps", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: Option<u32>,

    #[command(flatten)]
    pub dry_run: DryRun,

    #[command(flatten)]
    pub lock: LockWait,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// How many applied migrations to revert.
    #[arg(short = 'n', long = "steps", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: u32,

    #[command(flatten)]
    pub destructive: Destructive,

    #[command(flatten)]
    pub lock: LockWait,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Use an existing `student` table made by another program (the original Flask app's) as
    /// it is, when its columns, types and keys match: record it instead of creating it.
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub dry_run: DryRun,

    #[command(flatten)]
    pub lock: LockWait,
}

#[derive(Debug, Args)]
pub struct DropArgs {
    #[command(flatten)]
    pub destructive: Destructive,

    #[command(flatten)]
    pub lock: LockWait,
}

/// How long a schema change waits for other sessions.
#[derive(Debug, Args)]
pub struct LockWait {
    /// Seconds to wait for a lock another session holds (another schema change, a table in
    /// use, SQLite's file lock) before failing with nothing changed [default: the busy timeout, 60].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub lock_timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DryRun {
    /// Print the SQL that would run on the connected database, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of commands that destroy data.
#[derive(Debug, Args)]
pub struct Destructive {
    /// Do not ask for confirmation; required under the `product` profile.
    #[arg(short = 'y', long)]
    pub yes: bool,

    #[command(flatten)]
    pub dry_run: DryRun,
}

#[derive(Debug, Args)]
pub struct AddStudentArgs {
    /// Name: 1 to 32 characters, unique exactly as written; surrounding spaces are trimmed.
    #[arg(long, allow_hyphen_values = true)]
    pub name: String,

    /// Age in whole years, 0 to 150 [default: 18].
    #[arg(long, allow_negative_numbers = true)]
    pub age: Option<i64>,

    /// Score, a finite number of at least 0 [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub score: Option<f64>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many new students to add.
    #[arg(long, short = 'n')]
    pub count: u64,

    /// Seed for the random generator, to make the generated students reproducible.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Rows per INSERT statement [default: measured per backend, under its bind limit].
    #[arg(long, value_name = "ROWS")]
    pub batch_rows: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How `list` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people; CJK names take two columns per character.
    Table,
    /// One JSON array of objects.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// Help and version go to stdout as usual; usage errors become one `error:` line, exit 2.
pub fn clap_failure(e: &clap::Error) -> std::process::ExitCode {
    use std::io::Write;

    use clap::error::ErrorKind;
    let invalid = std::process::ExitCode::from(crate::exit::code::INVALID_INPUT);
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return match e.print() {
            Ok(()) if e.use_stderr() => invalid,
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(_) => std::process::ExitCode::from(crate::exit::code::OTHER),
        };
    }
    // clap's message may continue on indented lines (the missing flags) before a blank line
    // and the usage; those lines belong to the one line we print.
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let _unwritable = writeln!(
        std::io::stderr().lock(),
        "{}; see `cli --help`",
        message.join(" ")
    );
    invalid
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Opt;

    /// `cli --help` and `cli COMMAND --help` read like a man page only if nothing is bare.
    #[test]
    fn every_command_and_flag_has_help_text() {
        fn check(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "`{path}` argument `{id}` has no help"
                );
            }
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some(), "`{name}` has no help");
                check(sub, &name);
            }
        }
        Opt::command().debug_assert();
        check(&Opt::command(), "cli");
    }
}
