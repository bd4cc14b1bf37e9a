//! `corridor`: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;
use corridor_host::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = corridor_host::logging::init(&cli.log, cli.log_format) {
        eprintln!("corridor: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("corridor: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("corridor: {error:#}");
            ExitCode::FAILURE
        }
    }
}
