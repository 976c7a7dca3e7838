//! `-backup DIR`: every config written is also saved as `DIR/backup-YYYYMMDDhhmmss`
//! (UTC), as the original's 0.1.7+ releases did; `-backup_keep N` removes the oldest
//! beyond N. A backup that fails is logged and counted, and never blocks the live write.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use super::temp::Temp;

const PREFIX: &str = "backup-";

/// Where and how many backups are kept, and how many failed.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    keep: usize,
    failures: Arc<AtomicU64>,
}

impl Archive {
    /// Backups in `dir`, keeping the newest `keep` (0: all).
    pub fn new(dir: PathBuf, keep: usize) -> Archive {
        Archive {
            dir,
            keep,
            failures: Arc::default(),
        }
    }

    /// How many backups failed so far (the released `tpc_backup_error_total`).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Saves `text` as written at `now`, then prunes; a failure is counted and returned.
    pub fn save(&self, text: &str, now: SystemTime) -> Result<PathBuf, String> {
        self.try_save(text, now).inspect_err(|_| {
            self.failures.fetch_add(1, Ordering::Relaxed);
        })
    }

    fn try_save(&self, text: &str, now: SystemTime) -> Result<PathBuf, String> {
        let name = format!("{PREFIX}{}", crate::shell::utc::stamp(now));
        let path = self.dir.join(&name);
        // A temp file as the config's own (mode 0600: it may hold redis_auth; random,
        // O_EXCL|O_NOFOLLOW), renamed into place; dropped on failure.
        let saved = Temp::create(&path).and_then(|(temp, mut file)| {
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            temp.rename_to(&path)
        });
        saved.map_err(|e| format!("cannot save the backup {}: {e}", path.display()))?;
        if self.keep > 0 {
            prune(&self.dir, self.keep, &name)
                .map_err(|e| format!("cannot remove old backups in {}: {e}", self.dir.display()))?;
        }
        Ok(path)
    }
}

/// Removes the oldest backups in `dir` beyond `keep`; their names sort by time. The one
/// just saved, `newest`, stays whatever the others are named (after the clock stepped
/// back, older files may sort later).
fn prune(dir: &Path, keep: usize, newest: &str) -> std::io::Result<()> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix(PREFIX)
                .is_some_and(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    names.retain(|n| n != newest);
    names.sort();
    let extra = (names.len() + 1).saturating_sub(keep);
    for name in &names[..extra] {
        fs::remove_file(dir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn saves_each_config_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("other"), "x").unwrap();
        let archive = Archive::new(dir.path().to_path_buf(), 2);
        for (i, secs) in [100, 200, 300].into_iter().enumerate() {
            archive.save(&format!("config {i}"), at(secs)).unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["backup-19700101000320", "backup-19700101000500", "other"]
        );
        let newest = fs::read_to_string(dir.path().join("backup-19700101000500")).unwrap();
        assert_eq!(newest, "config 2");
        assert_eq!(archive.failures(), 0);
    }

    #[test]
    fn backups_are_private_and_a_folder_of_a_backups_name_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("backup-20000101000000")).unwrap();
        let archive = Archive::new(dir.path().to_path_buf(), 1);
        let saved = archive
            .save("redis_auth: s3cret\n", at(1_700_000_000))
            .unwrap();
        let mode = fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup may hold redis_auth");
        assert_eq!(archive.failures(), 0);
        assert!(dir.path().join("backup-20000101000000").is_dir());
    }

    #[test]
    fn the_backup_just_saved_stays_after_the_clock_stepped_back() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["backup-20301201000000", "backup-20301202000000"] {
            fs::write(dir.path().join(name), "later").unwrap();
        }
        let archive = Archive::new(dir.path().to_path_buf(), 2);
        let saved = archive.save("now", at(1_700_000_000)).unwrap();
        assert_eq!(fs::read_to_string(&saved).unwrap(), "now");
        assert!(dir.path().join("backup-20301202000000").exists());
        assert!(!dir.path().join("backup-20301201000000").exists());
    }

    #[test]
    fn a_failed_backup_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().join("gone"), 0);
        let e = archive.save("x", at(0)).unwrap_err();
        assert!(e.contains("gone"), "{e}");
        assert_eq!(archive.failures(), 1);
    }
}
