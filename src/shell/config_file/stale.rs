//! Temp files a killed tpc left behind (SIGKILL, power loss) are removed at start. Only
//! names tpc itself makes are touched, in the folders it writes to: `.<name>.tpc-<hex>.tmp`
//! for the config and for its `.bak`, beside the `-out` path and beside its target, and
//! `<name>.bak.tmp`, the predictable name of earlier versions.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::backup_path;
use super::loaded;
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

/// Removes tpc's temp files for `path` (the `-out` file), in order of name. A folder
/// that cannot be read has none to remove: writes will say what is wrong with it.
pub fn remove_stale(path: &Path) -> Vec<Stale> {
    let mut places = BTreeSet::new();
    places.insert((folder(path).to_path_buf(), name(path)));
    if let Ok(target) = resolve(path) {
        places.insert((folder(&target).to_path_buf(), name(&target)));
    }
    let mut found = BTreeSet::new();
    for (dir, dest_name) in &places {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if !is_dir && is_stale(&entry.file_name().to_string_lossy(), dest_name) {
                found.insert(entry.path());
            }
        }
    }
    found
        .into_iter()
        .map(|p| match fs::remove_file(&p) {
            Ok(()) => Stale::Removed(p),
            Err(e) => Stale::Kept(p, e),
        })
        .collect()
}
