//! Temp files a killed tpc left behind (SIGKILL, power loss) are removed at start. Only
//! names tpc itself makes are touched, in the folders it writes to: `.<name>.tpc-<hex>.tmp`
//! for the config and for its `.bak`, beside the `-out` path and beside its target, and
//! `<name>.bak.tmp`, the predictable name of earlier versions; those of the check at start
//! that had to go to the system's temp folder; and those of backups in the `-backup`
//! folder.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::backup_path;
use super::loaded;
use super::nutcracker::check_fallback;
use super::target::{folder, name, resolve};
use super::temp::is_temp_name;

/// A stale temp file found at start.
#[derive(Debug)]
pub enum Stale {
    /// Removed.
    Removed(PathBuf),
    /// Still there: it could not be removed.
    Kept(PathBuf, io::Error),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Removed(p) => write!(
                f,
                "Removed stale temp file {} (left by a tpc stopped mid-write)",
                p.display()
            ),
            Stale::Kept(p, e) => write!(
                f,
                "Cannot remove stale temp file {}: {e}; remove it by hand",
                p.display()
            ),
        }
    }
}

/// Whether `file_name` is one of tpc's temp files for the file called `dest_name`.
fn is_stale(file_name: &str, dest_name: &str) -> bool {
    let bak = name(&backup_path(Path::new(dest_name)));
    is_temp_name(file_name, dest_name)
        || is_temp_name(file_name, &bak)
        || is_temp_name(file_name, &loaded::mark_name(dest_name))
        || file_name == format!("{bak}.tmp")
}

/// Removes tpc's temp files for `path` (the `-out` file), and those of the check at
/// start in the system's temp folder ([`check_fallback`]), in order of name. A folder
/// that cannot be read has none to remove: writes will say what is wrong with it.
pub fn remove_stale(path: &Path) -> Vec<Stale> {
    let mut places = BTreeSet::new();
    places.insert((folder(path).to_path_buf(), name(path)));
    if let Ok(target) = resolve(path) {
        places.insert((folder(&target).to_path_buf(), name(&target)));
    }
    let fallback = check_fallback(path);
    places.insert((folder(&fallback).to_path_buf(), name(&fallback)));
    let mut found = BTreeSet::new();
    for (dir, dest_name) in &places {
        found.extend(files_in(dir, |n| is_stale(n, dest_name)));
    }
    remove_all(found)
}

/// Removes the temp files of backups (`-backup DIR`) a killed tpc left in `dir`: they
/// may hold `redis_auth`.
pub fn remove_stale_backups(dir: &Path) -> Vec<Stale> {
    let is_backup_temp = |n: &str| {
        n.get(1..1 + BACKUP_NAME_LEN)
            .is_some_and(|dest| dest.starts_with("backup-") && is_temp_name(n, dest))
    };
    remove_all(files_in(dir, is_backup_temp))
}

/// The length of `backup-YYYYMMDDhhmmss`.
const BACKUP_NAME_LEN: usize = "backup-".len() + 14;

/// The files (not folders) in `dir` whose names `wanted`, in order of name.
fn files_in(dir: &Path, wanted: impl Fn(&str) -> bool) -> BTreeSet<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| !e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| wanted(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect()
}

fn remove_all(found: BTreeSet<PathBuf>) -> Vec<Stale> {
    found
        .into_iter()
        .map(|p| match fs::remove_file(&p) {
            Ok(()) => Stale::Removed(p),
            Err(e) => Stale::Kept(p, e),
        })
        .collect()
}
