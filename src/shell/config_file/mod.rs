//! Writing the config file so it is never torn nor broken: a temp file in the same
//! directory, written with mode 0600 (it may hold redis_auth) and fsynced, checked by
//! `nutcracker -t`, the live file kept as `<file>.bak`, then the temp file renamed over
//! the live one and the directory fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Reads the config file as it is now, if there is one.
pub fn read_existing(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        // No file yet, or its folder is missing or not a folder: writes will say so and
        // be retried.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    path.with_file_name(format!(".{name}.tpc-{}.tmp", std::process::id()))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The name of the copy of the previous config: `<file>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

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
fn check(nutcracker: &Path, file: &Path) -> Result<(), String> {
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

/// Replaces `path` with `text` atomically: a reader sees the old file or the new one,
/// never a mix, and a crash leaves the old file in place. With `nutcracker`, the new
/// file must pass `nutcracker -t` first. The previous file is kept as `<path>.bak`.
pub fn write_atomically(path: &Path, text: &str, nutcracker: Option<&Path>) -> Result<(), String> {
    let shown = path.display();
    let tmp = temp_path(path);
    let result = (|| {
        let io = |what: &str, e: io::Error| format!("cannot {what} {}: {e}", tmp.display());
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("create", e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        if let Some(nutcracker) = nutcracker {
            check(nutcracker, &tmp)?;
        }
        if path.exists() {
            keep_backup(path).map_err(|e| format!("cannot keep {shown} as .bak: {e}"))?;
        }
        fs::rename(&tmp, path).map_err(|e| format!("cannot replace {shown}: {e}"))?;
        File::open(parent(path))
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync the folder of {shown}: {e}"))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Copies the live file to `<path>.bak`, atomically too.
fn keep_backup(path: &Path) -> io::Result<()> {
    let bak = backup_path(path);
    let mut tmp = bak.as_os_str().to_owned();
    tmp.push(".tmp");
    fs::copy(path, &tmp)?;
    fs::rename(&tmp, &bak)
}

#[cfg(test)]
mod tests;
