//! The previous config kept as `<file>.bak`, beside the file (the symlink's target when
//! `-out` is one). The `.bak` *is* the previous live file: a hard link to it renamed
//! into place, so it keeps its owner, group, mode and content. Where hard links are not
//! possible, a copy with the same owner, group and mode is made instead.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::ownership::Ownership;
use super::temp::Temp;

/// The name of the copy of the previous config: `<file>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// The live file `target` under a temp name beside its `.bak`, to be renamed to it
/// (atomically too) once the new file has replaced it.
pub fn hold_backup(target: &Path) -> io::Result<Temp> {
    let bak = backup_path(target);
    match Temp::link(target, &bak) {
        Ok(temp) => Ok(temp),
        Err(_) => copy(target, &bak),
    }
}

/// A synced copy of `target`, with its ownership, to be renamed to `bak`.
fn copy(target: &Path, bak: &Path) -> io::Result<Temp> {
    let (temp, mut file) = Temp::create(bak)?;
    let mut live = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(target)?;
    io::copy(&mut live, &mut file)?;
    Ownership::of(&live.metadata()?).apply(&file)?;
    file.sync_all()?;
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};

    #[test]
    fn the_copy_made_without_hard_links_keeps_content_and_ownership() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("nutcracker.yml");
        std::fs::write(&live, "one").unwrap();
        chown(&live, Some(4321), Some(8765)).unwrap();
        std::fs::set_permissions(&live, std::fs::Permissions::from_mode(0o640)).unwrap();
        let bak = backup_path(&live);
        copy(&live, &bak).unwrap().rename_to(&bak).unwrap();
        let m = std::fs::metadata(&bak).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (4321, 8765, 0o640));
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), "one");
        assert_eq!(m.nlink(), 1, "a copy, not a link");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
