//! Template mode's decisions in the core, on virtual time: what happens at start to
//! servers no sentinel knows (`-strict` stops tpc before it writes anything; otherwise
//! they keep the address the file has), and a file changed behind tpc's back (kept as
//! the new template, its addresses made current). Expected files are the input text
//! with addresses swapped by plain text replacement.

mod core_run;

use core_run::Run;
use tpc::core::template::Template;
use tpc::core::{Addr, CoreSettings, Input, MasterInfo, Millis};

const TEMPLATE: &str = "\
alpha:
  listen: 127.0.0.1:22121
  servers:
    - 10.0.0.1:6379:1 known
    - 10.0.0.2:6379:1 unknown
";

fn settings(strict: bool) -> CoreSettings {
    CoreSettings {
        template: Some(Template::parse(TEMPLATE).unwrap()),
        strict,
        wait: Millis::ZERO,
        sentinels: 1,
        ..CoreSettings::default()
    }
}

fn answer(t: u64, known: &str) -> Input<'static> {
    Input::Snapshot {
        at: Millis(t),
        sentinel: "s1".into(),
        masters: vec![
            MasterInfo {
                name: "known".into(),
                addr: Addr::parse(known).unwrap(),
                epoch: Some(1),
            },
            MasterInfo {
                name: "not-in-the-file".into(),
                addr: Addr::parse("10.9.9.9:6379").unwrap(),
                epoch: Some(1),
            },
        ],
        replicas: Default::default(),
    }
}

#[test]
fn strict_stops_before_writing_when_no_sentinel_knows_a_server() {
    let mut run = Run::new(settings(true), Some(TEMPLATE));
    run.feed(answer(1, "10.0.0.7:6379"));
    assert_eq!(run.stops.len(), 1, "{:?}", run.stops);
    let stop = &run.stops[0];
    assert!(
        stop.contains("-strict") && stop.contains("unknown") && stop.contains("line 5"),
        "{stop}"
    );
    assert!(
        !stop.contains(" known ("),
        "names only the unknown server: {stop}"
    );
    assert!(
        run.writes.is_empty(),
        "wrote before stopping: {:?}",
        run.writes
    );
}

#[test]
fn without_strict_an_unknown_server_keeps_the_address_on_disk() {
    // The file on disk is an earlier rendering: `unknown` moved to .8 back then.
    let on_disk = TEMPLATE.replace("10.0.0.2:6379", "10.0.0.8:6379");
    let mut run = Run::new(settings(false), Some(&on_disk));
    run.feed(answer(1, "10.0.0.7:6379"));
    assert!(run.stops.is_empty());
    assert_eq!(
        run.last(),
        on_disk.replace("10.0.0.1:6379", "10.0.0.7:6379"),
        "only the known server moves"
    );
    // A master no server carries changes nothing.
    assert_eq!(run.writes.len(), 1);
}

/// A file changed behind tpc's back (by hand, by Puppet) is written again from the
/// template with the current addresses: an edit tpc took as its template could be one
/// nutcracker rejects, and would then hold back every later failover. The edit is kept
/// in the `.bak` by the write.
#[test]
fn a_file_changed_behind_tpcs_back_is_written_again_from_the_template() {
    let mut s = settings(false);
    s.reconcile = Millis(1_000);
    let mut run = Run::new(s, Some(TEMPLATE));
    run.feed(answer(1, "10.0.0.7:6379"));
    let written = TEMPLATE.replace("10.0.0.1:6379", "10.0.0.7:6379");
    assert_eq!(run.last(), written);
    // An edit nutcracker would reject (a misspelt key), with the old address.
    let edit = TEMPLATE.replace("  listen:", "  timout: 100\n  listen:");
    run.feed(Input::Tick { at: Millis(1_500) });
    let read = *run.reads.last().expect("a reconcile reads the file");
    run.feed(Input::ConfigRead {
        at: Millis(1_600),
        id: read,
        text: Some(edit.into()),
    });
    assert_eq!(run.writes.len(), 2, "written again");
    assert_eq!(run.last(), written);
    assert!(
        run.notes
            .iter()
            .any(|n| n.contains("changed behind tpc's back")),
        "{:?}",
        run.notes
    );
    // Later failovers go on from the template.
    run.feed(Input::Snapshot {
        at: Millis(2_000),
        sentinel: "s1".into(),
        masters: vec![MasterInfo {
            name: "known".into(),
            addr: Addr::parse("10.0.0.6:6379").unwrap(),
            epoch: Some(2),
        }],
        replicas: Default::default(),
    });
    assert_eq!(
        run.last(),
        TEMPLATE.replace("10.0.0.1:6379", "10.0.0.6:6379")
    );
}
