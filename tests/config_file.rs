//! The config file as the real `tpc` binary writes it, fed by a fake sentinel: the
//! owner, group and mode an operator gave it (checked by the real nutcracker running as
//! the unprivileged `nutcracker` user), symlinks written through, temp files that follow
//! no planted symlink, and temp files left by a SIGKILLed tpc cleaned up at the next
//! start. These tests chown and switch users, so they run as root (as the suite does).

mod fake_sentinel;
mod nutcracker_user;
mod tpc_daemon;

use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fake_sentinel::{master, FakeSentinel};
use nutcracker_user::{nutcracker_gid, nutcracker_user_accepts};
use tpc_daemon::{wait_until, Tpc};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn server(port: u16) -> String {
    format!("127.0.0.1:{port}:1 node-1")
}

/// Owner, group and permission bits of `path` itself (a symlink is not followed).
fn stat(path: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

fn is_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_file())
        .unwrap_or(false)
}

fn bak(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.bak", path.display()))
}

#[test]
fn owner_group_and_mode_survive_a_failover_and_the_nutcracker_user_reads_the_file() {
    let gid = nutcracker_gid();
    let dir = tempfile::tempdir().unwrap();
    // A folder of group nutcracker: a new file takes its group, with mode 0640.
    chown(dir.path(), Some(0), Some(gid)).unwrap();
    chmod(dir.path(), 0o750);
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(dir, &[s.port], &[]);
    tpc.wait_config(&server(7001), secs(10));
    assert_eq!(stat(&tpc.out), (0, gid, 0o640), "a new file");
    assert!(nutcracker_user_accepts(&tpc.out));

    // The operator's root:nutcracker 0640, in a folder of group root: kept as it is.
    chown(tpc.dir.path(), Some(0), Some(0)).unwrap();
    chmod(tpc.dir.path(), 0o755);
    chown(&tpc.out, Some(0), Some(gid)).unwrap();
    chmod(&tpc.out, 0o640);
    s.wait_subscribers(1, secs(5));
    s.fail_over("node-1", 7001, 7002);
    tpc.wait_config(&server(7002), secs(10));
    assert_eq!(stat(&tpc.out), (0, gid, 0o640), "the live file");
    assert_eq!(stat(&bak(&tpc.out)), (0, gid, 0o640), "the .bak");
    assert!(nutcracker_user_accepts(&tpc.out));
    assert!(nutcracker_user_accepts(&bak(&tpc.out)));
    tpc.stop();
}

#[test]
fn a_configmap_symlink_chain_is_written_through_and_stays() {
    // A Kubernetes ConfigMap volume: file -> ..data/file, ..data -> ..<timestamp>/,
    // and no file in it yet.
    let dir = tempfile::tempdir().unwrap();
    let stamp = dir.path().join("..2026_01_02_03_04_05.678901234");
    std::fs::create_dir(&stamp).unwrap();
    symlink("..2026_01_02_03_04_05.678901234", dir.path().join("..data")).unwrap();
    symlink("..data/nutcracker.yml", dir.path().join("nutcracker.yml")).unwrap();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(dir, &[s.port], &[]);
    let target = stamp.join("nutcracker.yml");
    tpc.wait_config(&server(7001), secs(10));
    s.wait_subscribers(1, secs(5));
    s.fail_over("node-1", 7001, 7002);
    tpc.wait_config(&server(7002), secs(10));
    tpc.stop();
    assert!(is_link(&tpc.out), "-out is no longer a symlink");
    assert!(
        is_link(&tpc.path("..data")),
        "..data is no longer a symlink"
    );
    assert!(is_file(&target));
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains(&server(7002)));
    assert!(std::fs::read_to_string(bak(&target))
        .unwrap()
        .contains(&server(7001)));
    assert_eq!(
        names(&stamp),
        [
            ".nutcracker.yml.tpc-loaded",
            "nutcracker.yml",
            "nutcracker.yml.bak"
        ],
        "temp files or .bak outside the target's folder"
    );
}

#[test]
fn symlinks_planted_at_predictable_temp_names_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(dir, &[s.port], &["-redis_auth", "s3cret"]);
    tpc.wait_config(&server(7001), secs(10));
    // The names earlier versions used, known from the file name and tpc's pid.
    let planted = [
        tpc.path(&format!(".nutcracker.yml.tpc-{}.tmp", tpc.pid())),
        tpc.path("nutcracker.yml.bak.tmp"),
    ];
    for (i, p) in planted.iter().enumerate() {
        symlink(outside.path().join(format!("stolen-{i}")), p).unwrap();
    }
    s.wait_subscribers(1, secs(5));
    s.fail_over("node-1", 7001, 7002);
    tpc.wait_config(&server(7002), secs(10));
    tpc.stop();
    assert!(names(outside.path()).is_empty(), "a write landed outside");
    assert!(is_file(&tpc.out) && is_file(&bak(&tpc.out)));
    for p in &planted {
        assert!(is_link(p), "{} was replaced", p.display());
    }
}

/// A `nutcracker` for `-nutcracker` that logs `<pid> <file>` to `dir/checks` for each
/// check, then sleeps (as the same pid) while `dir/slow` exists, else runs the real one.
fn slow_checker(dir: &Path) -> PathBuf {
    let path = dir.join("checker.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/bash\n\
             echo \"$$ $3\" >> {dir}/checks\n\
             if [ -e {dir}/slow ]; then exec sleep 60; fi\n\
             PATH=/usr/sbin:/usr/bin:/sbin:/bin exec nutcracker \"$@\"\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    chmod(&path, 0o755);
    path
}

/// The checks `slow_checker` logged so far.
fn checks(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("checks"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// `nutcracker -t` checks syntax only (DESIGN.md §10): tpc has it check the pool the
/// flags make once, at start, in a temp file beside the config, and writes every config
/// after (the first, new servers, failovers) without waiting for it; each is one the
/// real nutcracker accepts.
#[test]
fn nutcracker_checks_the_flags_pool_once_at_start_and_no_write_waits_for_it() {
    let tools = tempfile::tempdir().unwrap();
    let checker = slow_checker(tools.path());
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1), master("node-2", 7002, 1)]);
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &[
            "-nutcracker",
            checker.to_str().unwrap(),
            "-reconcile_interval",
            "0",
        ],
    );
    tpc.wait_config("127.0.0.1:7002:1 node-2", secs(10));
    assert!(nutcracker_check(&tpc.out), "the first config is valid");
    let logged = std::fs::read_to_string(tools.path().join("checks")).unwrap();
    let (_, checked) = logged.trim_end().split_once(' ').unwrap();
    let checked = Path::new(checked);
    assert_eq!(
        checked.parent(),
        tpc.out.parent(),
        "checked beside the config"
    );
    assert!(
        checked
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(".nutcracker.yml.tpc-"),
        "{logged}"
    );
    assert!(!checked.exists(), "the checked temp file is left");
    assert_eq!(checks(tools.path()), 1, "one check, at start");
    s.wait_subscribers(1, secs(5));

    s.fail_over("node-1", 7001, 7011);
    tpc.wait_config("127.0.0.1:7011:1 node-1", secs(5));
    assert!(nutcracker_check(&tpc.out));
    let mut masters = vec![master("node-1", 7011, 2), master("node-2", 7002, 1)];
    masters.push(master("node-3", 7003, 1));
    s.set_masters(masters);
    s.publish("+monitor", "master node-3 127.0.0.1 7003 #quorum 1");
    tpc.wait_config("127.0.0.1:7003:1 node-3", secs(5));
    assert!(
        nutcracker_check(&tpc.out),
        "the config with a new server is valid"
    );
    s.fail_over("node-3", 7003, 7013);
    tpc.wait_config("127.0.0.1:7013:1 node-3", secs(5));
    assert!(nutcracker_check(&tpc.out), "the last config is valid");
    assert_eq!(checks(tools.path()), 1, "no write waited for a check");
}

/// Whether the real nutcracker accepts the config at `path`.
fn nutcracker_check(path: &Path) -> bool {
    Command::new("/usr/sbin/nutcracker")
        .args(["-t", "-c", path.to_str().unwrap()])
        .output()
        .unwrap()
        .status
        .success()
}

/// SIGKILLs the process `pid` on drop, also when the test fails.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.0]).status();
    }
}

#[test]
fn temp_files_left_by_a_sigkilled_tpc_are_removed_at_the_next_start() {
    let tools = tempfile::tempdir().unwrap();
    let etc = tempfile::tempdir().unwrap();
    let out = etc.path().join("nutcracker.yml");
    let checker = slow_checker(tools.path());
    let checks = tools.path().join("checks");
    std::fs::write(tools.path().join("slow"), "").unwrap();
    // Files that are not tpc's temp files, though close: never removed.
    let unrelated = [
        ".nutcracker.yml.tpc-notes.tmp",
        ".other.yml.tpc-1234.tmp",
        "x.tmp",
    ];
    for name in unrelated {
        std::fs::write(etc.path().join(name), "mine").unwrap();
    }
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let args = [
        "-out",
        out.to_str().unwrap(),
        "-nutcracker",
        checker.to_str().unwrap(),
    ];
    // What tpc left beside the config, but for the mark of what nutcracker loaded (made
    // at the first start).
    let leftovers = || {
        names(etc.path())
            .into_iter()
            .filter(|n| !unrelated.contains(&n.as_str()) && n != ".nutcracker.yml.tpc-loaded")
            .collect::<Vec<_>>()
    };
    for round in 1..=5 {
        let tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
        wait_until("the check of the new config", secs(10), || {
            std::fs::read_to_string(&checks)
                .unwrap_or_default()
                .lines()
                .count()
                == round
        });
        let text = std::fs::read_to_string(&checks).unwrap();
        let (pid, temp) = text.lines().last().unwrap().split_once(' ').unwrap();
        let checker = KillOnDrop(pid.to_string());
        // Killed mid-check (at start): the temp file under check is there, and only that one.
        assert_eq!(
            leftovers(),
            [Path::new(temp).file_name().unwrap().to_str().unwrap()],
            "round {round}"
        );
        if round > 1 {
            assert_eq!(tpc.log_count("stale temp file"), 1, "{}", tpc.log());
        }
        drop(tpc); // SIGKILL
                   // The check dies with tpc (the kernel kills it), never left running.
        wait_until("the check to die with tpc", secs(5), || {
            !Path::new(&format!("/proc/{pid}")).exists()
        });
        drop(checker);
    }
    // SIGTERM while the check runs (it would take a minute): tpc stops at once, cleanly,
    // and the check dies with it.
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    wait_until("the check at start", secs(10), || {
        std::fs::read_to_string(&checks).is_ok_and(|t| t.lines().count() == 6)
    });
    let text = std::fs::read_to_string(&checks).unwrap();
    let pid = text.lines().last().unwrap().split_once(' ').unwrap().0;
    let checker = KillOnDrop(pid.to_string());
    Command::new("kill")
        .args(["-TERM", &tpc.pid().to_string()])
        .status()
        .unwrap();
    let status = tpc.wait_exit(secs(3)).expect("tpc stops at once");
    assert!(status.success(), "{status:?}: {}", tpc.log());
    wait_until("the check to die with tpc", secs(5), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
    drop(checker);
    std::fs::remove_file(tools.path().join("slow")).unwrap();
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    tpc.wait_config(&server(7001), secs(10));
    tpc.stop();
    assert_eq!(leftovers(), ["nutcracker.yml"]);
    assert!(etc.path().join(".nutcracker.yml.tpc-loaded").exists());
    for name in unrelated {
        assert!(etc.path().join(name).exists(), "{name} was removed");
    }
}
