//! What nutcracker last loaded. After each successful reload a fingerprint of the config
//! it read is kept beside the config file, as `.<name>.tpc-loaded`, so that a reload
//! still owed when tpc stopped (a failed reload, a crash, a restart) runs at the next
//! start, and a restart with nothing owed reloads nothing.

use std::fs;
use std::hash::Hasher;
use std::io::{self, Write};

use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

use super::target::{folder, name, resolve};
use super::temp::Temp;

/// The fingerprint of a config's bytes: XXH3, 64 bits, in hex (a 2 MB config takes
/// about 0.1 ms, where byte-wise FNV took 2 ms).
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("xxh3_64:{:016x}\n", xxh3_64(bytes))
}

/// The fingerprint as tpc 0.1 wrote it, before [`fingerprint`]: FNV-1a, 64 bits.
fn fingerprint_fnv(bytes: &[u8]) -> String {
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    format!("fnv1a64:{:016x}\n", h.finish())
}

/// Whether `mark` is the fingerprint of `bytes`, in either form.
fn marks(mark: &str, bytes: &[u8]) -> bool {
    if mark.starts_with("fnv1a64:") {
        mark == fingerprint_fnv(bytes)
    } else {
        mark == fingerprint(bytes)
    }
}

/// Where the fingerprint of what nutcracker loaded is kept for the config `out` (beside
/// the file it finally leads to).
pub fn mark_path(out: &Path) -> io::Result<PathBuf> {
    let target = resolve(out)?;
    Ok(folder(&target).join(mark_name(&name(&target))))
}

/// The mark's file name for the config file called `config_name`.
pub fn mark_name(config_name: &str) -> String {
    format!(".{config_name}.tpc-loaded")
}

/// Notes that nutcracker loaded `config` (the bytes of `out` when the reload ran).
pub fn remember(out: &Path, config: &[u8]) -> io::Result<()> {
    let mark = mark_path(out)?;
    let (temp, mut file) = Temp::create(&mark)?;
    file.write_all(fingerprint(config).as_bytes())?;
    file.sync_all()?;
    temp.rename_to(&mark)
}

/// Whether the config on disk is not the one nutcracker last loaded, by the mark a
/// previous run left. Without a mark (a first start), what is on disk is taken as loaded
/// and marked so, so that a reload owed from now on (the first one fails, or tpc is
/// killed before it) survives a restart too.
pub fn reload_owed(out: &Path, on_disk: Option<&str>) -> io::Result<bool> {
    let on_disk = on_disk.unwrap_or_default().as_bytes();
    match fs::read_to_string(mark_path(out)?) {
        Ok(loaded) => Ok(!marks(&loaded, on_disk)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            remember(out, on_disk)?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_is_owed_only_when_the_file_differs_from_what_was_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nutcracker.yml");
        assert!(
            !reload_owed(&out, Some("a")).unwrap(),
            "no mark: taken as loaded"
        );
        assert!(reload_owed(&out, Some("b")).unwrap(), "and marked so");
        remember(&out, b"b").unwrap();
        assert!(!reload_owed(&out, Some("b")).unwrap());
        remember(&out, b"a").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(".nutcracker.yml.tpc-loaded")).unwrap(),
            fingerprint(b"a")
        );
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
    }

    #[test]
    fn the_fingerprint_is_xxh3_64() {
        // The reference implementation's value for no input.
        assert_eq!(fingerprint(b""), "xxh3_64:2d06800538d394c2\n");
    }

    #[test]
    fn a_mark_an_earlier_tpc_left_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nutcracker.yml");
        let mark = dir.path().join(".nutcracker.yml.tpc-loaded");
        // FNV-1a 64 of "a", from the algorithm's definition.
        let fnv_a = (0xcbf2_9ce4_8422_2325u64 ^ u64::from(b'a')).wrapping_mul(0x0100_0000_01b3);
        fs::write(&mark, format!("fnv1a64:{fnv_a:016x}\n")).unwrap();
        assert!(
            !reload_owed(&out, Some("a")).unwrap(),
            "loaded before the upgrade"
        );
        assert!(reload_owed(&out, Some("b")).unwrap());
    }
}
