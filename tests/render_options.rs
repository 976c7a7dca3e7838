//! The rendered config for the original's defaults and for every pool option, each as an
//! insta snapshot in `snapshots/`, each accepted by the real `nutcracker -t` and parsed
//! back to the same pool and servers (invariant 8).

mod nutcracker_verdict;
use nutcracker_verdict::nutcracker_verdict;

use std::collections::BTreeMap;

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
        if let Err(e) = nutcracker_verdict(&text) {
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
    assert!(nutcracker_verdict(&text).is_err());
}

/// The released binaries' template (DESIGN.md §2), written out by hand: their key order,
/// `-1` and empty strings leaving a key out, no blank lines.
fn released_template(flags: &BTreeMap<&str, &str>, masters: &BTreeMap<String, Addr>) -> String {
    let get = |k: &str| flags[k].to_string();
    let mut text = format!(
        "{}:\n  listen: {}:{}\n",
        get("name"),
        get("ip"),
        get("port")
    );
    let mut key = |k: &str, v: String, keep: bool| {
        if keep {
            text.push_str(&format!("  {k}: {v}\n"));
        }
    };
    key("hash", get("hash"), true);
    key(
        "hash_tag",
        format!("'{}'", get("hash_tag")),
        !flags["hash_tag"].is_empty(),
    );
    key(
        "redis_auth",
        get("redis_auth"),
        !flags["redis_auth"].is_empty(),
    );
    key("distribution", get("distribution"), true);
    key("redis", "true".into(), true);
    for k in ["preconnect", "auto_eject_hosts"] {
        key(k, get(k), true);
    }
    for k in ["server_retry_timeout", "server_failure_limit", "timeout"] {
        key(k, get(k), flags[k] != "-1");
    }
    for k in [
        "backlog",
        "redis_db",
        "client_connections",
        "server_connections",
    ] {
        key(k, get(k), true);
    }
    text.push_str("  servers:\n");
    for (name, addr) in masters {
        text.push_str(&format!("  - {}:{}:1 {name}\n", addr.host, addr.port));
    }
    text
}

/// The released binaries' defaults (DESIGN.md §2).
const RELEASED_DEFAULTS: &[(&str, &str)] = &[
    ("name", "redis"),
    ("ip", "0.0.0.0"),
    ("port", "9000"),
    ("hash", "fnv1a_64"),
    ("hash_tag", ""),
    ("redis_auth", ""),
    ("distribution", "ketama"),
    ("preconnect", "true"),
    ("auto_eject_hosts", "false"),
    ("server_retry_timeout", "-1"),
    ("server_failure_limit", "-1"),
    ("timeout", "-1"),
    ("backlog", "1024"),
    ("redis_db", "0"),
    ("client_connections", "4096"),
    ("server_connections", "1"),
];

fn rendered(flags: &str) -> (String, tpc::core::PoolSettings) {
    let args = shell_words::split(&format!("-sentinels :26379 {flags}")).unwrap();
    let Ok(Cli::Run(options)) = cli::parse(&args) else {
        panic!("{flags} did not parse");
    };
    (render(&options.core.pool, &masters()), options.core.pool)
}

#[test]
fn compat_renders_what_each_release_wrote() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(true);
    // A released binary's command line: its defaults, then some flags given.
    let cases = [
        ("0.1.5", ""),
        ("0.1.6", "-name cache -port 22121"),
        ("0.1.7", "-has_tag {} -timeout 500 -backlog 64"),
        (
            "0.1.8",
            "-server_retry_timeout 2000 -server_failure_limit 2 -preconnect=false",
        ),
    ];
    for (version, given) in cases {
        let mut want: BTreeMap<&str, &str> = RELEASED_DEFAULTS.iter().copied().collect();
        let words = shell_words::split(given).unwrap();
        let mut words = words.iter();
        while let Some(flag) = words.next() {
            let (name, value) = match flag.trim_start_matches('-').split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (flag[1..].to_string(), words.next().unwrap().clone()),
            };
            let key = if name == "has_tag" { "hash_tag" } else { &name };
            let key = RELEASED_DEFAULTS.iter().find(|(k, _)| *k == key).unwrap().0;
            want.insert(key, Box::leak(value.into_boxed_str()));
        }
        let model = released_template(&want, &masters());
        let (text, pool) = rendered(&format!("-compat {version} {given}"));
        assert_eq!(text, model, "-compat {version} {given}");
        settings.bind(|| insta::assert_snapshot!(format!("compat_{version}"), text, given));
        if let Err(e) = nutcracker_verdict(&text) {
            panic!("{version}: nutcracker rejects\n{text}\n{e}");
        }
        // Without -compat, the released defaults given as flags make the same pool, in
        // the README's key order.
        let explicit: String = RELEASED_DEFAULTS
            .iter()
            .filter(|(k, v)| !v.is_empty() && *k != "hash_tag" && *k != "redis_auth")
            .map(|(k, v)| format!("-{k}={v} "))
            .collect();
        let (plain, _) = rendered(&format!("{explicit} {given}"));
        assert_eq!(parse(&plain).unwrap(), parse(&text).unwrap(), "{version}");
        assert_ne!(plain, text, "{version}: the key order should differ");
        assert_eq!(
            parse(&text).unwrap()[&pool.name],
            pool_yaml(&pool, &masters())
        );
    }
}
