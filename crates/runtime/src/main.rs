//! `tscontainer-runtime`: a runc-compatible OCI runtime. This file only parses the command
//! line, sets up logging and dispatches; the work is in `tscontainer_core`.
//!
//! The process stays single-threaded from start to finish: containers are cloned from it.

mod cli;
mod commands;
mod logging;
mod sealed;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(cli.global.log.as_deref(), cli.global.log_format, cli.global.debug) {
        eprintln!("{}: {e}", logging::program_name());
        std::process::exit(1);
    }
    if cli.command.enters_containers() {
        let root = cli.global.root.clone().unwrap_or_else(tscontainer_core::state::default_root);
        if let Err(e) = sealed::reexec(&root) {
            logging::warn(&format!("running unprotected against CVE-2019-5736: {e}"));
        }
    }
    let failure_status = cli.command.failure_status();
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&e);
            failure_status
        }
    };
    std::process::exit(code);
}
