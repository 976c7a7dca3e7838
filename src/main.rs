//! The `tpc` binary: parses the command line and hands it to [`tpc::shell::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match tpc::shell::cli::parse(&args) {
        Ok(command) => tpc::shell::run(command),
        Err(e) => {
            eprintln!("tpc: {e}");
            ExitCode::from(2)
        }
    }
}
