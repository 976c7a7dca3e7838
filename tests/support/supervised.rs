//! nutcracker run by tpc itself (`tpc ... -supervise -- nutcracker -c FILE ...`): the
//! flags that make tpc run it on loopback ports, and the nutcracker child of a tpc
//! process, found by tpc's PID.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use super::procs::{children, comm_of};
use super::*;

/// `-supervise -- nutcracker -c CONF ...` for tpc: stats on a free loopback port (not
/// nutcracker's default 22222 on every address) and nutcracker's log on its stderr,
/// which tpc logs (Debian's build logs to /var/log/nutcracker by default).
pub fn supervise_args(conf: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["-supervise".into(), "--".into()];
    args.push(binary("nutcracker").display().to_string());
    args.extend(["-c".into(), conf.display().to_string()]);
    args.extend(["-s".into(), free_port().to_string()]);
    args.extend(["-a", "127.0.0.1", "-o", "/dev/stderr"].map(String::from));
    args
}

/// The nutcracker child of the process `tpc`, if one runs.
pub fn nutcracker_child(tpc: u32) -> Option<u32> {
    children(tpc)
        .into_iter()
        .find(|&pid| comm_of(pid).as_deref() == Some("nutcracker"))
}

/// Waits until a nutcracker child of `tpc` other than `before` runs and `proxy` (its
/// pool's address) accepts connections; returns its PID.
pub fn wait_child_serving(tpc: u32, proxy: &str, before: Option<u32>, timeout: Duration) -> u32 {
    wait_for(timeout, "tpc's nutcracker child to serve", || {
        let pid = nutcracker_child(tpc).filter(|&pid| Some(pid) != before)?;
        TcpStream::connect(proxy).ok()?;
        // The child that accepted is still the one running (not one restarted since).
        (nutcracker_child(tpc) == Some(pid)).then_some(pid)
    })
}

/// The XXH3 64 fingerprint of `bytes` as tpc's loaded mark holds it.
pub fn xxh3_mark(bytes: &[u8]) -> String {
    format!("xxh3_64:{:016x}\n", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// Whether the mark beside `conf` (`.<name>.tpc-loaded`) names exactly `conf`'s content.
pub fn marked_as_loaded(conf: &Path) -> bool {
    let name = conf.file_name().unwrap().to_string_lossy();
    let mark = conf.with_file_name(format!(".{name}.tpc-loaded"));
    let config = fs::read(conf).unwrap_or_default();
    fs::read_to_string(mark).ok() == Some(xxh3_mark(&config))
}
