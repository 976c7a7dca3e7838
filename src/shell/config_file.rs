//! Writing the config file so it is never torn: a temp file in the same directory,
//! written, fsynced and given mode 0600 (it may hold redis_auth), then renamed over the
//! live file, and the directory fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Reads the config file as it is now, if there is one.
pub fn read_existing(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
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

/// Replaces `path` with `text` atomically: a reader sees the old file or the new one,
/// never a mix, and a crash leaves the old file in place.
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(parent(path))?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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
        write_atomically(&path, "one").unwrap();
        write_atomically(&path, "two").unwrap();
        assert_eq!(read_existing(&path).unwrap().as_deref(), Some("two"));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_fails_and_keeps_nothing_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/nutcracker.yml");
        let e = write_atomically(&path, "x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
