//! One function per command, each a thin call into `service` plus printing.

use std::io::{self, BufRead, BufWriter, IsTerminal, Write};

use futures_util::StreamExt;
use service::{ConnectSettings, DatabaseConnection, NewStudent, format_score};

use crate::exit::Failure;
use crate::opt::{Command, Confirmation, Format, Opt};
use crate::output;
use crate::progress::SeedProgress;

/// A command whose input has been validated; running it needs only the database.
enum Plan {
    CreateTables,
    AddStudent(NewStudent),
    Seed(service::SeedOptions),
    List(Format),
    DropTables,
}

/// Checks the input and asks for confirmation, before any connection is made: bad input
/// must fail the same way whether or not the server is up.
fn plan(command: &Command, url: &str) -> Result<Plan, Failure> {
    Ok(match command {
        Command::CreateTables => Plan::CreateTables,
        Command::AddStudent(a) => Plan::AddStudent(NewStudent::new(&a.name, a.age, a.score)?),
        Command::Seed(s) => Plan::Seed(service::SeedOptions {
            count: service::validate::count_rule(s.count)?,
            rng_seed: s.seed,
            rows_per_statement: s.batch_rows,
        }),
        Command::List(l) => Plan::List(l.format),
        Command::DropTables(confirm) => {
            if !confirmed(confirm, url)? {
                return Err(Failure::Declined);
            }
            Plan::DropTables
        }
    })
}

/// Runs the parsed command line against the database it names.
pub async fn run(opt: &Opt) -> Result<(), Failure> {
    let plan = plan(&opt.command, opt.connect.url())?;
    let settings = ConnectSettings {
        url: opt.connect.url().to_owned(),
        connect_timeout: opt.connect.timeout(),
    };
    let db = service::connect(&settings).await?;
    let result = match plan {
        Plan::CreateTables => create_tables(&db).await,
        Plan::AddStudent(new) => add_student(&db, &new).await,
        Plan::Seed(options) => seed(&db, &options).await,
        Plan::List(format) => list(&db, format).await,
        Plan::DropTables => drop_tables(&db).await,
    };
    // Best effort: the command's outcome is already decided.
    let _closed = db.close().await;
    result
}

async fn create_tables(db: &DatabaseConnection) -> Result<(), Failure> {
    let report = service::create_tables(db).await?;
    if report.applied.is_empty() {
        println!("schema is already up to date; nothing to create");
    } else {
        for name in &report.applied {
            println!("applied migration {name}");
        }
        if !report.created_tables.is_empty() {
            println!("created tables: {}", report.created_tables.join(", "));
        }
    }
    Ok(())
}

async fn add_student(db: &DatabaseConnection, new: &NewStudent) -> Result<(), Failure> {
    let s = service::add_student(db, new).await?;
    println!(
        "added student {}: name {}, age {}, score {}",
        s.id,
        s.s_name,
        s.s_age,
        format_score(s.s_score)
    );
    Ok(())
}

async fn seed(db: &DatabaseConnection, options: &service::SeedOptions) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let mut bar = SeedProgress::new(options.count);
    let outcome = service::seed(db, options, &mut |done| bar.update(done)).await;
    bar.finish();
    let report = outcome?;
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        report.added as f64 / secs
    } else {
        0.0
    };
    let noun = if report.added == 1 {
        "student"
    } else {
        "students"
    };
    println!(
        "added {} {noun} in {secs:.2}s ({rate:.0} rows/s)",
        report.added
    );
    Ok(())
}

async fn list(db: &DatabaseConnection, format: Format) -> Result<(), Failure> {
    let mut rows = service::stream_students(db).await?;
    let out = BufWriter::with_capacity(64 * 1024, io::stdout());
    let mut writer = output::writer(format, out).map_err(Failure::Output)?;
    while let Some(row) = rows.next().await {
        writer.row(&row?).map_err(Failure::Output)?;
    }
    writer.finish().map_err(Failure::Output)
}

async fn drop_tables(db: &DatabaseConnection) -> Result<(), Failure> {
    let report = service::drop_tables(db).await?;
    if report.dropped_tables.is_empty() {
        println!("nothing to drop: none of the tables created by `cli create-tables` exist");
    } else {
        println!("dropped tables: {}", report.dropped_tables.join(", "));
    }
    Ok(())
}

/// Asks on a terminal, unless `--yes`; scripts (stdin not a terminal) proceed as asked.
fn confirmed(confirm: &Confirmation, url: &str) -> Result<bool, Failure> {
    if confirm.yes || !io::stdin().is_terminal() {
        return Ok(true);
    }
    let mut stderr = io::stderr();
    write!(
        stderr,
        "Drop the student table, every row in it, and the migration history from {}? [y/N] ",
        service::redact_url(url)
    )
    .and_then(|()| stderr.flush())
    .map_err(Failure::Output)?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Failure::Output)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
