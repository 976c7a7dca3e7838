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

/// How long `nutcracker -t` may take (it answers in milliseconds).
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `nutcracker -t -c file`: Ok when nutcracker accepts the file. After
/// [`CHECK_TIMEOUT`] it is killed with every process it started, and the file is taken
/// as rejected.
fn check(nutcracker: &Path, file: &Path) -> Result<(), String> {
    use super::child::{self, RunError};
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
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_with_mode_0600_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nutcracker.yml");
        assert_eq!(read_existing(&path).unwrap(), None);
        write_atomically(&path, "one", None).unwrap();
        write_atomically(&path, "two", None).unwrap();
        assert_eq!(read_existing(&path).unwrap().as_deref(), Some("two"));
        assert_eq!(fs::read_to_string(backup_path(&path)).unwrap(), "one");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[test]
    fn a_missing_directory_fails_and_keeps_nothing_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/nutcracker.yml");
        let e = write_atomically(&path, "x", None).unwrap_err();
        assert!(e.contains("cannot create"), "{e}");
    }

    #[test]
    fn a_config_nutcracker_rejects_never_replaces_the_live_one() {
        let nutcracker = find_nutcracker(None).expect("nutcracker installed (scripts/test.sh)");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nutcracker.yml");
        let good = "redis:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n  - 127.0.0.1:6379:1 a\n";
        write_atomically(&path, good, Some(&nutcracker)).unwrap();
        let e = write_atomically(&path, "redis:\n  bogus_key: 1\n", Some(&nutcracker)).unwrap_err();
        assert!(e.contains("nutcracker -t rejected"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), good);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file, no .bak yet"
        );
        assert!(find_nutcracker(Some(Path::new("/no/such/nutcracker"))).is_err());
    }
}
