//! The real `nutcracker -t` as the judge of a config's text, for tests that check what
//! tpc renders against nutcracker's own reader.

use std::process::Command;

/// What `nutcracker -t` says of `text`: Ok, or what it printed on stderr.
pub fn nutcracker_verdict(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nutcracker.yml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("nutcracker")
        .arg("-t")
        .arg("-c")
        .arg(&path)
        .output()
        .expect("nutcracker must be installed (run scripts/test.sh)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
