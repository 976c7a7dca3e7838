//! systemd's `Type=notify` protocol as the real `tpc` binary speaks it: the test binds
//! the datagram socket systemd would (`NOTIFY_SOCKET`) and reads what tpc sends, with a
//! fake sentinel whose answers come late, so that a `READY=1` sent too early shows.

mod fake_sentinel;
mod tpc_daemon;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use fake_sentinel::{master, FakeSentinel};
use tpc_daemon::Tpc;

/// The socket systemd would listen on, in a folder of its own.
struct Systemd {
    socket: UnixDatagram,
    path: String,
    _dir: tempfile::TempDir,
}

impl Systemd {
    fn listen() -> Systemd {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Systemd {
            socket,
            path: path.display().to_string(),
            _dir: dir,
        }
    }

    /// The next message, if one comes within 50 ms.
    fn next(&self) -> Option<String> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Every message until `until`, each with when it came.
    fn until(&self, until: Instant) -> Vec<(Instant, String)> {
        let mut got = Vec::new();
        while Instant::now() < until {
            if let Some(m) = self.next() {
                got.push((Instant::now(), m));
            }
        }
        got
    }
}

/// READY=1 comes once, after the first config is on disk (the sentinel answers each
/// command 300 ms late); WATCHDOG=1 keeps coming, never further apart than WATCHDOG_USEC; and
/// SIGTERM brings STOPPING=1.
#[test]
fn systemd_hears_ready_after_the_first_config_then_watchdog_pings_and_stopping() {
    let systemd = Systemd::listen();
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    sentinel.set_delay(Duration::from_millis(300));
    let env = [
        ("NOTIFY_SOCKET", systemd.path.as_str()),
        ("WATCHDOG_USEC", "600000"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut tpc = Tpc::start_env(dir, &[sentinel.port], &[], &env);
    let line = "127.0.0.1:7001:1 node-1";
    let mut ready_at = None;
    let deadline = started + Duration::from_secs(10);
    while ready_at.is_none() && Instant::now() < deadline {
        if let Some(m) = systemd.next() {
            if m.lines().any(|l| l == "READY=1") {
                assert!(tpc.config().contains(line), "READY=1 before the config");
                ready_at = Some(Instant::now());
            }
        }
    }
    let ready_at = ready_at.expect("READY=1 within 10 s");
    assert!(
        ready_at - started >= Duration::from_millis(300),
        "READY=1 too early"
    );
    let got = systemd.until(Instant::now() + Duration::from_millis(2_200));
    assert!(got.iter().all(|(_, m)| m == "WATCHDOG=1"), "{got:?}");
    assert!(got.len() >= 5, "{} pings in 2.2 s", got.len());
    let gaps = got.windows(2).map(|w| w[1].0 - w[0].0);
    assert!(
        gaps.clone().all(|g| g < Duration::from_millis(600)),
        "{:?}",
        gaps.collect::<Vec<_>>()
    );
    tpc.stop();
    let after: Vec<String> = systemd
        .until(Instant::now() + Duration::from_millis(200))
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert!(after.iter().any(|m| m == "STOPPING=1"), "{after:?}");
}

/// With no sentinel answering, READY=1 still comes once start-up had all the time it
/// may take (-sentinel_timeout, then -start_grace_ms), so systemd does not kill a tpc
/// that is waiting for its sentinels; its status says no config is written yet.
#[test]
fn ready_comes_anyway_when_no_sentinel_answers_in_time() {
    let systemd = Systemd::listen();
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = nobody.local_addr().unwrap().port();
    drop(nobody);
    let env = [("NOTIFY_SOCKET", systemd.path.as_str())];
    let args = ["-sentinel_timeout", "1", "-start_grace_ms", "500"];
    let started = Instant::now();
    let mut tpc = Tpc::start_env(tempfile::tempdir().unwrap(), &[port], &args, &env);
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|(_, m): &(Instant, String)| m.starts_with("READY=1"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no READY=1: {got:?}"
        );
        got.extend(systemd.until(Instant::now() + Duration::from_millis(100)));
    }
    // And nothing more for a while: READY=1 is said once.
    got.extend(systemd.until(Instant::now() + Duration::from_millis(500)));
    let ready: Vec<&(Instant, String)> = got
        .iter()
        .filter(|(_, m)| m.starts_with("READY=1"))
        .collect();
    assert_eq!(ready.len(), 1, "{got:?}");
    let (at, text) = ready[0];
    assert!(
        *at - started >= Duration::from_millis(1_500),
        "READY=1 too early"
    );
    assert!(
        text.contains("STATUS=") && text.contains("no config"),
        "{text}"
    );
    assert!(tpc.config().is_empty());
    tpc.stop();
}
