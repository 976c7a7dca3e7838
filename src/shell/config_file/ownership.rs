//! The owner, group and mode a new config gets: those of the file it replaces, so an
//! operator's `root:nutcracker 0640` survives every write (Debian's nutcracker runs as
//! the user `nutcracker` and must read it); a first file gets [`NEW_FILE_MODE`] and its
//! folder's group.

use std::fmt;
use std::fs::{File, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};

/// Mode of a config file where none existed: the owner writes, the group (the folder's)
/// reads, others nothing, since the file may hold `redis_auth`.
pub const NEW_FILE_MODE: u32 = 0o640;

/// An owner, a group and permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Permission bits, set-id and sticky bits included.
    pub mode: u32,
}

impl Ownership {
    /// The ownership of an existing file.
    pub fn of(meta: &Metadata) -> Ownership {
        Ownership {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
        }
    }

    /// The ownership of a first file: its creator (`file`, as created), the group of
    /// `folder`, and [`NEW_FILE_MODE`].
    pub fn for_new_file(file: &Metadata, folder: &Metadata) -> Ownership {
        Ownership {
            uid: file.uid(),
            gid: folder.gid(),
            mode: NEW_FILE_MODE,
        }
    }

    /// Gives `file` this ownership. Changes the owner and group only when they differ,
    /// so tpc need not be root to keep its own files; chmod comes last because a chown
    /// may clear set-id bits.
    pub fn apply(&self, file: &File) -> io::Result<()> {
        let now = file.metadata()?;
        if (now.uid(), now.gid()) != (self.uid, self.gid) {
            fchown(file, Some(self.uid), Some(self.gid))?;
        }
        file.set_permissions(Permissions::from_mode(self.mode))
    }
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "owner {}, group {}, mode {:04o}",
            self.uid, self.gid, self.mode
        )
    }
}
