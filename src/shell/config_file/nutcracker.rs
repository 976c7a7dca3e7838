//! `nutcracker -t`: the real nutcracker parses what tpc cannot vouch for itself, once,
//! at start: the `-template` file, or the pool the flags make. Every config tpc writes
//! after is that checked frame with server lines of names and addresses tpc validated
//! (DESIGN.md §10: `nutcracker -t` checks syntax only).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::target::resolve;
use super::temp::Temp;

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

/// Runs `nutcracker -t -c file`: Ok when nutcracker accepts the file; the error says
/// why not ("nutcracker -t rejected it (...)"). A check that takes longer than
/// [`CHECK_TIMEOUT`] is killed with every process it started, and the file is taken as
/// rejected.
pub fn check(nutcracker: &Path, file: &Path) -> Result<(), String> {
    use crate::shell::child::{self, RunError};
    use std::ffi::OsStr;
    let args = [OsStr::new("-t"), OsStr::new("-c"), file.as_os_str()];
    let exited =
        child::run_blocking(nutcracker.as_os_str(), &args, CHECK_TIMEOUT).map_err(|e| match e {
            RunError::TimedOut { after, .. } => format!(
                "nutcracker -t did not answer: killed after {}s",
                after.as_secs()
            ),
            other => format!("cannot run {}: {other}", nutcracker.display()),
        })?;
    if exited.status.success() {
        return Ok(());
    }
    let said = exited.output.stderr.lines().into_iter().next();
    Err(format!(
        "nutcracker -t rejected it ({})",
        said.as_deref().unwrap_or("")
    ))
}

/// [`check`] on `text`, put in a temp file (nutcracker reads a file twice, so it cannot
/// come through a pipe) and removed after: beside the file `beside` leads to, where one
/// a killed tpc leaves is removed at the next start as a write's, or in the system's
/// temp folder when that folder cannot be written now (it may be fixed before the
/// first write). The file is mode 0600: it may hold `redis_auth`.
pub fn check_text(nutcracker: &Path, beside: &Path, text: &str) -> Result<(), String> {
    let beside = resolve(beside).unwrap_or_else(|_| beside.to_path_buf());
    let elsewhere = std::env::temp_dir().join("tpc-check.yml");
    let (temp, mut file) = Temp::create(&beside)
        .or_else(|_| Temp::create(&elsewhere))
        .map_err(|e| {
            format!(
                "cannot create a temp file beside {} nor in {}: {e}",
                beside.display(),
                std::env::temp_dir().display()
            )
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", temp.path().display()))?;
    drop(file);
    check(nutcracker, temp.path())
}
