//! Config writes on a real file system: atomic replacement, nutcracker's check, the
//! owner, group and mode kept, symlinks written through, temp files that follow no
//! planted link and are cleaned up at start. Ownership tests chown, so they run as root
//! (as the whole suite does).

use super::*;
use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};

const GOOD: &str =
    "redis:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n  - 127.0.0.1:6379:1 a\n";

/// Owner, group and permission bits of `path` itself (a symlink is not followed).
fn stat(path: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

fn is_file(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_file())
        .unwrap_or(false)
}

#[test]
fn replaces_the_file_keeps_the_previous_one_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    assert_eq!(read_existing(&path).unwrap(), None);
    write_atomically(&path, "one").unwrap();
    write_atomically(&path, "two").unwrap();
    assert_eq!(read_existing(&path).unwrap().as_deref(), Some("two"));
    assert_eq!(fs::read_to_string(backup_path(&path)).unwrap(), "one");
    assert_eq!(names(dir.path()), ["nutcracker.yml", "nutcracker.yml.bak"]);
}

#[test]
fn a_new_file_gets_mode_0640_and_the_folders_group() {
    let dir = tempfile::tempdir().unwrap();
    chown(dir.path(), None, Some(8765)).unwrap();
    let me = fs::metadata(dir.path()).unwrap().uid();
    let path = dir.path().join("nutcracker.yml");
    write_atomically(&path, "one").unwrap();
    assert_eq!(stat(&path), (me, 8765, 0o640));
}

#[test]
fn the_live_files_owner_group_and_mode_are_kept_and_the_baks_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    let bak = backup_path(&path);
    fs::write(&path, "one").unwrap();
    chown(&path, Some(4321), Some(8765)).unwrap();
    chmod(&path, 0o604);
    write_atomically(&path, "two").unwrap();
    assert_eq!(stat(&path), (4321, 8765, 0o604));
    assert_eq!(stat(&bak), (4321, 8765, 0o604));

    // The .bak is the previous live file: it keeps that file's owner, group and mode.
    chown(&path, Some(1111), Some(2222)).unwrap();
    chmod(&path, 0o640);
    write_atomically(&path, "three").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "three");
    assert_eq!(stat(&path), (1111, 2222, 0o640));
    assert_eq!(fs::read_to_string(&bak).unwrap(), "two");
    assert_eq!(stat(&bak), (1111, 2222, 0o640));
    assert_eq!(names(dir.path()), ["nutcracker.yml", "nutcracker.yml.bak"]);
}

/// Writes twice through `link`: `target` holds the second text and its .bak the first,
/// and `link` is still a symlink.
fn writes_through(link: &Path, target: &Path) {
    write_atomically(link, "one").unwrap();
    write_atomically(link, "two").unwrap();
    assert!(is_link(link), "{} is no longer a symlink", link.display());
    assert!(is_file(target), "{} is not a plain file", target.display());
    assert_eq!(fs::read_to_string(target).unwrap(), "two");
    assert_eq!(fs::read_to_string(backup_path(target)).unwrap(), "one");
    assert_eq!(read_existing(link).unwrap().as_deref(), Some("two"));
}

#[test]
fn a_symlink_to_a_missing_file_beside_it_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("nutcracker.yml");
    symlink("real.yml", &link).unwrap();
    writes_through(&link, &dir.path().join("real.yml"));
    assert_eq!(
        names(dir.path()),
        ["nutcracker.yml", "real.yml", "real.yml.bak"]
    );
}

#[test]
fn a_chain_of_symlinks_is_written_through_keeping_the_targets_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.yml"),
        dir.path().join("b.yml"),
        dir.path().join("c.yml"),
    );
    fs::write(&c, "zero").unwrap();
    chown(&c, Some(4321), Some(8765)).unwrap();
    chmod(&c, 0o640);
    symlink(&c, &b).unwrap();
    symlink("b.yml", &a).unwrap();
    writes_through(&a, &c);
    assert!(is_link(&b));
    assert_eq!(stat(&c), (4321, 8765, 0o640));
    assert_eq!(names(dir.path()), ["a.yml", "b.yml", "c.yml", "c.yml.bak"]);

    // A loop has no target: the write fails and leaves nothing behind.
    let (x, y) = (dir.path().join("x.yml"), dir.path().join("y.yml"));
    symlink("y.yml", &x).unwrap();
    symlink("x.yml", &y).unwrap();
    let e = write_atomically(&x, "loop").unwrap_err();
    assert!(e.contains("x.yml"), "{e}");
    assert!(is_link(&x) && is_link(&y));
    assert_eq!(names(dir.path()).len(), 6);
}

#[test]
fn a_symlink_into_another_folder_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, managed) = (dir.path().join("etc"), dir.path().join("managed"));
    fs::create_dir(&etc).unwrap();
    fs::create_dir(&managed).unwrap();
    fs::write(managed.join("nutcracker.yml"), "zero").unwrap();
    let link = etc.join("nutcracker.yml");
    symlink("../managed/nutcracker.yml", &link).unwrap();
    writes_through(&link, &managed.join("nutcracker.yml"));
    assert_eq!(names(&etc), ["nutcracker.yml"]);
    assert_eq!(names(&managed), ["nutcracker.yml", "nutcracker.yml.bak"]);
}

#[test]
fn a_kubernetes_configmap_is_written_through_its_data_folder() {
    // A ConfigMap volume: file -> ..data/file, ..data -> ..<timestamp>/.
    let dir = tempfile::tempdir().unwrap();
    let stamp = dir.path().join("..2026_01_02_03_04_05.678901234");
    fs::create_dir(&stamp).unwrap();
    fs::write(stamp.join("nutcracker.yml"), "zero").unwrap();
    symlink("..2026_01_02_03_04_05.678901234", dir.path().join("..data")).unwrap();
    let link = dir.path().join("nutcracker.yml");
    symlink("..data/nutcracker.yml", &link).unwrap();
    writes_through(&link, &stamp.join("nutcracker.yml"));
    assert!(is_link(&dir.path().join("..data")));
    assert_eq!(
        names(dir.path()),
        [
            "..2026_01_02_03_04_05.678901234",
            "..data",
            "nutcracker.yml"
        ]
    );
    assert_eq!(names(&stamp), ["nutcracker.yml", "nutcracker.yml.bak"]);
}

#[test]
fn a_symlink_planted_at_a_predictable_temp_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    write_atomically(&path, "one").unwrap();
    // The names earlier versions used, predictable from the file name and the pid.
    let planted = [
        dir.path()
            .join(format!(".nutcracker.yml.tpc-{}.tmp", std::process::id())),
        dir.path().join("nutcracker.yml.bak.tmp"),
    ];
    for (i, p) in planted.iter().enumerate() {
        symlink(outside.path().join(format!("stolen-{i}")), p).unwrap();
    }
    write_atomically(&path, "two").unwrap();
    assert!(names(outside.path()).is_empty(), "a write landed outside");
    assert!(is_file(&path) && is_file(&backup_path(&path)));
    assert_eq!(fs::read_to_string(&path).unwrap(), "two");
    assert_eq!(fs::read_to_string(backup_path(&path)).unwrap(), "one");
    for p in &planted {
        assert!(is_link(p), "{} was replaced", p.display());
    }
}

#[test]
fn a_checked_text_leaves_nothing_beside_the_file_it_is_checked_for() {
    let nutcracker = find_nutcracker(None).expect("nutcracker installed (scripts/test.sh)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    write_atomically(&path, GOOD).unwrap();
    nutcracker_check_text(&nutcracker, &path, GOOD).unwrap();
    let e = nutcracker_check_text(&nutcracker, &path, "redis:\n  bogus_key: 1\n").unwrap_err();
    assert!(e.contains("nutcracker -t rejected it"), "{e}");
    assert!(e.contains("syntax is invalid"), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), GOOD);
    assert_eq!(names(dir.path()), ["nutcracker.yml"], "no temp file left");
    assert!(find_nutcracker(Some(Path::new("/no/such/nutcracker"))).is_err());
}

#[test]
fn a_missing_directory_fails_and_keeps_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/nutcracker.yml");
    let e = write_atomically(&path, "x").unwrap_err();
    assert!(e.contains("cannot create"), "{e}");
    assert!(names(dir.path()).is_empty());
}

/// A check at start that had to go to the system's temp folder (the config's folder could
/// not be written) and was killed leaves a file (it may hold `redis_auth`): the next start
/// removes it, and only that config's.
#[test]
fn a_check_left_in_the_system_temp_folder_is_removed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, other) = (dir.path().join("a.yml"), dir.path().join("b.yml"));
    let fallback = nutcracker::check_fallback(&ours);
    assert_eq!(fallback.parent(), Some(std::env::temp_dir().as_path()));
    assert_ne!(fallback, nutcracker::check_fallback(&other));
    let (left, _) = temp::Temp::create(&fallback).unwrap();
    let (theirs, _) = temp::Temp::create(&nutcracker::check_fallback(&other)).unwrap();
    let (left_path, theirs_path) = (left.path().to_path_buf(), theirs.path().to_path_buf());
    // As a SIGKILL leaves them: never removed by their owner.
    std::mem::forget(left);
    let removed = remove_stale(&ours);
    assert!(
        removed
            .iter()
            .any(|s| matches!(s, Stale::Removed(p) if *p == left_path)),
        "{removed:?}"
    );
    assert!(!left_path.exists());
    assert!(theirs_path.exists(), "another config's check was removed");
}

#[test]
fn stale_temp_files_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("nutcracker.yml");
    fs::write(&path, "live").unwrap();
    let stale = [
        ".nutcracker.yml.bak.tpc-fedcba9876543210.tmp",
        ".nutcracker.yml.tpc-0123456789abcdef.tmp",
        ".nutcracker.yml.tpc-4242.tmp",
        "..nutcracker.yml.tpc-loaded.tpc-0123456789abcdef.tmp",
        "nutcracker.yml.bak.tmp",
    ];
    for name in stale {
        fs::write(d.join(name), "half").unwrap();
    }
    // A stale symlink goes, and what it points to stays.
    fs::write(outside.path().join("x"), "x").unwrap();
    symlink(
        outside.path().join("x"),
        d.join(".nutcracker.yml.tpc-aa.tmp"),
    )
    .unwrap();
    let kept = [
        ".nutcracker.yml.tpc-notes.tmp",
        ".other.yml.tpc-0123.tmp",
        "nutcracker.yml.tmp",
        ".nutcracker.yml.tpc-0123.tmp.orig",
        ".nutcracker.yml.tpc-loaded",
    ];
    for name in kept {
        fs::write(d.join(name), "mine").unwrap();
    }
    fs::create_dir(d.join(".nutcracker.yml.tpc-abc.tmp")).unwrap();

    let found = remove_stale(&path);
    let removed: Vec<String> = found
        .iter()
        .map(|s| match s {
            Stale::Removed(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
            Stale::Kept(p, e) => panic!("{} kept: {e}", p.display()),
        })
        .collect();
    let mut expected = stale.to_vec();
    expected.push(".nutcracker.yml.tpc-aa.tmp");
    expected.sort();
    assert_eq!(removed, expected);
    assert!(found[0].to_string().starts_with("Removed stale temp file"));
    let mut left = kept.to_vec();
    left.extend([".nutcracker.yml.tpc-abc.tmp", "nutcracker.yml"]);
    left.sort();
    assert_eq!(names(d), left);
    assert_eq!(names(outside.path()), ["x"]);
    assert!(remove_stale(&d.join("no/such/folder/x.yml")).is_empty());
}

#[test]
fn stale_temp_files_are_removed_beside_a_symlinks_target_too() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, managed) = (dir.path().join("etc"), dir.path().join("managed"));
    fs::create_dir(&etc).unwrap();
    fs::create_dir(&managed).unwrap();
    symlink("../managed/real.yml", etc.join("nutcracker.yml")).unwrap();
    fs::write(managed.join(".real.yml.tpc-0123456789abcdef.tmp"), "half").unwrap();
    fs::write(etc.join(".nutcracker.yml.tpc-77.tmp"), "half").unwrap();
    assert_eq!(remove_stale(&etc.join("nutcracker.yml")).len(), 2);
    assert_eq!(names(&etc), ["nutcracker.yml"]);
    assert!(names(&managed).is_empty());
}

#[test]
fn same_file_sees_through_symlinks_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.yml"), "a").unwrap();
    symlink("a.yml", d.join("link.yml")).unwrap();
    symlink(d, d.join("again")).unwrap();
    assert!(same_file(&d.join("a.yml"), &d.join("link.yml")));
    assert!(same_file(&d.join("a.yml"), &d.join("again/a.yml")));
    assert!(same_file(&d.join("new.log"), &d.join("again/./new.log")));
    assert!(!same_file(&d.join("a.yml"), &d.join("new.log")));
    assert!(!same_file(&d.join("new.log"), &d.join("other.log")));
}

#[test]
fn a_folder_where_the_bak_goes_does_not_block_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    write_atomically(&path, "one").unwrap();
    fs::create_dir(backup_path(&path)).unwrap();
    write_atomically(&path, "two").unwrap();
    assert_eq!(read_existing(&path).unwrap().as_deref(), Some("two"));
    assert!(backup_path(&path).is_dir());
}

#[test]
fn anything_but_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let e = read_existing(&fifo).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    let e = read_existing(dir.path()).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn stale_backup_temp_files_are_removed_and_backups_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stale = ".backup-20261201120000.tpc-0123456789abcdef.tmp";
    let kept = [
        "backup-20261201120000",
        ".backup-2026.tpc-0123456789abcdef.tmp",
        ".other.tpc-0123456789abcdef.tmp",
    ];
    for name in [stale].iter().chain(&kept) {
        fs::write(d.join(name), "redis_auth: x").unwrap();
    }
    let found = remove_stale_backups(d);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!d.join(stale).exists());
    for name in kept {
        assert!(d.join(name).exists(), "{name}");
    }
}
