//! `nutcracker -t`: the real nutcracker parses each new config before it goes live.

use std::path::{Path, PathBuf};

/// Finds the nutcracker binary: `given`, or `nutcracker` on PATH (and in the sbin
/// folders, where Debian installs it).
pub fn find_nutcracker(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("-nutcracker {}: no such file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nutcracker"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "nutcracker is not on PATH: install it (apt-get install nutcracker), give -nutcracker PATH, or switch the check off with -validate=false".to_string()
        })
}

/// How long `nutcracker -t` may take before it is killed with every process it started.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `nutcracker -t -c file`: Ok when nutcracker accepts the file. A check that takes
/// longer than [`CHECK_TIMEOUT`] is killed with every process it started, and the file
/// is taken as rejected.
pub fn check(nutcracker: &Path, file: &Path) -> Result<(), String> {
    use crate::shell::child::{self, RunError};
    use std::ffi::OsStr;
    let args = [OsStr::new("-t"), OsStr::new("-c"), file.as_os_str()];
    let exited =
        child::run_blocking(nutcracker.as_os_str(), &args, CHECK_TIMEOUT).map_err(|e| match e {
            RunError::TimedOut { after, .. } => format!(
                "nutcracker -t did not answer: killed after {}s; the last good config stays",
                after.as_secs()
            ),
            other => format!("cannot run {}: {other}", nutcracker.display()),
        })?;
    if exited.status.success() {
        return Ok(());
    }
    let said = exited.output.stderr.lines().into_iter().next();
    Err(format!(
        "nutcracker -t rejected the new config ({}); the last good config stays",
        said.as_deref().unwrap_or("")
    ))
}
