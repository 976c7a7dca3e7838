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

/// Runs `nutcracker -t -c file`: Ok when nutcracker accepts the file.
pub fn check(nutcracker: &Path, file: &Path) -> Result<(), String> {
    let out = std::process::Command::new(nutcracker)
        .arg("-t")
        .arg("-c")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", nutcracker.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(format!(
        "nutcracker -t rejected the new config ({said}); the last good config stays"
    ))
}
