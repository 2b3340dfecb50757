//! `cli`: manage the student table from the command line. Parsing lives in `opt`, settings in
//! `settings`, the work in the `service` crate; this file wires them together and turns
//! failures into exit codes.

mod exit;
mod opt;
mod output;
mod progress;
mod run;
mod settings;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::exit::{Failure, code};
use crate::opt::Opt;
use crate::settings::{Inputs, Resolved, SettingsFile, Source, Sourced};

fn main() -> ExitCode {
    // Which variables the environment itself set, before `.env` adds its own (it never
    // overrides): that tells `cli config` which of the two a value came from.
    let from_environment = |var: &str| std::env::var_os(var).is_some();
    let preset = ["DATABASE_URL", "APP_ENV", "STUDENTS_CONFIG"].map(from_environment);
    if let Err(e) = load_dotenv() {
        return e.report("");
    }
    let matches = match Opt::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return clap_failure(&e),
    };
    let opt = match Opt::from_arg_matches(&matches) {
        Ok(opt) => opt,
        Err(e) => return clap_failure(&e),
    };
    let source = |id: &str, flag: &'static str, var: &'static str, preset: bool| match value_source(
        &matches, id,
    ) {
        Some(ValueSource::CommandLine) => Some(Source::Flag(flag)),
        Some(ValueSource::EnvVariable) if preset => Some(Source::Env(var)),
        Some(ValueSource::EnvVariable) => Some(Source::DotEnv(var)),
        _ => None,
    };
    let sourced = |value: &Option<String>, src: Option<Source>| {
        value
            .clone()
            .zip(src)
            .map(|(value, source)| Sourced { value, source })
    };
    let inputs = Inputs {
        url: sourced(
            &opt.global.database_url,
            source("database_url", "--database-url", "DATABASE_URL", preset[0]),
        ),
        profile: sourced(
            &opt.global.profile,
            source("profile", "--env", "APP_ENV", preset[1]),
        ),
        echo_flag: opt.global.verbose,
        connect_timeout_flag: opt.global.connect_timeout,
        env: None,
    };
    let resolved = match resolve_settings(&opt, &inputs) {
        Ok(r) => r,
        Err(e) => return e.report(""),
    };
    if resolved.echo.value {
        echo_sql_to_stderr();
    }
    let url = resolved.database.url.value.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::Output(e).report(&url),
    };
    let outcome = runtime.block_on(async {
        // Registered before the command starts: `tokio::signal::ctrl_c()` would only install
        // its handler when first polled, and a Ctrl-C before that would kill the process
        // without the message.
        let mut interrupt = match interrupt_listener() {
            Ok(listener) => listener,
            Err(e) => return Err(Failure::Output(e)),
        };
        tokio::select! {
            result = run::run(&opt, &resolved) => result,
            // Dropping the running command drops its open transaction, which rolls it back.
            _ = interrupt.recv() => Err(Failure::Service(service::Error::Interrupted)),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(&url),
    }
}

/// Where a global argument's value came from, wherever on the line it was given.
fn value_source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    let mut current = Some(matches);
    let mut found = None;
    while let Some(m) = current {
        if let Some(src) = m.value_source(id) {
            found = Some(src);
        }
        current = m.subcommand().map(|(_, sub)| sub);
    }
    found
}

/// Reads `--config` (or `./settings.toml` when present) and merges it with the inputs.
fn resolve_settings(opt: &Opt, inputs: &Inputs) -> Result<Resolved, Failure> {
    let file = match &opt.global.config {
        Some(path) => Some(SettingsFile::read(path)),
        None => {
            let default = std::path::Path::new(settings::DEFAULT_FILE);
            default.exists().then(|| SettingsFile::read(default))
        }
    };
    let file = file.transpose().map_err(|e| Failure::Config(e.0))?;
    settings::resolve(inputs, file.as_ref()).map_err(|e| Failure::Config(e.0))
}

#[cfg(unix)]
fn interrupt_listener() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(windows)]
fn interrupt_listener() -> std::io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}

fn load_dotenv() -> Result<(), Failure> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        // The line itself may hold a password, so only its position is shown.
        Err(dotenvy::Error::LineParse(_, index)) => Err(Failure::Config(format!(
            "cannot read `.env`: cannot parse it at character {index}; expected NAME=value lines"
        ))),
        Err(e) => Err(Failure::Config(format!("cannot read `.env`: {e}"))),
    }
}

/// Help and version go to stdout as usual; usage errors become one `error:` line, exit 2.
fn clap_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _printed = e.print();
        return if e.use_stderr() {
            ExitCode::from(code::INVALID_INPUT)
        } else {
            ExitCode::SUCCESS
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
    eprintln!("{}; see `cli --help`", message.join(" "));
    ExitCode::from(code::INVALID_INPUT)
}

/// `-v` or `echo = true`: every SQL statement SeaORM sends, one per line on stderr.
fn echo_sql_to_stderr() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "sea_orm::driver=debug,sea_orm::database::transaction=debug",
        ))
        .with_ansi(std::io::stderr().is_terminal())
        .with_level(false)
        .with_target(false)
        .without_time()
        .init();
}
