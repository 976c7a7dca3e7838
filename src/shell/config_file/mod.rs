//! Writing the config file so it is never torn nor broken, and stays what the operator
//! made it. Through any symlinks to the final target (`target`), a temp file in the
//! target's folder (`temp`: mode 0600 while it is written, as it may hold
//! `redis_auth`) gets the text, the live file's owner, group and mode (`ownership`)
//! and an fsync; the live file is kept as
//! `<file>.bak` (`backup`), the temp file renamed over it and the folder fsynced. The
//! reload need not wait for the last two ([`Replaced::finish`]): once the rename is
//! done nutcracker reads the new file.
//! Temp files a killed tpc left are removed at start (`stale`). What nutcracker last
//! loaded is remembered beside the file ([`loaded`]). What tpc cannot vouch for itself
//! is checked by `nutcracker -t` once, at start (`nutcracker`).

pub mod archive;
mod backup;
pub mod loaded;
mod nutcracker;
mod ownership;
mod stale;
mod target;
mod temp;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

pub use backup::backup_path;
pub use nutcracker::{
    check as nutcracker_check, check_text as nutcracker_check_text, find_nutcracker,
};
pub use ownership::NEW_FILE_MODE;
pub use stale::{remove_stale, remove_stale_backups, Stale};
pub use target::same_file;

use ownership::Ownership;
use target::{folder, resolve};
use temp::Temp;

/// Reads the config file as it is now, if there is one. Anything but a regular file (a
/// folder, a FIFO that would block, a device) is an error.
pub fn read_existing(path: &Path) -> io::Result<Option<String>> {
    if let Ok(meta) = fs::metadata(path) {
        if !meta.is_file() {
            return Err(io::Error::other(
                "it is not a regular file: -out must name a file (or a symlink to one)",
            ));
        }
    }
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

/// Replaces `path` (or, when it is a symlink, the file it finally leads to) with `text`
/// atomically: a reader sees the old file or the new one, never a mix, and a crash
/// leaves the old file in place. The new file has the old one's owner, group and mode;
/// a first file has [`NEW_FILE_MODE`] and its folder's group. The previous file is kept
/// as `<file>.bak`.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    replace(path, text)?.finish()
}

/// A new config renamed into place, readable by nutcracker: its `.bak` and the sync of
/// its folder (which makes the rename survive a crash) are still to come.
#[must_use = "finish() keeps the .bak and syncs the folder"]
pub struct Replaced {
    target: PathBuf,
    /// The previous file, under a temp name beside its `.bak`.
    previous: Option<Temp>,
}

impl Replaced {
    /// Keeps the previous file as `<file>.bak` and syncs the folder.
    pub fn finish(self) -> Result<(), String> {
        let shown = self.target.display();
        // The .bak is a convenience: failing to keep it never fails a write.
        if let Some(previous) = self.previous {
            if let Err(e) = previous.rename_to(&backup_path(&self.target)) {
                warn!("Cannot keep the previous {shown} as .bak: {e}");
            }
        }
        File::open(folder(&self.target))
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync the folder of {shown}: {e}"))
    }
}

/// [`write_atomically`] up to the rename: the rest is [`Replaced::finish`].
pub fn replace(path: &Path, text: &str) -> Result<Replaced, String> {
    let target =
        resolve(path).map_err(|e| format!("cannot follow the symlink {}: {e}", path.display()))?;
    let shown = target.display();
    let live = match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => return Err(format!("{shown} is not a file: -out must name a file")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let (temp, mut file) = Temp::create(&target)
        .map_err(|e| format!("cannot create a temp file beside {shown}: {e}"))?;
    let io = |what: &str, e: io::Error| format!("cannot {what} {}: {e}", temp.path().display());
    file.write_all(text.as_bytes())
        .map_err(|e| io("write", e))?;
    let owner = match &live {
        Some(meta) => Ownership::of(meta),
        None => Ownership::for_new_file(
            &file.metadata().map_err(|e| io("read", e))?,
            &fs::metadata(folder(&target)).map_err(|e| io("read the folder of", e))?,
        ),
    };
    owner.apply(&file).map_err(|e| {
        format!("cannot give the new config the {owner} of {shown}: {e}; tpc must run as root or as the file's owner")
    })?;
    file.sync_all().map_err(|e| io("sync", e))?;
    drop(file);
    // The .bak is a convenience: failing to keep it never holds a failover back.
    let previous = match live {
        Some(_) => backup::hold_backup(&target)
            .inspect_err(|e| {
                warn!("Cannot keep {shown} as .bak ({e}); writing the new config without it")
            })
            .ok(),
        None => None,
    };
    temp.rename_to(&target)
        .map_err(|e| format!("cannot replace {shown}: {e}"))?;
    Ok(Replaced { target, previous })
}

#[cfg(test)]
mod tests;
