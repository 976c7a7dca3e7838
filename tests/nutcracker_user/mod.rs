//! The user Debian's nutcracker service runs as, for tests that check the config stays
//! readable by it.

use std::path::Path;
use std::process::Command;

/// The gid of the `nutcracker` group, creating the user and group as Debian's
/// nutcracker package does when they are missing.
pub fn nutcracker_gid() -> u32 {
    let present = |db: &str| {
        Command::new("getent")
            .args([db, "nutcracker"])
            .output()
            .unwrap()
    };
    if !present("passwd").status.success() {
        let made = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--shell", "/usr/sbin/nologin", "nutcracker"])
            .status()
            .unwrap();
        assert!(made.success(), "useradd nutcracker failed");
    }
    let line = String::from_utf8(present("group").stdout).unwrap();
    line.split(':').nth(2).unwrap().trim().parse().unwrap()
}

/// Whether the real nutcracker, run as the user `nutcracker`, reads and accepts `file`.
pub fn nutcracker_user_accepts(file: &Path) -> bool {
    let out = Command::new("runuser")
        .args(["-u", "nutcracker", "--", "nutcracker", "-t", "-c"])
        .arg(file)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("nutcracker -t: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}
