//! `cli`: manage the student table from the command line. Parsing lives in `opt`, the work in
//! the `settings` and `service` crates, the dispatch in `run`; this file parses, runs, and
//! turns the outcome into an exit code.

mod config;
mod exit;
mod opt;
mod output;
mod progress;
mod run;
mod sessions_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::exit::Failure;

fn main() -> ExitCode {
    let opt = match opt::Opt::try_parse() {
        Ok(opt) => opt,
        Err(e) => return opt::clap_failure(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::Output(e).report(),
    };
    match runtime.block_on(run::run(opt)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
