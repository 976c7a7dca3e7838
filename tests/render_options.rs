//! The rendered config for the original's defaults and for every pool option, each as an
//! insta snapshot in `snapshots/`, each accepted by the real `nutcracker -t` and parsed
//! back to the same pool and servers (invariant 8).

use std::collections::BTreeMap;
use std::process::Command;

use tpc::core::render::{parse, pool_yaml, render};
use tpc::core::Addr;
use tpc::shell::cli::{self, Command as Cli};

/// Every option the pool takes, as the original's users write it.
const CASES: &[(&str, &str)] = &[
    ("defaults", ""),
    ("name", "-name cache"),
    ("ip", "-ip 127.0.0.1"),
    ("port", "-port 22121"),
    ("hash", "-hash murmur"),
    ("has_tag", "-has_tag {}"),
    ("hash_tag", "-hash_tag $$"),
    ("distribution", "-distribution modula"),
    ("timeout", "-timeout 1000"),
    ("timeout_omitted", "-timeout -1"),
    ("backlog", "-backlog 1024"),
    ("redis_auth", "-redis_auth s3cret"),
    ("redis_db", "-redis_db 5"),
    ("client_connections", "-client_connections 100"),
    ("server_connections", "-server_connections 4"),
    ("preconnect", "-preconnect"),
    ("auto_eject_hosts_off", "-auto_eject_hosts=false"),
    ("server_retry_timeout", "-server_retry_timeout 500"),
    ("server_retry_timeout_omitted", "-server_retry_timeout -1"),
    ("server_failure_limit", "-server_failure_limit 10"),
    ("server_failure_limit_omitted", "-server_failure_limit=-1"),
];

fn masters() -> BTreeMap<String, Addr> {
    [("node-2", 6380), ("node-1", 6379), ("node-10", 7000)]
        .into_iter()
        .map(|(n, p)| {
            (
                n.to_string(),
                Addr {
                    host: "127.0.0.1".into(),
                    port: p,
                },
            )
        })
        .collect()
}

fn nutcracker_accepts(text: &str) -> Result<(), String> {
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

#[test]
fn every_option_renders_as_expected_and_nutcracker_accepts_it() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(true);
    for (case, flags) in CASES {
        let args = shell_words::split(&format!("-sentinels :26379 {flags}")).unwrap();
        let Ok(Cli::Run(options)) = cli::parse(&args) else {
            panic!("{case}: {flags} did not parse");
        };
        let pool = &options.core.pool;
        let text = render(pool, &masters());
        settings.bind(|| insta::assert_snapshot!(*case, text, flags));
        if let Err(e) = nutcracker_accepts(&text) {
            panic!("{case}: nutcracker rejects\n{text}\n{e}");
        }
        let back = parse(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[&pool.name], pool_yaml(pool, &masters()), "{case}");
    }
}

#[test]
fn nutcracker_rejects_what_tpc_never_writes() {
    // The core refuses to write a pool without servers; this is why.
    let text = render(&tpc::core::PoolSettings::default(), &BTreeMap::new());
    assert!(nutcracker_accepts(&text).is_err());
}
