//! `nutcracker -t`: the real nutcracker parses what tpc cannot vouch for itself, once,
//! at start: the `-template` file, or the pool the flags make. Every config tpc writes
//! after is that checked frame with server lines of names and addresses tpc validated
//! (DESIGN.md §10: `nutcracker -t` checks syntax only).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::target::{folder, resolve};
use super::temp::Temp;
use crate::core::shown::shown;

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
    if exited.status.code().is_none() {
        return Err(format!(
            "nutcracker -t did not finish ({}), so it could not judge the config",
            child::describe(&exited.status)
        ));
    }
    // nutcracker says why first and its verdict last.
    let said: Vec<String> = exited
        .output
        .stderr
        .last_lines(2)
        .iter()
        .map(|line| shown(line).to_string())
        .collect();
    Err(format!("nutcracker -t rejected it ({})", said.join(" / ")))
}

/// Where [`check_text`] puts its file for `beside` when it cannot be put beside it: in
/// the system's temp folder, under a name of its own for each config path (two tpcs on
/// one machine never take each other's), so that a leftover can be found and removed.
pub fn check_fallback(beside: &Path) -> PathBuf {
    let beside = resolve(beside).unwrap_or_else(|_| beside.to_path_buf());
    let id = xxhash_rust::xxh3::xxh3_64(beside.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("tpc-check-{id:016x}.yml"))
}

/// [`check`] on `text`, put in a temp file (nutcracker reads a file twice, so it cannot
/// come through a pipe) and removed after: beside the file `beside` leads to, or at
/// [`check_fallback`] when that folder cannot be written now (it may be fixed before
/// the first write). One a killed tpc left in either place is removed at the next
/// start ([`super::remove_stale`]). The file is mode 0600: it may hold `redis_auth`.
pub fn check_text(nutcracker: &Path, beside: &Path, text: &str) -> Result<(), String> {
    let target = resolve(beside).unwrap_or_else(|_| beside.to_path_buf());
    let fallback = check_fallback(&target);
    let (temp, mut file) = Temp::create(&target)
        .or_else(|_| Temp::create(&fallback))
        .map_err(|e| {
            format!(
                "cannot create a temp file beside {} nor in {}: {e}",
                target.display(),
                folder(&fallback).display()
            )
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", temp.path().display()))?;
    drop(file);
    check(nutcracker, temp.path())
}
