//! tpc against a real redis-sentinel that speaks only TLS and requires a password: it
//! connects with -sentinel_tls, -sentinel_ca and the password from a file, writes the
//! config, and never logs the password; with the wrong CA it refuses the sentinel.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const PASSWORD: &str = "tls-sentinel-s3cret";

/// A child process killed (by PID) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("openssl must be installed (scripts/test.sh)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certs(dir: &Path, ca: &str) {
    let d = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(d(&format!("{ca}.key")))
        .arg("-out")
        .arg(d(&format!("{ca}.pem")))
        .args(["-subj", &format!("/CN={ca}")]));
    if ca != "ca" {
        return;
    }
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(d("server.key"))
        .arg("-out")
        .arg(d("server.csr")));
    std::fs::write(d("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(d("server.csr"))
        .arg("-CA")
        .arg(d("ca.pem"))
        .arg("-CAkey")
        .arg(d("ca.key"))
        .arg("-out")
        .arg(d("server.pem"))
        .arg("-extfile")
        .arg(d("ext")));
}

fn spawn(program: &str, args: &[&str], log: &Path) -> Guard {
    let log = std::fs::File::create(log).unwrap();
    Guard(
        Command::new(program)
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test.sh): {e}")),
    )
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            eprintln!("timed out waiting for {what}");
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn a_tls_sentinel_with_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = |f: &str| dir.path().join(f).display().to_string();
    make_certs(dir.path(), "ca");
    make_certs(dir.path(), "other-ca");
    let redis_port = free_port();
    let _redis = spawn(
        "redis-server",
        &[
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ],
        &dir.path().join("redis.log"),
    );
    let tls_port = free_port();
    std::fs::write(
        d("sentinel.conf"),
        format!(
            "port 0\nbind 127.0.0.1\ntls-port {tls_port}\ntls-cert-file {}\ntls-key-file {}\n\
             tls-ca-cert-file {}\ntls-auth-clients no\nrequirepass {PASSWORD}\ndir {}\n\
             sentinel monitor node-1 127.0.0.1 {redis_port} 1\n",
            d("server.pem"),
            d("server.key"),
            d("ca.pem"),
            dir.path().display()
        ),
    )
    .unwrap();
    let _sentinel = spawn(
        "redis-sentinel",
        &[&d("sentinel.conf")],
        &dir.path().join("sentinel.log"),
    );
    std::fs::write(d("password"), format!("{PASSWORD}\n")).unwrap();

    let tpc = |ca: &str, out: &str, log: &str| {
        spawn(
            env!("CARGO_BIN_EXE_tpc"),
            &[
                "-sentinels",
                &format!("127.0.0.1:{tls_port}"),
                "-sentinel_tls",
                "-sentinel_ca",
                &d(ca),
                "-sentinel_password_file",
                &d("password"),
                "-out",
                &d(out),
                "-cmd",
                "true",
                "-log",
                &d(log),
                "-listen_address=",
            ],
            &dir.path().join(format!("{log}.stderr")),
        )
    };
    let good = tpc("ca.pem", "good.yml", "good.log");
    let line = format!("127.0.0.1:{redis_port}:1 node-1");
    let written = wait_until("the config over TLS", Duration::from_secs(15), || {
        std::fs::read_to_string(d("good.yml")).is_ok_and(|t| t.contains(&line))
    });
    let log = std::fs::read_to_string(d("good.log")).unwrap_or_default();
    assert!(written, "tpc log:\n{log}");
    assert!(log.contains("Connected to sentinel"), "{log}");
    assert!(
        !log.contains(PASSWORD),
        "the password leaked into the log:\n{log}"
    );
    drop(good);

    // A sentinel whose certificate the given CA did not sign is refused.
    let _wrong = tpc("other-ca.pem", "wrong.yml", "wrong.log");
    let refused = wait_until("a refused TLS handshake", Duration::from_secs(10), || {
        std::fs::read_to_string(d("wrong.log")).is_ok_and(|l| l.contains("Cannot reach sentinel"))
    });
    let log = std::fs::read_to_string(d("wrong.log")).unwrap_or_default();
    assert!(refused, "{log}");
    assert!(!Path::new(&d("wrong.yml")).exists());
    assert!(!log.contains(PASSWORD));
}
