//! Where a config path really leads: `-out` may be a symlink, or a chain of them
//! (Puppet, Ansible, Kubernetes ConfigMaps: `file -> ..data/file`, `..data -> ..<stamp>`).
//! Writes go to the final target, so the links stay links.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Most symlinks followed in a row, as Linux's own limit.
const MAX_LINKS: usize = 40;

/// The folder `path` is in (`.` for a bare file name).
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file name of `path`, or `config` when it has none (e.g. `..`).
pub fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into())
}

/// The path `path` leads to once every symlink at its last component is followed: a
/// file, or a name where none exists yet (a dangling link leads to the file it would
/// create). Symlinks among the folders on the way are left to the kernel.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&at)?;
                at = folder(&at).join(to);
            }
            Ok(_) => return Ok(at),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// `path` with every symlink and `.`/`..` resolved, for a file that may not exist yet;
/// none when its folder does not exist.
fn canonical(path: &Path) -> Option<PathBuf> {
    let target = resolve(path).ok()?;
    let dir = fs::canonicalize(folder(&target)).ok()?;
    Some(dir.join(target.file_name()?))
}

/// Whether `a` and `b` name the same file: the same inode when both exist, else the
/// same path once symlinks are resolved.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        (Err(_), Err(_)) => match (canonical(a), canonical(b)) {
            (Some(x), Some(y)) => x == y,
            _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
        },
        _ => false,
    }
}
