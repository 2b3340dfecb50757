//! The dispatch: one `match` from command to service call. Each arm validates its input and
//! asks for confirmation before it connects, so bad input fails the same way whether or not
//! the server is up, then connects with the access the command needs, then reports.

use std::fmt::Display;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::time::Duration;

use futures_util::StreamExt;
use service::{
    Access, ConnectSettings, DatabaseConnection, Interrupt, Migrator, NewStudent, SchemaChange,
    SchemaOptions, SchemaReport, format_score,
};
use settings::{Dialect, Environment, Settings};

use crate::exit::Failure;
use crate::opt::{Command, Destructive, Format, LockWait, MigrateCommand, Opt, StatusFormat};
use crate::output;
use crate::progress::SeedProgress;

/// Runs the parsed command line.
pub async fn run(opt: Opt) -> Result<(), Failure> {
    let flags = opt.global.flags();
    match &opt.command {
        // Neither reads settings, `.env` or the database: they work whatever those hold.
        Command::Completions { shell } => return completions(*shell),
        Command::Config => return crate::config::print(&flags, &Environment::process()).await,
        _ => {}
    }
    let settings = Settings::resolve(&flags, &Environment::process())?;
    if settings.echo.value {
        echo_sql_to_stderr();
    }
    let interrupt = interrupt_on_ctrl_c().map_err(Failure::Output)?;
    let s = &settings;
    match opt.command {
        Command::CreateTables(a) => {
            if a.dry_run.dry_run {
                return print_sql(s, &interrupt, SchemaChange::Up(None), a.adopt).await;
            }
            let options = schema_options(s, &a.lock, &interrupt, a.adopt);
            with_db_for_schema(s, Access::Create, &interrupt, async |db| {
                let report = service::create_tables(db, &options).await?;
                if report.is_empty() {
                    return print_report("schema is already up to date; nothing to create");
                }
                print_report(schema_report(&report))
            })
            .await
        }
        Command::AddStudent(a) => {
            let new = NewStudent::new(&a.name, a.age, a.score)?;
            with_db(s, Access::Write, &interrupt, async |db| {
                let row = service::add_student(db, &new).await?;
                print_report(format_args!(
                    "added student {}: name {}, age {}, score {}",
                    row.id,
                    row.s_name,
                    row.s_age,
                    format_score(row.s_score)
                ))
            })
            .await
        }
        Command::Seed(a) => {
            let count = service::validate::count_rule(a.count)?;
            let rows_per_statement = match (a.batch_rows, dialect(s)) {
                (Some(n), Some(d)) => Some(service::mutation::rows_per_statement_rule(
                    service::backend_of(d),
                    n,
                )?),
                (n, _) => n,
            };
            let options = service::SeedOptions {
                count,
                rng_seed: a.seed,
                rows_per_statement,
            };
            with_db(s, Access::Write, &interrupt, async |db| {
                seed(db, &options).await
            })
            .await
        }
        Command::List(l) => {
            with_db(s, Access::Read, &interrupt, async |db| {
                list(db, l.format).await
            })
            .await
        }
        Command::DropTables(a) => {
            let d = &a.destructive;
            confirm_destructive(
                d,
                s,
                "drop-tables",
                "drop the student table and every row in it",
            )?;
            if d.dry_run.dry_run {
                return print_sql(s, &interrupt, SchemaChange::Reset, false).await;
            }
            let options = schema_options(s, &a.lock, &interrupt, false);
            with_db_for_schema(s, Access::Write, &interrupt, async |db| {
                let report = service::drop_tables(db, &options).await?;
                if report.is_empty() {
                    print_report(
                        "nothing to drop: none of the tables created by `cli create-tables` exist",
                    )
                } else {
                    print_report(schema_report(&report))
                }
            })
            .await
        }
        Command::Migrate(MigrateCommand::Status(a)) => {
            with_db(s, Access::Read, &interrupt, async |db| {
                status(db, a.format, a.check).await
            })
            .await
        }
        Command::Migrate(MigrateCommand::Up(a)) => {
            if a.dry_run.dry_run {
                return print_sql(s, &interrupt, SchemaChange::Up(a.steps), false).await;
            }
            let options = schema_options(s, &a.lock, &interrupt, false);
            with_db_for_schema(s, Access::Create, &interrupt, async |db| {
                let report = service::migrate_up::<Migrator>(db, a.steps, &options).await?;
                if report.is_empty() {
                    return print_report(migrations("applied", &[]));
                }
                print_report(schema_report(&report))
            })
            .await
        }
        Command::Migrate(MigrateCommand::Down(a)) => {
            let what = format!(
                "revert the last {} migration(s), dropping what they created",
                a.steps
            );
            confirm_destructive(&a.destructive, s, "migrate down", &what)?;
            if a.destructive.dry_run.dry_run {
                return print_sql(s, &interrupt, SchemaChange::Down(Some(a.steps)), false).await;
            }
            let options = schema_options(s, &a.lock, &interrupt, false);
            with_db_for_schema(s, Access::Write, &interrupt, async |db| {
                let report = service::migrate_down::<Migrator>(db, Some(a.steps), &options).await?;
                if report.is_empty() {
                    return print_report(migrations("reverted", &[]));
                }
                print_report(schema_report(&report))
            })
            .await
        }
        Command::Migrate(MigrateCommand::Refresh(a)) => {
            let d = &a.destructive;
            confirm_destructive(
                d,
                s,
                "migrate refresh",
                "revert every migration, dropping every row, then re-apply them",
            )?;
            if d.dry_run.dry_run {
                return print_sql(s, &interrupt, SchemaChange::Refresh, false).await;
            }
            let options = schema_options(s, &a.lock, &interrupt, false);
            with_db_for_schema(s, Access::Create, &interrupt, async |db| {
                let report = service::migrate_refresh::<Migrator>(db, &options).await?;
                print_report(schema_report(&report))
            })
            .await
        }
        Command::Sessions(command) => crate::sessions_cmd::run(command, s).await,
        Command::Serve(a) => {
            let options = web::ServeOptions {
                host: a.host,
                port: a.port,
                templates: a.templates,
                grace: std::time::Duration::from_secs(a.grace),
            };
            let shutdown = shutdown_signal(interrupt.clone()).map_err(Failure::Output)?;
            web::run(s, &options, shutdown)
                .await
                .map_err(Failure::Serve)
        }
        Command::Config | Command::Completions { .. } => Ok(()),
    }
}

/// The dialect of the URL in force, when its scheme is known (else `connect` will say so).
fn dialect(settings: &Settings) -> Option<Dialect> {
    Dialect::of_url(settings.database.url.value.expose())
}

/// Connects with `access`, runs `work`, and closes the connections whatever happened, so the
/// server sees every session end cleanly. Ctrl-C drops `work`: an open transaction rolls back.
async fn with_db<T>(
    settings: &Settings,
    access: Access,
    interrupt: &Interrupt,
    work: impl AsyncFnOnce(&DatabaseConnection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let db = connect(settings, access, interrupt).await?;
    let mut stop = interrupt.clone();
    let result = tokio::select! {
        result = work(&db) => result,
        () = stop.wait() => Err(service::Error::Interrupted.into()),
    };
    // Best effort: the outcome is already decided.
    let _closed = db.close().await;
    result
}

/// Connects with `access`; Ctrl-C while connecting stops with nothing done.
async fn connect(
    settings: &Settings,
    access: Access,
    interrupt: &Interrupt,
) -> Result<DatabaseConnection, Failure> {
    let mut stop = interrupt.clone();
    let connect = ConnectSettings::from_settings(settings, access);
    tokio::select! {
        db = service::connect(&connect) => Ok(db?),
        () = stop.wait() => Err(service::Error::InterruptedUnchanged.into()),
    }
}

/// As [`with_db`], but `work` always runs to its end: a schema change consults `interrupt`
/// itself, between statements, so that it is never dropped halfway (MySQL/MariaDB cannot undo
/// the statements that already ran, and must be told which did).
async fn with_db_for_schema<T>(
    settings: &Settings,
    access: Access,
    interrupt: &Interrupt,
    work: impl AsyncFnOnce(&DatabaseConnection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let db = connect(settings, access, interrupt).await?;
    let result = work(&db).await;
    // Best effort: the outcome is already decided.
    let _closed = db.close().await;
    result
}

/// How a schema command runs: `--lock-timeout`, else the busy timeout.
fn schema_options(
    settings: &Settings,
    lock: &LockWait,
    interrupt: &Interrupt,
    adopt: bool,
) -> SchemaOptions {
    SchemaOptions {
        lock_timeout: Duration::from_secs(lock.lock_timeout.unwrap_or(settings.busy_timeout.value)),
        interrupt: interrupt.clone(),
        adopt,
    }
}

/// What a schema change did, one fact per line.
fn schema_report(report: &SchemaReport) -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(
        report
            .reverted
            .iter()
            .map(|name| format!("reverted migration {name}")),
    );
    lines.extend(
        report
            .applied
            .iter()
            .map(|name| format!("applied migration {name}")),
    );
    lines.extend(report.notes.iter().cloned());
    if !report.dropped_tables.is_empty() {
        lines.push(format!(
            "dropped tables: {}",
            report.dropped_tables.join(", ")
        ));
    }
    if !report.created_tables.is_empty() {
        lines.push(format!(
            "created tables: {}",
            report.created_tables.join(", ")
        ));
    }
    lines.join("\n")
}

/// Listens for SIGINT from now on: registered before the command starts, so an early Ctrl-C
/// is never lost (tokio's `ctrl_c()` would only register when first polled).
fn interrupt_on_ctrl_c() -> io::Result<Interrupt> {
    let (trigger, interrupt) = service::interrupt_pair();
    #[cfg(unix)]
    let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    #[cfg(windows)]
    let mut signal = tokio::signal::windows::ctrl_c()?;
    tokio::spawn(async move {
        if signal.recv().await.is_some() {
            trigger.trigger();
        }
    });
    Ok(interrupt)
}

/// Resolves at the first SIGINT or SIGTERM: how a server is asked to stop.
fn shutdown_signal(
    mut interrupt: Interrupt,
) -> io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            () = interrupt.wait() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        interrupt.wait().await;
    })
}

/// Writes `text` and a newline to stdout, flushed.
fn write_stdout(text: impl Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Prints the report of a change that has been made: if it cannot be written, the run says
/// so with its own exit code, since running it again would repeat the change.
fn print_report(text: impl Display) -> Result<(), Failure> {
    write_stdout(text).map_err(Failure::Unreported)
}

/// Prints the output of a command that changed nothing.
fn print_output(text: impl Display) -> Result<(), Failure> {
    write_stdout(text).map_err(Failure::Output)
}

fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut command = <Opt as clap::CommandFactory>::command();
    // clap_complete panics when its writer fails: render into memory, then write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "cli", &mut script);
    let mut out = io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(Failure::Output)
}

fn migrations(verb: &str, names: &[String]) -> String {
    if names.is_empty() {
        let what = if verb == "applied" { "apply" } else { "revert" };
        return format!("nothing {verb}: no migration to {what}");
    }
    names
        .iter()
        .map(|name| format!("{verb} migration {name}"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn print_sql(
    settings: &Settings,
    interrupt: &Interrupt,
    change: SchemaChange,
    adopt: bool,
) -> Result<(), Failure> {
    with_db(settings, Access::Read, interrupt, async |db| {
        let statements = service::dry_run::<Migrator>(db, change, adopt).await?;
        if statements.is_empty() {
            return print_output("-- nothing to do; nothing would be changed");
        }
        print_output(statements.join("\n"))
    })
    .await
}

async fn status(db: &DatabaseConnection, format: StatusFormat, check: bool) -> Result<(), Failure> {
    let states = service::migration_status::<Migrator>(db).await?;
    let label = |applied: bool| if applied { "applied" } else { "pending" };
    let text = match format {
        StatusFormat::Table => std::iter::once(format!("{:<8} migration", "status"))
            .chain(states.iter().map(|s| match &s.problem {
                None => format!("{:<8} {}", label(s.applied), s.name),
                Some(problem) => format!("{:<8} {}  ({problem})", label(s.applied), s.name),
            }))
            .collect::<Vec<_>>()
            .join("\n"),
        StatusFormat::Json => {
            let rows: Vec<serde_json::Value> = states
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "name": s.name,
                        "status": label(s.applied),
                        "problem": s.problem,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rows).map_err(|e| Failure::Output(e.into()))?
        }
    };
    print_output(text)?;
    let broken: Vec<String> = states
        .iter()
        .filter(|s| s.needs_repair())
        .map(|s| format!("{}: {}", s.name, s.problem.as_deref().unwrap_or_default()))
        .collect();
    if check && !broken.is_empty() {
        return Err(service::Error::NeedsRepair(broken).into());
    }
    let pending = states.iter().filter(|s| !s.applied).count();
    if check && pending > 0 {
        return Err(Failure::Pending(pending));
    }
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
    let retried = match report.retried {
        0 => String::new(),
        1 => "; the transaction was retried once after a deadlock or certification conflict"
            .to_owned(),
        n => format!(
            "; the transaction was retried {n} times after deadlocks or certification conflicts"
        ),
    };
    print_report(format_args!(
        "added {} {noun} in {secs:.2}s ({rate:.0} rows/s{retried})",
        report.added
    ))
}

async fn list(db: &DatabaseConnection, format: Format) -> Result<(), Failure> {
    let mut rows = service::stream_students(db).await?;
    let out = BufWriter::with_capacity(64 * 1024, io::stdout());
    let mut writer = output::writer(format, out);
    while let Some(row) = rows.next().await {
        writer.row(&row?).map_err(Failure::Output)?;
    }
    writer.finish().map_err(Failure::Output)
}

/// Whether a destructive command may go ahead: under the production profile only with an
/// explicit `--yes`; elsewhere after confirmation on a terminal. A dry run changes nothing.
fn confirm_destructive(
    d: &Destructive,
    settings: &Settings,
    command: &str,
    what: &str,
) -> Result<(), Failure> {
    confirm(d.yes, d.dry_run.dry_run, settings, command, what)
}

/// As [`confirm_destructive`], from the flags themselves.
pub fn confirm(
    yes: bool,
    dry_run: bool,
    settings: &Settings,
    command: &str,
    what: &str,
) -> Result<(), Failure> {
    if dry_run || yes {
        return Ok(());
    }
    if settings.profile.value.is_production() {
        return Err(Failure::Refused(format!(
            "refusing to run `{command}` under the `{}` profile (from {}) without --yes: it would {what}",
            settings.profile.value, settings.profile.source
        )));
    }
    if io::stdin().is_terminal() && !asked(what, settings)? {
        return Err(Failure::Declined);
    }
    Ok(())
}

/// Asks on the terminal whether to go ahead.
fn asked(what: &str, settings: &Settings) -> Result<bool, Failure> {
    let mut stderr = io::stderr();
    write!(
        stderr,
        "This will {what} in {}. Continue? [y/N] ",
        settings.database.url.value
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

/// `-v` or `echo = true`: every SQL statement SeaORM sends, one per line on stderr.
fn echo_sql_to_stderr() {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "sea_orm::driver=debug,sea_orm::database::transaction=debug",
        ))
        .with_ansi(io::stderr().is_terminal())
        .with_level(false)
        .with_target(false)
        .without_time()
        .init();
}
