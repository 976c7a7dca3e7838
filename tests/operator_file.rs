//! The operator's file through a real failover (real redis, sentinels and nutcracker, the
//! real tpc binary): `-out` is a Kubernetes ConfigMap-style chain of symlinks to a
//! `root:nutcracker 0640` file, and the reload command leaves a child in the background
//! that holds its output open. After the failover the links are still links, the file
//! keeps its owner, group and mode and is read by the `nutcracker` user, the command ran
//! once (its exit status counts, not the end of its output), and keys written through
//! nutcracker land on the new master.

mod nutcracker_user;
mod support;

use std::fs;
use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use nutcracker_user::{nutcracker_gid, nutcracker_user_accepts};
use support::*;

fn stat(path: &Path) -> (u32, u32, u32) {
    let m = fs::metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// Stops the background child the reload command left, by the PID it wrote.
struct Lingering(PidFileGuard);

impl Drop for Lingering {
    fn drop(&mut self) {
        self.0.kill();
    }
}

#[test]
fn a_symlinked_root_nutcracker_0640_file_and_a_lingering_reload_child_through_a_failover() {
    let _serial = serial();
    let gid = nutcracker_gid();
    let mut rig = Rig::start(&["node-1"], &[], &[]);
    rig.expect_followed("the first config", None);
    let dir = rig.cluster.dir().to_path_buf();
    let lingering = Lingering(PidFileGuard::new(&dir.join("lingering.pid"), "sleep"));

    // The operator's layout: conf -> ..data/nutcracker.yml, ..data -> ..stamp/, and the
    // file root:nutcracker 0640 in a folder the nutcracker user may enter.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let stamp = dir.join("..2026_12_01_00_00_00.000000001");
    fs::create_dir(&stamp).unwrap();
    let target = stamp.join("nutcracker.yml");
    fs::rename(&rig.conf, &target).unwrap();
    symlink("..2026_12_01_00_00_00.000000001", dir.join("..data")).unwrap();
    symlink("..data/nutcracker.yml", &rig.conf).unwrap();
    chown(&target, Some(0), Some(gid)).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    assert!(nutcracker_user_accepts(&rig.conf));

    // tpc again, with a reload command that restarts nutcracker, then leaves a child
    // holding stdout open for a minute.
    rig.tpc.terminate();
    let cmd = format!(
        "sh -c '{} && {{ sleep 60 & echo $! > {}; }}'",
        rig.nut.command(),
        lingering.0.path().display()
    );
    let args = [
        "-sentinels",
        &rig.cluster.sentinels_csv(),
        "-out",
        &rig.conf.display().to_string(),
        "-cmd",
        &cmd,
        "-cmd_timeout",
        "20",
        "-wait",
        "1",
        "-ip",
        "127.0.0.1",
        "-port",
        &rig.nut.listen_port().to_string(),
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rig.tpc = Tpc::spawn_in(&dir, &args);
    rig.wait_linked_to_all();

    rig.cluster.failover("node-1");
    rig.expect_followed("the failover", Some("node-1"));
    assert!(
        lingering.0.pid().is_some(),
        "the reload left no child behind"
    );
    let log = rig.tpc.output();
    assert!(
        !log.contains("killed after"),
        "the command timed out:\n{log}"
    );
    assert!(!log.contains("Error running reload command"), "{log}");

    assert!(fs::symlink_metadata(&rig.conf)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(dir.join("..data"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(stat(&target), (0, gid, 0o640));
    assert!(nutcracker_user_accepts(&rig.conf));
    rig.expect_running();
}
