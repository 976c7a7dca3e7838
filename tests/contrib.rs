//! The files in `contrib/` work where they go: the systemd unit passes
//! `systemd-analyze verify` (with its ExecStart pointed at the built binary, which must
//! exist for the check) and asks for what tpc does (Type=notify, a watchdog, an
//! unprivileged user); the Prometheus alert rules pass `promtool check rules` and name
//! only metrics tpc serves.

use std::process::Command;

const UNIT: &str = include_str!("../contrib/tpc.service");

#[test]
fn the_systemd_unit_verifies_and_asks_for_notify_and_a_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("tpc.service");
    let text = UNIT.replace("/usr/local/bin/tpc", env!("CARGO_BIN_EXE_tpc"));
    assert_ne!(text, UNIT, "the unit runs /usr/local/bin/tpc");
    std::fs::write(&unit, &text).unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs (scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    // Unknown keys are only warned about: none may be.
    assert!(!said.contains("Unknown"), "{said}");
    for wanted in [
        "Type=notify",
        "WatchdogSec=",
        "User=tpc",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(UNIT.contains(wanted), "the unit lacks {wanted}");
    }
    // The flags in ExecStart are ones tpc takes.
    let exec = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/tpc "))
        .unwrap();
    let args = shell_words::split(exec).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(&args)
        .arg("-h")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_alert_rules_pass_promtool() {
    let o = Command::new("promtool")
        .args(["check", "rules", "contrib/prometheus-alerts.yml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("promtool runs (scripts/test.sh installs it)");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every metric the rules use is one tpc serves, as the README's list (made from tpc's
/// metric table, a unit test checks) names them.
#[test]
fn the_alert_rules_use_metrics_tpc_serves() {
    let rules = include_str!("../contrib/prometheus-alerts.yml");
    let readme = include_str!("../README.md");
    let name = regex::Regex::new(r"\btpc_[a-z_]+").unwrap();
    let used: std::collections::BTreeSet<&str> = name
        .find_iter(rules)
        .map(|m| m.as_str())
        .map(|m| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| m.strip_suffix(s))
                .unwrap_or(m)
        })
        .collect();
    assert!(used.len() >= 4, "{used:?}");
    for metric in used {
        assert!(
            readme.contains(&format!("- `{metric}")),
            "{metric} is not a metric tpc serves"
        );
    }
    // Label values the rules compare with.
    assert!(
        readme.contains("`tpc_reloads_total{result}`: Reload command runs, by result (ok, error)")
    );
}
