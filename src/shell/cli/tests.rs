//! Whole command lines, as users of the original tpc write them.

use std::path::PathBuf;

use super::*;
use crate::core::Addr;

fn run(line: &str) -> Result<Options, CliError> {
    let args = shell_words::split(line).unwrap();
    match parse(&args)? {
        Command::Run(o) => Ok(*o),
        other => panic!("not a run: {other:?}"),
    }
}

fn err(line: &str) -> String {
    run(line).unwrap_err().0
}

#[test]
fn the_originals_readme_example() {
    let o = run(
        "-sentinels :8000,:8001,:8002,:8003,:8004 -out /etc/nutcracker/nutcracker.yml -wait 10",
    )
    .unwrap();
    assert_eq!(o.sentinels.len(), 5);
    assert_eq!(
        o.sentinels[0],
        Addr {
            host: "127.0.0.1".into(),
            port: 8000
        }
    );
    assert_eq!(o.out, Some(PathBuf::from("/etc/nutcracker/nutcracker.yml")));
    assert_eq!(o.core.wait.as_u64(), 10_000);
    assert_eq!(o.cmd, ["killall", "-USR1", "nutcracker"]);
    assert_eq!(o.core.pool, crate::core::PoolSettings::default());
    assert!(o.slack.is_none() && o.log.is_none());
}

#[test]
fn every_flag_in_go_spellings() {
    let o = run(
        "-sentinels=10.0.0.1:26379 --out /tmp/x.yml -cmd 'systemctl restart \"nut cracker\"' \
         -wait=0 -log /var/log/tpc.log -master_pattern node -name cache -ip 127.0.0.1 \
         -port 22121 -hash murmur -has_tag '{}' -distribution modula -timeout -1 \
         -backlog 1024 -redis_auth pw -redis_db 2 -client_connections 10 \
         -server_connections 2 -preconnect -auto_eject_hosts=false \
         -server_retry_timeout=-1 -server_failure_limit -1 -token xoxb -channel '#ops' \
         -username tpc -icon_emoji :robot: -cmd_timeout 5",
    )
    .unwrap();
    let p = &o.core.pool;
    assert_eq!(o.cmd, ["systemctl", "restart", "nut cracker"]);
    assert_eq!(o.core.wait.as_u64(), 0);
    assert_eq!(o.core.master_pattern, "node");
    assert_eq!(
        (p.name.as_str(), p.ip.as_str(), p.port),
        ("cache", "127.0.0.1", 22121)
    );
    assert_eq!((p.hash.as_str(), p.hash_tag.as_str()), ("murmur", "{}"));
    assert_eq!(p.distribution, "modula");
    assert_eq!(
        (p.timeout, p.server_retry_timeout, p.server_failure_limit),
        (-1, -1, -1)
    );
    assert_eq!(
        (
            p.backlog,
            p.redis_db,
            p.client_connections,
            p.server_connections
        ),
        (1024, 2, 10, 2)
    );
    assert_eq!(p.redis_auth.expose(), "pw");
    assert!(p.preconnect && !p.auto_eject_hosts);
    let slack = o.slack.unwrap();
    assert_eq!(
        (slack.channel.as_str(), slack.username.as_str()),
        ("#ops", "tpc")
    );
    assert_eq!(slack.api_url, "https://slack.com/api");
    assert!(!format!("{slack:?}").contains("xoxb"));
    assert_eq!(o.cmd_timeout.as_secs(), 5);
}

#[test]
fn hash_tag_has_both_spellings() {
    assert_eq!(
        run("-sentinels :1 -hash_tag $$")
            .unwrap()
            .core
            .pool
            .hash_tag,
        "$$"
    );
    assert!(err("-sentinels :1 -hash_tag {} -has_tag $$").contains("disagree"));
}

#[test]
fn bad_values_say_what_is_allowed() {
    assert!(err("").contains("no sentinel given"));
    assert!(err("-sentinels nope").contains("is not host:port"));
    assert!(err("-sentinels :70000").contains("1 to 65535"));
    assert!(err("-sentinels :1 -port 0").contains("-port: must be from 1 to 65535"));
    assert!(err("-sentinels :1 -hash sha1").contains("must be one of one_at_a_time"));
    assert!(err("-sentinels :1 -distribution x").contains("ketama, modula, random"));
    assert!(err("-sentinels :1 -has_tag abc").contains("-has_tag: must be exactly two bytes"));
    assert!(err("-sentinels :1 -wait -1").contains("-wait: must be 0 or more"));
    assert!(err("-sentinels :1 -timeout -2").contains("or -1 to leave it out"));
    assert!(err("-sentinels :1 -cmd 'a \"b'").contains("invalid -cmd"));
    assert!(err("-sentinels :1 -preconnect=maybe").contains("not a boolean"));
    let e = err("-sentinels :1 -wait ten");
    assert!(e.contains("-wait") && !e.contains("--wait"), "{e}");
    assert!(err("-sentinel :1").contains("flag provided but not defined: -sentinel"));
    for e in [err("-sentinels :1 -wait ten"), err("-bogus")] {
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn the_sentinel_timeout_is_30_seconds_unless_given() {
    let timeout = |line: &str| run(line).unwrap().sentinel_timeout.as_secs();
    assert_eq!(timeout("-sentinels :1"), 30);
    assert_eq!(timeout("-sentinels :1 -sentinel_timeout=2"), 2);
    let e = err("-sentinels :1 -sentinel_timeout 0");
    assert!(
        e.contains("-sentinel_timeout: must be from 1 to 86400 seconds"),
        "{e}"
    );
}

#[test]
fn help_and_version() {
    let Ok(Command::Help(text)) = parse(&["-h".to_string()]) else {
        panic!("no help")
    };
    assert!(text.contains("-master_pattern"), "{text}");
    assert!(text.contains("Twemproxy: hash algorithm"));
    assert!(text.contains("Slack: channel"));
    // Flags are listed as Go lists them, with one dash.
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("--")),
        "{text}"
    );
    assert!(text.contains("-supervise -- nutcracker -c FILE"), "{text}");
    assert!(!text.contains("<preconnect>") && !text.contains("<auto_eject_hosts>"));
    assert_eq!(parse(&["-version".to_string()]), Ok(Command::Version));
}

#[test]
fn dry_run_needs_no_sentinel() {
    let o = run("-masters examples/masters.txt").unwrap();
    assert_eq!(
        o.dry_run_masters,
        Some(PathBuf::from("examples/masters.txt"))
    );
}

fn replay(line: &str) -> Result<ReplayOptions, CliError> {
    let args = shell_words::split(line).unwrap();
    match parse(&args)? {
        Command::Replay(o) => Ok(*o),
        other => panic!("not a replay: {other:?}"),
    }
}

#[test]
fn replay_takes_its_file_before_or_after_the_flags() {
    for line in [
        "replay rec.jsonl -format json -wait 5",
        "replay -format json -wait 5 rec.jsonl",
        "replay -format=json -wait=5 rec.jsonl",
        "replay -format json -wait 5 -- rec.jsonl",
    ] {
        let o = replay(line).unwrap();
        assert_eq!(
            o.source,
            Source::Recording(PathBuf::from("rec.jsonl")),
            "{line}"
        );
        assert_eq!(o.format, Format::Json, "{line}");
        assert_eq!(o.flags.wait.as_u64(), 5_000, "{line}");
    }
    let o = replay("replay -sentinel_log s.log -wait 5").unwrap();
    assert_eq!(o.source, Source::SentinelLog(PathBuf::from("s.log")));
    assert!(replay("replay -format json")
        .unwrap_err()
        .0
        .contains("nothing to replay"));
    assert!(replay("replay a.jsonl b.jsonl")
        .unwrap_err()
        .0
        .contains("\"b.jsonl\""));
    assert!(replay("replay rec.jsonl -- nutcracker")
        .unwrap_err()
        .0
        .contains("unexpected \"nutcracker\" after --"));
    for line in [
        "replay -",
        "replay -wait 5 --",
        "replay -wait 5 x -format json x",
    ] {
        let args = shell_words::split(line).unwrap();
        assert!(parse(&args).is_err(), "{line}");
    }
    assert!(replay("replay -format a.jsonl")
        .unwrap_err()
        .0
        .contains("nothing to replay"));
}

#[test]
fn replay_takes_clock_log_year_and_v() {
    let o = replay("replay -v -sentinel_log s.log -clock wall -log_year 2019").unwrap();
    assert_eq!(o.clock, Clock::Wall);
    assert_eq!(o.log_year, Some(2019));
    assert!(o.verbose);
    let o = replay("replay rec.jsonl").unwrap();
    assert_eq!(
        (o.clock, o.log_year, o.verbose),
        (Clock::Relative, None, false)
    );
    assert!(replay("replay rec.jsonl -clock utc")
        .unwrap_err()
        .0
        .contains("relative or wall"));
    assert!(replay("replay -sentinel_log s.log -log_year 19")
        .unwrap_err()
        .0
        .contains("a year such as 2024"));
}

#[test]
fn a_non_utf8_argument_is_named_by_its_position_only() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let args = [
        OsString::from("-redis_auth"),
        OsString::from_vec(b"pa\xffss".to_vec()),
    ];
    let e = utf8_args(args).unwrap_err().0;
    assert!(e.starts_with("argument 2 is not valid UTF-8"), "{e}");
    assert!(!e.contains("pa"), "{e}");
    assert_eq!(
        utf8_args([OsString::from("-wait"), OsString::from("5")]),
        Ok(vec!["-wait".to_string(), "5".to_string()])
    );
}

#[test]
fn a_hash_tag_is_two_bytes_as_nutcracker_counts() {
    let e = err("-sentinels :1 -hash_tag éé");
    assert!(e.contains("-hash_tag") && e.contains("two bytes"), "{e}");
    // One character of two bytes is what nutcracker takes.
    let o = run("-sentinels :1 -hash_tag é").unwrap();
    assert_eq!(o.core.pool.hash_tag, "é");
}

#[test]
fn numbers_nutcracker_reads_are_at_most_32_bits() {
    for flag in [
        "timeout",
        "backlog",
        "redis_db",
        "client_connections",
        "server_connections",
        "server_retry_timeout",
        "server_failure_limit",
    ] {
        let e = err(&format!("-sentinels :1 -{flag} 2147483648"));
        assert!(
            e.contains(&format!("-{flag}")) && e.contains("2147483647"),
            "{e}"
        );
        assert!(
            run(&format!("-sentinels :1 -{flag} 2147483647")).is_ok(),
            "{flag}"
        );
    }
}

#[test]
fn the_same_sentinel_twice_is_followed_once_with_a_warning() {
    let o =
        run("-sentinels :8000,127.0.0.1:8000,10.0.0.1:1,[::1]:8000,::1:8000,10.0.0.1:1").unwrap();
    let listed: Vec<String> = o.sentinels.iter().map(|a| a.to_string()).collect();
    assert_eq!(listed, ["127.0.0.1:8000", "10.0.0.1:1", "::1:8000"]);
    let warnings = o.warnings.join("\n");
    assert_eq!(o.warnings.len(), 3, "{warnings}");
    assert!(
        warnings.contains("\"127.0.0.1:8000\"") && warnings.contains("\":8000\""),
        "{warnings}"
    );
    assert!(run("-sentinels :8000,:8001").unwrap().warnings.is_empty());
}

/// Without `-strict`, server lines of the template tpc cannot follow are named at start
/// (they keep their address through every failover); with it, tpc refuses to start.
#[test]
fn template_lines_tpc_cannot_follow_are_said_at_start() {
    let dir = std::env::temp_dir().join(format!("tpc-unbound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.yml");
    let mut text =
        "p:\n  listen: 127.0.0.1:22121\n  servers:\n  - 10.0.0.1:6379:1 m1\n".to_string();
    for i in 0..7 {
        text.push_str(&format!("  - 10.0.0.{}:6379:1\n", i + 2));
    }
    std::fs::write(&file, &text).unwrap();
    let line = format!("-sentinels :1 -template {}", file.display());
    let warnings = run(&line).unwrap().warnings.join("\n");
    assert!(
        warnings.contains("tpc leaves 7 server line(s) as written"),
        "{warnings}"
    );
    assert!(
        warnings.contains("line 5 \"10.0.0.2:6379:1\""),
        "{warnings}"
    );
    assert!(warnings.contains("and 2 more"), "{warnings}");
    assert!(err(&format!("{line} -strict")).contains("line 5"));
    std::fs::write(
        &file,
        "p:\n  listen: 127.0.0.1:22121\n  servers:\n  - 10.0.0.1:6379:1 m1\n",
    )
    .unwrap();
    assert!(run(&line).unwrap().warnings.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_slack_url_is_http_or_https() {
    for url in [
        "ftp://slack.example/api",
        "slack.com/api",
        "https://",
        "file:///tmp/x",
    ] {
        let e = err(&format!("-sentinels :1 -slack_url {url}"));
        assert!(e.contains("-slack_url") && e.contains("http"), "{e}");
    }
    let o = run("-sentinels :1 -token t -slack_url http://127.0.0.1:1/api/").unwrap();
    assert_eq!(o.slack.unwrap().api_url, "http://127.0.0.1:1/api");
}

#[test]
fn secrets_hide_in_debug_output() {
    let o = run(
        "-sentinels :1 -redis_auth s3cr3t-auth -token xoxb-s3cr3t -sentinel_password s3cr3t-pw",
    )
    .unwrap();
    let text = format!("{o:?}");
    assert!(!text.contains("s3cr3t"), "{text}");
    let core = crate::core::Core::new(o.core.clone(), None);
    assert!(!format!("{core:?}").contains("s3cr3t"));
}

#[test]
fn paths_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let e = err(&format!("-sentinels :1 -out {d}/no/such/nutcracker.yml"));
    assert!(
        e.contains("-out") && e.contains(&format!("{d}/no/such")),
        "{e}"
    );
    let e = err(&format!("-sentinels :1 -out {d}"));
    assert!(e.contains("-out") && e.contains("folder"), "{e}");
    let e = err(&format!("-sentinels :1 -log {d}/no/tpc.log"));
    assert!(e.contains("-log") && e.contains(&format!("{d}/no")), "{e}");
    let e = err(&format!("-sentinels :1 -record {d}/no/rec.jsonl"));
    assert!(e.contains("-record"), "{e}");
    let e = err(&format!(
        "-sentinels :1 -sentinel_tls -sentinel_ca {d}/ca.pem"
    ));
    assert!(
        e.contains("-sentinel_ca") && e.contains(&format!("{d}/ca.pem")),
        "{e}"
    );
    // A CA file that is there but holds no certificate is refused at start too.
    std::fs::write(dir.path().join("hostname"), "db-1\n").unwrap();
    let e = err(&format!(
        "-sentinels :1 -sentinel_tls -sentinel_ca {d}/hostname"
    ));
    assert!(
        e.contains("-sentinel_ca") && e.contains("no certificate"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("cut.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n",
    )
    .unwrap();
    let e = err(&format!(
        "-sentinels :1 -sentinel_tls -sentinel_ca {d}/cut.pem"
    ));
    assert!(e.contains("not well-formed PEM"), "{e}");
    let e = err("-sentinels :1 -sentinel_username tpc");
    assert!(e.contains("needs the user's password"), "{e}");
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "").unwrap();
    let e = err(&format!("-sentinels :1 -nutcracker {}", plain.display()));
    assert!(e.contains("-nutcracker") && e.contains("executable"), "{e}");
    assert!(run(&format!(
        "-sentinels :1 -out {d}/nutcracker.yml -log {d}/tpc.log"
    ))
    .is_ok());
}

#[test]
fn supervise_runs_the_command_after_the_double_dash_on_the_file_tpc_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("nutcracker.yml"), "").unwrap();
    std::os::unix::fs::symlink("nutcracker.yml", dir.path().join("link.yml")).unwrap();
    let head = format!("-sentinels :1 -out {d}/nutcracker.yml -supervise --");
    let o = run(&format!(
        "{head} nutcracker -v 6 -c {d}/link.yml -o /dev/stderr"
    ))
    .unwrap();
    assert_eq!(
        o.supervise.unwrap(),
        shell_words::split(&format!("nutcracker -v 6 -c {d}/link.yml -o /dev/stderr")).unwrap()
    );
    // -h after -- is nutcracker's (here refused: it would exit at once), not tpc's.
    assert!(err(&format!("{head} nutcracker -c {d}/nutcracker.yml -h")).contains("-h"));
    // A file that does not exist yet is compared by its path.
    let o = run(&format!(
        "-sentinels :1 -out {d}/new.yml -supervise -- nutcracker --conf-file={d}/./new.yml"
    ))
    .unwrap();
    assert!(o.supervise.is_some());
    assert!(run("-sentinels :1 -out x.yml").unwrap().supervise.is_none());
}

#[test]
fn supervise_refuses_what_cannot_work_and_says_what_would() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let out = format!("-sentinels :1 -out {d}/nutcracker.yml");
    for (line, says) in [
        (format!("{out} -supervise"), "after --, e.g. -supervise -- nutcracker -c"),
        (format!("{out} -supervise --"), "after --, e.g."),
        (
            format!("{out} -- nutcracker -c {d}/nutcracker.yml"),
            "only run with -supervise: add -supervise",
        ),
        (
            format!("{out} -cmd true -supervise -- nutcracker -c {d}/nutcracker.yml"),
            "-supervise and -cmd exclude each other",
        ),
        (
            format!("{out} -cmd={} -supervise -- nutcracker -c {d}/nutcracker.yml", DEFAULT_CMD.replace(' ', "\\ ")),
            "drop -cmd",
        ),
        (
            "-sentinels :1 -supervise -- nutcracker -c x.yml".to_string(),
            "-supervise needs -out",
        ),
        (
            format!("{out} -supervise -- nutcracker -s 22222"),
            &format!("names no config file, so nutcracker would load its default instead of -out: add -c {d}/nutcracker.yml"),
        ),
        (
            format!("{out} -supervise -- nutcracker -c {d}/other.yml"),
            &format!("loads {d}/other.yml, which is not -out {d}/nutcracker.yml"),
        ),
        (
            format!("{out} -supervise -- nutcracker -d -c {d}/nutcracker.yml"),
            "has -d: nutcracker would daemonize",
        ),
    ] {
        let e = err(&line);
        assert!(e.contains(says), "{line}: {e}");
    }
}

/// The core settings replay reads from `flags` (after `tpc replay rec.jsonl`).
fn replay_core(flags: &[&str]) -> (CoreSettings, Vec<String>) {
    let mut args = vec!["replay".to_string()];
    if !flags.iter().any(|f| f.starts_with("-sentinel_log")) {
        args.push("rec.jsonl".to_string());
    }
    args.extend(flags.iter().map(|s| s.to_string()));
    match parse(&args) {
        Ok(Command::Replay(o)) => (o.flags, o.given),
        other => panic!("{flags:?}: {other:?}"),
    }
}

#[test]
fn every_flag_of_the_table_overrides_a_recording_or_leaves_the_core_alone() {
    use flags::{Kind, Replay, FLAGS};
    // -sentinel_ca needs -sentinel_tls, which changes nothing in the core.
    let (defaults, _) = replay_core(&["-sentinel_tls"]);
    // -replica_pools names pools of a template.
    let template = "-template=examples/nutcracker.yml";
    let (with_template, _) = replay_core(&["-sentinel_tls", template]);
    for flag in FLAGS.iter().filter(|f| f.kind != Kind::Switch) {
        let given = format!("-{}={}", flag.name, flag.example);
        let (base, defaults) = match flag.name {
            "replica_pools" => (vec!["-sentinel_tls", template], &with_template),
            // A user needs its password.
            "sentinel_username" => (vec!["-sentinel_tls", "-sentinel_password=pw"], &defaults),
            _ => (vec!["-sentinel_tls"], &defaults),
        };
        let (core, names) = replay_core(&[base.as_slice(), &[given.as_str()]].concat());
        match flag.replay {
            Replay::Override(_) => {
                assert_ne!(&core, defaults, "-{}'s example changes nothing", flag.name);
                let mut recording = (*defaults).clone();
                apply_overrides(&mut recording, &core, &names);
                assert_eq!(recording, core, "-{} does not override", flag.name);
            }
            Replay::Input | Replay::Daemon => assert_eq!(
                &core, defaults,
                "-{} changes the core but replay ignores it",
                flag.name
            ),
        }
    }
}

#[test]
fn every_default_and_example_in_the_table_parses() {
    for flag in flags::FLAGS {
        for value in [flag.default, flag.example] {
            if !value.is_empty() {
                let mut raw = RawArgs::default();
                assert_eq!(
                    (flag.set)(&mut raw, value),
                    Ok(()),
                    "-{} {value}",
                    flag.name
                );
            }
        }
    }
    for release in compat::RELEASES {
        for (name, value) in release.defaults {
            let flag = flags::lookup(name).unwrap();
            assert_eq!((flag.set)(&mut RawArgs::default(), value), Ok(()), "{name}");
        }
    }
}

#[test]
fn defaults_are_the_readmes() {
    let o = run("-sentinels :1").unwrap();
    assert_eq!(o.cmd_line, "killall -USR1 nutcracker");
    assert_eq!(o.core.wait.as_u64(), 60_000);
    assert_eq!(o.core.pool, crate::core::PoolSettings::default());
    // Metrics and health on every address, port 9298, as the released original.
    let (addr, path) = o.metrics.unwrap();
    assert_eq!(
        (addr.to_string(), path.as_str()),
        ("0.0.0.0:9298".into(), "/metrics")
    );
    assert_eq!(run("-sentinels :1 -listen_address=").unwrap().metrics, None);
    assert_eq!((o.backup, o.backup_keep), (None, 0));
}

#[test]
fn compat_takes_the_released_defaults_and_key_order() {
    use crate::core::settings::KeyOrder;
    for version in ["0.1.5", "0.1.6", "0.1.7", "0.1.8"] {
        let o = run(&format!("-sentinels :1 -compat {version}")).unwrap();
        let p = &o.core.pool;
        assert!(o.cmd.is_empty() && o.core.wait.as_u64() == 0, "{version}");
        assert_eq!(
            (p.timeout, p.backlog, p.client_connections),
            (-1, 1024, 4096)
        );
        assert!(p.preconnect && !p.auto_eject_hosts);
        assert_eq!((p.server_retry_timeout, p.server_failure_limit), (-1, -1));
        assert_eq!(p.key_order, KeyOrder::Released);
        assert_eq!(o.metrics.unwrap().0.port, 9298);
    }
    // Flags given still win, before or after -compat.
    let o = run("-backlog 7 -sentinels :1 -compat 0.1.8 -wait 3").unwrap();
    assert_eq!((o.core.pool.backlog, o.core.wait.as_u64()), (7, 3000));
    let e = err("-sentinels :1 -compat 0.2.0");
    assert!(
        e.contains("-compat") && e.contains("0.1.5, 0.1.6, 0.1.7, 0.1.8"),
        "{e}"
    );
}

#[test]
fn misspelt_flags_and_units_say_what_is_meant() {
    let e = err("-sentinel :1");
    assert!(e.contains("did you mean -sentinels?"), "{e}");
    let e = err("-sentinels :1 -master_patern x");
    assert!(e.contains("did you mean -master_pattern?"), "{e}");
    let e = err("-sentinels :1 -wait 5s");
    assert!(
        e.contains("-wait") && e.contains("seconds") && e.contains("(5, not 5s)"),
        "{e}"
    );
    let e = err("-sentinels :1 -start_grace_ms 1s");
    assert!(e.contains("milliseconds"), "{e}");
}

#[test]
fn new_flags_are_checked() {
    let o = run("-sentinels :1 -listen_address 127.0.0.1:9100 -telemetry_path /m").unwrap();
    let (addr, path) = o.metrics.unwrap();
    assert_eq!(
        (addr.to_string(), path.as_str()),
        ("127.0.0.1:9100".into(), "/m")
    );
    assert!(err("-sentinels :1 -listen_address 9298").contains("-listen_address"));
    assert!(err("-sentinels :1 -listen_address :0").contains("-listen_address"));
    assert!(err("-sentinels :1 -telemetry_path metrics").contains("-telemetry_path"));
    assert!(err("-sentinels :1 -backup_keep -1").contains("-backup_keep"));
    let o = run("-sentinels :1 -backup /tmp -backup_keep 3").unwrap();
    assert_eq!((o.backup, o.backup_keep), (Some(PathBuf::from("/tmp")), 3));
    assert!(err("-sentinels :1 -backup /no/such/dir").contains("-backup"));
    assert_eq!(parse(&["-v".to_string()]), Ok(Command::Version));
}

#[test]
fn help_lists_subcommands_wraps_at_80_and_replay_has_its_own() {
    let help = |line: &str| match parse(&shell_words::split(line).unwrap()) {
        Ok(Command::Help(text)) => text,
        other => panic!("{line}: {other:?}"),
    };
    let main = help("-h");
    let replay = help("replay -h");
    for text in [&main, &replay] {
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(text.contains("Exit status: 0"), "{text}");
    }
    assert!(main.contains("Subcommands:\n  replay\n"), "{main}");
    assert!(replay.starts_with("Usage: tpc replay FILE"), "{replay}");
    assert!(
        replay.contains("-wait") && !replay.contains("-out "),
        "{replay}"
    );
    crate::testing::snapshots().bind(|| {
        insta::assert_snapshot!("help", main);
        insta::assert_snapshot!("replay_help", replay);
    });
}

#[test]
fn the_readme_flag_table_is_the_flag_tables() {
    let readme = include_str!("../../../README.md");
    let want = help::readme_table();
    assert!(
        readme.contains(&want),
        "README.md's flag table differs from the flag table; replace it with:\n{want}"
    );
}
