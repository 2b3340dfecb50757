//! The command line, declared once: these doc comments are the help text.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage the `student` table on MySQL/MariaDB, PostgreSQL or an embedded SQLite file.
///
/// With no database URL, `cli` uses the SQLite file `students.db` in the current directory,
/// creating it on first use.
#[derive(Debug, Parser)]
#[command(name = "cli", version, propagate_version = true, max_term_width = 100)]
pub struct Opt {
    #[command(flatten)]
    pub connect: ConnectOpts,

    /// Echo every SQL statement to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is.
#[derive(Debug, Args)]
pub struct ConnectOpts {
    /// Database URL, e.g. mysql://user:pass@127.0.0.1:3306/my_flask; also read from `.env`.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// Seconds to wait for the server to accept the connection and login.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout: u64,
}

impl ConnectOpts {
    /// The URL to use: the given one, or the embedded SQLite default.
    pub fn url(&self) -> &str {
        self.database_url
            .as_deref()
            .unwrap_or(service::DEFAULT_DATABASE_URL)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the tables by applying every pending migration; does nothing when up to date.
    CreateTables,

    /// Add one student and print the stored row with its id.
    AddStudent(AddStudentArgs),

    /// Add N random students in one transaction: exactly N new rows, or none.
    Seed(SeedArgs),

    /// Print all students ordered by id.
    List(ListArgs),

    /// Drop the tables the migrations created, the migration tracking table included.
    DropTables(Confirmation),
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

/// Confirmation for destructive commands.
#[derive(Debug, Args)]
pub struct Confirmation {
    /// Do not ask for confirmation on a terminal.
    #[arg(short = 'y', long)]
    pub yes: bool,
}
