//! The `tpc` binary: parses the command line and hands it to [`tpc::shell::run`].

use std::process::ExitCode;

use tpc::shell::{cli, stdio};

fn main() -> ExitCode {
    match cli::utf8_args(std::env::args_os().skip(1)).and_then(|args| cli::parse(&args)) {
        Ok(command) => tpc::shell::run(command),
        Err(e) => {
            stdio::err_line(&format!("tpc: {e}"));
            ExitCode::from(2)
        }
    }
}
