//! Template mode through the real [`Core`], kept as insta snapshots in `snapshots/`:
//! real-shaped operator files (several pools, comments, indents of 2, 3 and 4 spaces,
//! quoted lines, hostnames, weights, a master in two pools, lines tpc leaves alone, no
//! final newline) before and after failovers fed as sentinel answers and
//! `+switch-master` messages. Each snapshot shows the template, every config written
//! (when, the changes the core names, and the lines that differ from the config
//! before it), and the last config in full: reviewing it means checking that only the
//! addresses of the failed-over masters changed, on every line that names them.
//!
//! To accept changed snapshots: `INSTA_UPDATE=always cargo test --test template_snapshots`.

use std::fmt::Write;
use std::path::Path;

use tpc::core::driver::{Driver, Entry, Outcomes};
use tpc::core::template::Template;
use tpc::core::{Addr, Core, CoreSettings, Effect, Input, MasterInfo, Millis};

/// What a sentinel says at a time.
enum Said {
    /// `SENTINEL MASTERS`: `(name, host:port, epoch)`.
    Masters(Vec<(&'static str, &'static str, u64)>),
    /// `+switch-master name old new`.
    Switch(&'static str, &'static str, &'static str),
}

fn master((name, at, epoch): &(&str, &str, u64)) -> MasterInfo {
    MasterInfo {
        name: name.to_string(),
        addr: Addr::parse(at).expect("host:port"),
        epoch: Some(*epoch),
    }
}

fn input(at: u64, said: &Said) -> Input<'static> {
    let (at, sentinel) = (Millis(at), "10.0.0.100:26379".into());
    match said {
        Said::Masters(list) => Input::Snapshot {
            at,
            sentinel,
            masters: list.iter().map(master).collect(),
            replicas: Default::default(),
        },
        Said::Switch(name, old, new) => {
            let words = |a: &str| a.rsplit_once(':').map(|(h, p)| format!("{h} {p}"));
            let (old, new) = (words(old).expect("old"), words(new).expect("new"));
            Input::Message {
                at,
                sentinel,
                channel: "+switch-master".into(),
                payload: format!("{name} {old} {new}").into(),
            }
        }
    }
}

/// The lines of `after` that differ from `before` (addresses never hold a line
/// break, so the lines correspond one to one).
fn changed_lines(before: &str, after: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) =
        (before.split('\n').collect(), after.split('\n').collect());
    assert_eq!(old.len(), new.len(), "a write changed the number of lines");
    let mut shown = String::new();
    for (i, (a, b)) in old
        .iter()
        .zip(&new)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
    {
        let _ = writeln!(shown, "  {:>3} - {a}\n  {:>3} + {b}", i + 1, i + 1);
    }
    shown
}

/// Runs the template at `path` through a core (the config on disk being `on_disk`)
/// fed `script`, and describes what it wrote.
fn run(path: &str, on_disk: Option<&str>, script: &[(u64, Said)]) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).expect("the template");
    let settings = CoreSettings {
        template: Some(Template::parse(&text).expect("a valid template")),
        wait: Millis::from_secs(10),
        confirm_grace: Millis::from_secs(5),
        sentinels: 1,
        ..CoreSettings::default()
    };
    let core = Core::new(settings, on_disk.map(str::to_string));
    let mut driver = Driver::new(core, Outcomes::Simulated);
    let mut entries = Vec::new();
    for (at, said) in script {
        driver.feed(input(*at, said), &mut |e| entries.push(e));
    }
    driver.finish(&mut |e| entries.push(e));

    let ending = if text.ends_with('\n') {
        ""
    } else {
        ", no final newline"
    };
    let mut out = format!("=== {path}{ending} ===\n{text}\n");
    let mut last = on_disk.unwrap_or(&text).to_string();
    for entry in &entries {
        match entry {
            Entry::Effect(at, Effect::WriteConfig { text, changes, .. }) => {
                let changes: Vec<String> = changes.iter().map(ToString::to_string).collect();
                let _ = write!(
                    out,
                    "--- {at} write: {}\n{}",
                    changes.join("; "),
                    changed_lines(&last, text)
                );
                last = text.to_string();
            }
            Entry::Effect(_, Effect::Stop { error }) => panic!("stopped: {error}"),
            _ => {}
        }
    }
    let ending = if last.ends_with('\n') {
        ""
    } else {
        ", no final newline"
    };
    let _ = write!(out, "=== the last config{ending} ===\n{last}\n");
    out
}

fn check(name: &str, output: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(true);
    s.bind(|| insta::assert_snapshot!(name, output));
}

/// Four pools: a master tpc found moved at start, failovers one by one and two in one
/// wait (written together when it ends), a master in two pools, a hostname replaced by
/// an IP, a master the template does not carry (left out), and kept as written: an
/// unnamed line and a server no sentinel knows, at other addresses in two pools.
#[test]
fn sites_through_failovers() {
    // What the sentinel monitors, with the masters `moved` at their new address and epoch.
    let masters = |moved: &[(&'static str, &'static str, u64)]| {
        let mut list = vec![
            ("sess-1", "10.1.0.11:6379", 1),
            ("sess-2", "10.1.0.22:6379", 2),
            ("sess-3", "10.1.0.13:6379", 1),
            ("cache-a", "cache-a.prod.example.com:6380", 1),
            ("cache-b", "cache-b.prod.example.com:6380", 1),
            ("q-eu", "10.2.0.21:6379", 1),
            ("q-us", "10.3.0.21:6379", 1),
            ("an-1", "10.4.0.1:6379", 1),
            ("batch-1", "10.7.0.1:6379", 1),
        ];
        for m in &mut list {
            if let Some(to) = moved.iter().find(|to| to.0 == m.0) {
                *m = *to;
            }
        }
        Said::Masters(list)
    };
    let sess_1 = ("sess-1", "10.1.0.31:6379", 2);
    let cache_a = ("cache-a", "10.5.0.7:6380", 2);
    let (q_eu, an_1) = (("q-eu", "10.2.0.22:6379", 2), ("an-1", "10.4.0.11:6379", 2));
    let script = [
        (0, masters(&[])),
        (2_000, Said::Switch("sess-1", "10.1.0.11:6379", sess_1.1)),
        (2_500, masters(&[sess_1])),
        (
            20_000,
            Said::Switch("cache-a", "cache-a.prod.example.com:6380", cache_a.1),
        ),
        (20_500, masters(&[sess_1, cache_a])),
        (22_000, Said::Switch("q-eu", "10.2.0.21:6379", q_eu.1)),
        (22_500, masters(&[sess_1, cache_a, q_eu])),
        (25_000, Said::Switch("an-1", "10.4.0.1:6379", an_1.1)),
        (25_500, masters(&[sess_1, cache_a, q_eu, an_1])),
    ];
    check("sites", &run("tests/templates/sites.yml", None, &script));
}

/// The README's example as `-template` and `-out` at once: nothing is written while
/// the sentinels agree with the file; a failover of the master in both pools changes
/// both its lines, then one of a quoted line keeps the quotes and the weight.
#[test]
fn example_in_place_through_failovers() {
    let example = "examples/nutcracker.yml";
    let on_disk = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(example))
        .expect("the example");
    let masters =
        |node_1, node_3| Said::Masters(vec![node_1, ("node-2", "10.0.0.2:6379", 1), node_3]);
    let (node_1, node_3) = (
        ("node-1", "10.0.0.1:6379", 1),
        ("node-3", "10.0.0.3:6379", 1),
    );
    let (moved_1, moved_3) = (
        ("node-1", "10.0.1.1:6379", 2),
        ("node-3", "10.0.1.3:6380", 2),
    );
    let script = [
        (0, masters(node_1, node_3)),
        (5_000, Said::Switch("node-1", node_1.1, moved_1.1)),
        (5_500, masters(moved_1, node_3)),
        (30_000, Said::Switch("node-3", node_3.1, moved_3.1)),
        (30_500, masters(moved_1, moved_3)),
    ];
    check("example", &run(example, Some(&on_disk), &script));
}
