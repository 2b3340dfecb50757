//! One function per command, each a thin call into `service` plus printing.

use std::io::{self, BufRead, BufWriter, IsTerminal, Write};

use futures_util::StreamExt;

use service::{
    ConnectSettings, DatabaseConnection, Migrator, NewStudent, SchemaChange, format_score,
};

use crate::exit::Failure;
use crate::opt::{Command, Destructive, Format, MigrateCommand, Opt, StatusFormat};
use crate::output;
use crate::progress::SeedProgress;
use crate::settings::{PRODUCTION_PROFILE, Resolved};

/// A command whose input has been validated; running it needs only the database.
enum Plan {
    CreateTables { dry_run: bool },
    AddStudent(NewStudent),
    Seed(service::SeedOptions),
    List(Format),
    DropTables { dry_run: bool },
    Status { format: StatusFormat, check: bool },
    Up { steps: Option<u32>, dry_run: bool },
    Down { steps: u32, dry_run: bool },
    Refresh { dry_run: bool },
}

impl Plan {
    /// Whether the command only reads: status, list, and every dry run.
    fn reads_only(&self) -> bool {
        match self {
            Plan::Status { .. } | Plan::List(_) => true,
            Plan::CreateTables { dry_run }
            | Plan::DropTables { dry_run }
            | Plan::Up { dry_run, .. }
            | Plan::Down { dry_run, .. }
            | Plan::Refresh { dry_run } => *dry_run,
            Plan::AddStudent(_) | Plan::Seed(_) => false,
        }
    }
}

/// Checks the input and asks for confirmation, before any connection is made: bad input
/// must fail the same way whether or not the server is up.
fn plan(command: &Command, settings: &Resolved) -> Result<Plan, Failure> {
    Ok(match command {
        Command::CreateTables(d) => Plan::CreateTables { dry_run: d.dry_run },
        Command::AddStudent(a) => Plan::AddStudent(NewStudent::new(&a.name, a.age, a.score)?),
        Command::Seed(s) => Plan::Seed(service::SeedOptions {
            count: service::validate::count_rule(s.count)?,
            rng_seed: s.seed,
            rows_per_statement: s.batch_rows,
        }),
        Command::List(l) => Plan::List(l.format),
        Command::DropTables(d) => {
            allowed(
                d,
                settings,
                "drop-tables",
                "drop the student table and every row in it",
            )?;
            Plan::DropTables {
                dry_run: d.dry_run.dry_run,
            }
        }
        Command::Migrate(MigrateCommand::Status(s)) => Plan::Status {
            format: s.format,
            check: s.check,
        },
        Command::Migrate(MigrateCommand::Up(u)) => Plan::Up {
            steps: u.steps,
            dry_run: u.dry_run.dry_run,
        },
        Command::Migrate(MigrateCommand::Down(d)) => {
            let what = format!(
                "revert the last {} migration(s), dropping what they created",
                d.steps
            );
            allowed(&d.destructive, settings, "migrate down", &what)?;
            Plan::Down {
                steps: d.steps,
                dry_run: d.destructive.dry_run.dry_run,
            }
        }
        Command::Migrate(MigrateCommand::Refresh(d)) => {
            allowed(
                d,
                settings,
                "migrate refresh",
                "revert every migration, dropping every row, then re-apply them",
            )?;
            Plan::Refresh {
                dry_run: d.dry_run.dry_run,
            }
        }
        // Handled before planning: they need no database.
        Command::Config | Command::Completions { .. } => {
            return Err(Failure::Config(
                "internal error: command needs no database".into(),
            ));
        }
    })
}

/// Whether a destructive command may go ahead: under the production profile only with an
/// explicit `--yes`; elsewhere after confirmation on a terminal. A dry run changes nothing.
fn allowed(d: &Destructive, settings: &Resolved, command: &str, what: &str) -> Result<(), Failure> {
    if d.dry_run.dry_run || d.yes {
        return Ok(());
    }
    if settings.profile.value == PRODUCTION_PROFILE {
        return Err(Failure::Refused(format!(
            "refusing to run `{command}` under the `{PRODUCTION_PROFILE}` profile (from {}) without --yes: it would {what}",
            settings.profile.source
        )));
    }
    if io::stdin().is_terminal() && !confirmed(what, &settings.database.url.value)? {
        return Err(Failure::Declined);
    }
    Ok(())
}

/// Runs the parsed command line with the settings in force.
pub async fn run(opt: &Opt, settings: &Resolved) -> Result<(), Failure> {
    match &opt.command {
        Command::Config => return print_config(settings),
        Command::Completions { shell } => {
            let mut command = <Opt as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "cli", &mut io::stdout());
            return Ok(());
        }
        _ => {}
    }
    let plan = plan(&opt.command, settings)?;
    let connect = ConnectSettings {
        url: settings.database.url.value.clone(),
        connect_timeout: std::time::Duration::from_secs(settings.connect_timeout.value),
        read_only: plan.reads_only(),
    };
    let db = service::connect(&connect).await?;
    let result = match plan {
        Plan::CreateTables { dry_run: true }
        | Plan::Up {
            steps: None,
            dry_run: true,
        } => print_sql(&db, SchemaChange::Up(None)).await,
        Plan::CreateTables { dry_run: false } => create_tables(&db).await,
        Plan::AddStudent(new) => add_student(&db, &new).await,
        Plan::Seed(options) => seed(&db, &options).await,
        Plan::List(format) => list(&db, format).await,
        Plan::DropTables { dry_run: true } => print_sql(&db, SchemaChange::Reset).await,
        Plan::DropTables { dry_run: false } => drop_tables(&db).await,
        Plan::Status { format, check } => status(&db, format, check).await,
        Plan::Up {
            steps,
            dry_run: true,
        } => print_sql(&db, SchemaChange::Up(steps)).await,
        Plan::Up {
            steps,
            dry_run: false,
        } => {
            let applied = service::migrate_up::<Migrator>(&db, steps).await?;
            report_migrations("applied", &applied);
            Ok(())
        }
        Plan::Down {
            steps,
            dry_run: true,
        } => print_sql(&db, SchemaChange::Down(Some(steps))).await,
        Plan::Down {
            steps,
            dry_run: false,
        } => {
            let reverted = service::migrate_down::<Migrator>(&db, Some(steps)).await?;
            report_migrations("reverted", &reverted);
            Ok(())
        }
        Plan::Refresh { dry_run: true } => print_sql(&db, SchemaChange::Refresh).await,
        Plan::Refresh { dry_run: false } => {
            let (reverted, applied) = service::migrate_refresh::<Migrator>(&db).await?;
            report_migrations("reverted", &reverted);
            report_migrations("applied", &applied);
            Ok(())
        }
    };
    // Best effort: the command's outcome is already decided.
    let _closed = db.close().await;
    result
}

fn report_migrations(verb: &str, names: &[String]) {
    if names.is_empty() {
        println!(
            "nothing {verb}: no migration to {}",
            if verb == "applied" { "apply" } else { "revert" }
        );
    }
    for name in names {
        println!("{verb} migration {name}");
    }
}

async fn print_sql(db: &DatabaseConnection, change: SchemaChange) -> Result<(), Failure> {
    let statements = service::dry_run::<Migrator>(db, change).await?;
    let mut out = io::stdout().lock();
    if statements.is_empty() {
        writeln!(out, "-- nothing to do; nothing would be changed").map_err(Failure::Output)?;
    }
    for statement in statements {
        writeln!(out, "{statement}").map_err(Failure::Output)?;
    }
    Ok(())
}

async fn status(db: &DatabaseConnection, format: StatusFormat, check: bool) -> Result<(), Failure> {
    let states = service::migration_status::<Migrator>(db).await?;
    let label = |applied: bool| if applied { "applied" } else { "pending" };
    let mut out = io::stdout().lock();
    match format {
        StatusFormat::Table => {
            writeln!(out, "{:<8} migration", "status").map_err(Failure::Output)?;
            for s in &states {
                writeln!(out, "{:<8} {}", label(s.applied), s.name).map_err(Failure::Output)?;
            }
        }
        StatusFormat::Json => {
            let rows: Vec<serde_json::Value> = states
                .iter()
                .map(|s| serde_json::json!({ "name": s.name, "status": label(s.applied) }))
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows).map_err(|e| Failure::Output(e.into()))?;
            writeln!(out).map_err(Failure::Output)?;
        }
    }
    let pending = states.iter().filter(|s| !s.applied).count();
    if check && pending > 0 {
        return Err(Failure::Pending(pending));
    }
    Ok(())
}

fn print_config(settings: &Resolved) -> Result<(), Failure> {
    let mut rows: Vec<(String, String, String)> = vec![
        (
            "profile".into(),
            settings.profile.value.clone(),
            settings.profile.source.to_string(),
        ),
        (
            "settings file".into(),
            settings
                .file
                .as_ref()
                .map_or("(none)".into(), |p| p.display().to_string()),
            String::new(),
        ),
        (
            "database url".into(),
            service::redact_url(&settings.database.url.value),
            settings.database.url.source.to_string(),
        ),
    ];
    for (key, shown, source) in &settings.database.parts {
        rows.push((format!("  {key}"), shown.clone(), source.to_string()));
    }
    rows.push((
        "echo".into(),
        settings.echo.value.to_string(),
        settings.echo.source.to_string(),
    ));
    rows.push((
        "connect timeout".into(),
        format!("{}s", settings.connect_timeout.value),
        settings.connect_timeout.source.to_string(),
    ));
    let width = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = io::stdout().lock();
    for (key, value, source) in rows {
        let line = format!("{key:<16} {value:<width$}  {source}");
        writeln!(out, "{}", line.trim_end()).map_err(Failure::Output)?;
    }
    Ok(())
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

/// Asks on the terminal whether to go ahead.
fn confirmed(what: &str, url: &str) -> Result<bool, Failure> {
    let mut stderr = io::stderr();
    write!(
        stderr,
        "This will {what} in {}. Continue? [y/N] ",
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
