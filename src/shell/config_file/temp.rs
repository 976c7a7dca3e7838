//! Temp files beside the file they will replace, named `.<name>.tpc-<16 hex>.tmp` with a
//! random part nobody can guess, and created with `O_EXCL|O_NOFOLLOW`, mode 0600: a file
//! or symlink planted at that name makes the creation fail instead of being followed.
//! A temp file is removed when its guard drops, unless it was renamed into place.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::target::{folder, name};

/// Names tried before giving up when each one is taken.
const ATTEMPTS: usize = 8;

/// The marker between the file name and the random part.
const MARK: &str = ".tpc-";

/// A random hex word. std keys each `RandomState` from the OS's random source, so the
/// hash of anything under it is unpredictable.
fn random_hex() -> String {
    let mut h = RandomState::new().build_hasher();
    if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

/// A fresh temp path for a file that will be renamed to `dest`.
fn path_for(dest: &Path) -> PathBuf {
    folder(dest).join(format!(".{}{MARK}{}.tmp", name(dest), random_hex()))
}

/// Whether `file_name` is a temp file of tpc for `dest_name`: `.<dest_name>.tpc-<hex>.tmp`
/// (earlier versions put their pid where the hex is now, which this matches too).
pub fn is_temp_name(file_name: &str, dest_name: &str) -> bool {
    file_name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(dest_name))
        .and_then(|n| n.strip_prefix(MARK))
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|hex| {
            (1..=32).contains(&hex.len())
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// A temp file, removed on drop unless [`Temp::rename_to`] put it in place.
#[derive(Debug)]
pub struct Temp {
    path: PathBuf,
    placed: bool,
}

impl Temp {
    /// Runs `make` on fresh temp paths for `dest` until one is not taken.
    fn make<T>(dest: &Path, make: impl Fn(&Path) -> io::Result<T>) -> io::Result<(Temp, T)> {
        let mut taken = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..ATTEMPTS {
            let path = path_for(dest);
            match make(&path) {
                Ok(made) => {
                    let temp = Temp {
                        path,
                        placed: false,
                    };
                    return Ok((temp, made));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => taken = e,
                Err(e) => return Err(e),
            }
        }
        Err(taken)
    }

    /// Creates an empty temp file, mode 0600, for a file that will be renamed to `dest`.
    pub fn create(dest: &Path) -> io::Result<(Temp, File)> {
        Temp::make(dest, |path| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o600)
                .open(path)
        })
    }

    /// Makes a new hard link to `source`, to be renamed to `dest`.
    pub fn link(source: &Path, dest: &Path) -> io::Result<Temp> {
        Temp::make(dest, |path| fs::hard_link(source, path)).map(|(temp, ())| temp)
    }

    /// Where the temp file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temp file over `dest` (atomically: `dest` is the old file or this one).
    pub fn rename_to(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.placed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_random_and_recognisable() {
        let dest = Path::new("/etc/nutcracker/nutcracker.yml");
        let (a, b) = (path_for(dest), path_for(dest));
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("/etc/nutcracker")));
        let a = a.file_name().unwrap().to_str().unwrap();
        assert_eq!(a.len(), ".nutcracker.yml.tpc-.tmp".len() + 16, "{a}");
        assert!(is_temp_name(a, "nutcracker.yml"), "{a}");
        assert!(!is_temp_name(a, "nutcracker.y"), "{a}");
        for other in [
            ".nutcracker.yml.tpc-.tmp",
            ".nutcracker.yml.tpc-notes.tmp",
            ".nutcracker.yml.tpc-0123ABCD.tmp",
            "nutcracker.yml.tpc-0123.tmp",
            ".nutcracker.yml.tpc-0123.tmp.orig",
            ".nutcracker.yml.tpc-00000000000000000000000000000000a.tmp",
        ] {
            assert!(!is_temp_name(other, "nutcracker.yml"), "{other}");
        }
        assert!(is_temp_name(
            ".nutcracker.yml.tpc-4242.tmp",
            "nutcracker.yml"
        ));
    }
}
