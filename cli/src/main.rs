//! `cli`: manage the student table from the command line. Parsing lives in `opt`, the work in
//! the `service` crate; this file wires them together and turns failures into exit codes.

mod exit;
mod opt;
mod output;
mod progress;
mod run;

use std::process::ExitCode;

use clap::Parser;

use crate::exit::{Failure, code};
use crate::opt::Opt;

fn main() -> ExitCode {
    // `.env` in the current directory only; variables already set win over it.
    if let Err(e) = load_dotenv() {
        return e.report("");
    }
    let opt = match Opt::try_parse() {
        Ok(opt) => opt,
        Err(e) => return clap_failure(&e),
    };
    if opt.verbose {
        echo_sql_to_stderr();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::Output(e).report(""),
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
            result = run::run(&opt) => result,
            // Dropping the running command drops its open transaction, which rolls it back.
            _ = interrupt.recv() => Err(Failure::Service(service::Error::Interrupted)),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(opt.connect.url()),
    }
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
        // The line itself may hold a password, so only its number is shown.
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

/// `-v`: every SQL statement SeaORM sends, one per line on stderr, and nothing else.
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
