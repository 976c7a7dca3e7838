//! The log reader against lines written here from each format's definition: fixed
//! examples, and a property test that writes event lines in every shape behind every
//! prefix and reads them back.

use proptest::prelude::*;

use super::*;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn year(y: i64) -> Year {
    Year {
        year: y,
        from: YearFrom::Flag,
    }
}

fn import(year_: Year, lines: &[&str]) -> Imported {
    let mut imp = Importer::new(year_);
    for (i, line) in lines.iter().enumerate() {
        imp.line(i + 1, line.as_bytes());
    }
    imp.finish()
}

fn message(at: u64, sentinel: &str, channel: &str, payload: &str) -> Input<'static> {
    Input::Message {
        at: Millis(at),
        sentinel: sentinel.to_string().into(),
        channel: channel.to_string().into(),
        payload: payload.to_string().into(),
    }
}

#[test]
fn reads_event_lines_with_their_time() {
    let imported = import(
        year(2026),
        &[
            "12:X 25 Nov 2026 22:21:01.123 # +sdown master node-1 10.0.0.1 6379",
            "12:X 25 Nov 2026 22:21:01.200 * Sentinel new configuration saved on disk",
            "12:X 25 Nov 2026 22:21:02.250 # +switch-master node-1 10.0.0.1 6379 10.0.0.2 6379",
            "garbage",
            "12:X 26 Nov 2026 00:00:00.000 # -odown master node-1 10.0.0.1 6379",
        ],
    );
    let inputs: Vec<_> = imported.inputs.iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(imported.report.events(), 3);
    assert_eq!(
        inputs[1],
        message(
            1127,
            SENTINEL,
            "+switch-master",
            "node-1 10.0.0.1 6379 10.0.0.2 6379"
        )
    );
    // Across midnight.
    assert_eq!(inputs[2].at(), Millis(5_938_877));
    // `date -u -d '2026-11-25 22:21:01.123' +%s%3N`
    assert_eq!(imported.start, Some(1_795_645_261_123));
}

#[test]
fn merged_logs_are_several_sentinels_in_time_order() {
    let imported = import(
        year(2026),
        &[
            "==> s1.log <==",
            "1:X 25 Nov 2026 22:21:02.000 # +switch-master m 10.0.0.1 6379 10.0.0.2 6379",
            "==> s2.log <==",
            "1:X 25 Nov 2026 22:21:01.000 # +sdown master m 10.0.0.1 6379",
        ],
    );
    assert_eq!(
        imported.inputs,
        [
            (4, message(0, "s2.log", "+sdown", "master m 10.0.0.1 6379")),
            (
                2,
                message(
                    1000,
                    "s1.log",
                    "+switch-master",
                    "m 10.0.0.1 6379 10.0.0.2 6379"
                )
            ),
        ]
    );
    assert_eq!(imported.report.sentinels.len(), 2);
}

#[test]
fn lines_without_a_year_cross_new_year() {
    let lines = [
        "[7] 31 Dec 23:59:59.000 # +sdown master m 10.0.0.1 6379",
        "[7] 01 Jan 00:00:01.000 # -sdown master m 10.0.0.1 6379",
    ];
    // From the flag: the year the log starts in.
    let imported = import(year(2025), &lines);
    assert_eq!(imported.inputs[1].1.at(), Millis(2000));
    // `date -u -d '2025-12-31 23:59:59' +%s`
    assert_eq!(imported.start, Some(1_767_225_599_000));
    // From the file's time: the year it ends in.
    let ending = Year {
        year: 2026,
        from: YearFrom::Mtime,
    };
    assert_eq!(import(ending, &lines).start, Some(1_767_225_599_000));
    assert_eq!(import(ending, &lines).report.year_used, Some(ending));
}

/// A merged log of year-less lines (`grep -H` over two sentinels' logs): each
/// sentinel's lines cross New Year on their own, not in the file's order.
#[test]
fn merged_logs_without_a_year_cross_new_year_per_sentinel() {
    let lines = [
        "s1.log:[7] 31 Dec 23:59:59.000 # +sdown master m 10.0.0.1 6379",
        "s1.log:[7] 01 Jan 00:00:01.000 # -sdown master m 10.0.0.1 6379",
        "s2.log:[8] 31 Dec 23:59:59.500 # +sdown master m 10.0.0.1 6379",
        "s2.log:[8] 01 Jan 00:00:01.500 # -sdown master m 10.0.0.1 6379",
    ];
    for from in [YearFrom::Flag, YearFrom::Mtime] {
        let y = if from == YearFrom::Flag { 2025 } else { 2026 };
        let imported = import(Year { year: y, from }, &lines);
        let at: Vec<(usize, u64)> = imported
            .inputs
            .iter()
            .map(|(line, i)| (*line, i.at().0))
            .collect();
        assert_eq!(at, [(1, 0), (3, 500), (2, 2000), (4, 2500)], "{from:?}");
        assert_eq!(imported.start, Some(1_767_225_599_000), "{from:?}");
    }
}

#[test]
fn unread_event_looking_lines_and_bad_bytes_are_reported() {
    let mut imp = Importer::new(year(2026));
    imp.line(
        1,
        b"12:X 25 Nov 2026 22:21:01.123 # +tilt #tilt mode entered",
    );
    imp.line(2, b"12:X 25/11/2026 # +switch-master m 1.1.1.1 1 2.2.2.2 2");
    imp.line(3, b"just text, caf\xe9\n");
    imp.line(4, b"12:X 25 Nov 2026 22:21:01.123 * Sentinel ID is abc");
    let imported = imp.finish();
    assert_eq!(imported.report.events(), 1);
    assert_eq!(imported.report.unread.len(), 1);
    assert_eq!(imported.report.unread[0].0, 2);
    assert_eq!(imported.report.not_utf8, [3]);
    assert_eq!(
        imported.report.first_lines[2],
        (3, "just text, caf\u{fffd}".into())
    );
}

#[test]
fn the_event_pattern_compiles() {
    assert!(EVENT_LIKE.is_some());
}

/// A time to write: civil parts and the milliseconds since 1970 they mean.
#[derive(Debug, Clone)]
struct When {
    y: i64,
    mo: usize,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    ms: i64,
}

impl When {
    fn unix_ms(&self) -> i64 {
        let days = crate::shell::utc::days_from_civil(self.y, self.mo as i64 + 1, self.d);
        ((days * 24 + self.h) * 60 + self.mi) * 60_000 + self.s * 1000 + self.ms
    }
    fn clock(&self) -> String {
        format!("{:02}:{:02}:{:02}.{:03}", self.h, self.mi, self.s, self.ms)
    }
    fn date(&self) -> String {
        format!("{:02} {}", self.d, MONTHS[self.mo])
    }
    fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{}",
            self.y,
            self.mo + 1,
            self.d,
            self.clock()
        )
    }
}

fn when() -> impl Strategy<Value = When> {
    (
        1990i64..2100,
        0usize..12,
        1i64..29,
        0i64..24,
        0i64..60,
        0i64..60,
        0i64..1000,
    )
        .prop_map(|(y, mo, d, h, mi, s, ms)| When {
            y,
            mo,
            d,
            h,
            mi,
            s,
            ms,
        })
}

/// The body of a line in shape `shape` (an index into `shapes::SHAPES`), written from
/// the format, not from the reader.
fn body(shape: usize, t: &When, level: &str, message: &str) -> String {
    match shape {
        0 => format!("1:X {} {} {} {level} {message}", t.date(), t.y, t.clock()),
        1 => format!("1:X {} {} {level} {message}", t.date(), t.clock()),
        2 => format!("[1] {} {} {level} {message}", t.date(), t.clock()),
        3 => format!("1:X {}+00:00 {level} {message}", t.iso()),
        4 => format!("1:X {:013} {level} {message}", t.unix_ms()),
        _ => format!(
            "pid=1 role=sentinel timestamp=\"{}+0000\" level=warning message=\"{}\"",
            t.iso(),
            message.replace('"', "\\\"")
        ),
    }
}

/// A prefix as its tool writes it, and the sentinel it names.
fn prefix(kind: usize, t: &When, line_no: usize) -> (String, Option<&'static str>) {
    match kind {
        0 => (String::new(), None),
        1 => (format!("{}000000Z ", t.iso()), None),
        2 => (format!("{}Z stdout F ", t.iso()), None),
        3 => (
            format!(
                "{} {} {} host1 redis-sentinel[5095]: ",
                MONTHS[t.mo],
                t.d,
                &t.clock()[..8]
            ),
            Some("host1"),
        ),
        4 => (
            "[pod/sentinel-0/sentinel] ".into(),
            Some("pod/sentinel-0/sentinel"),
        ),
        5 => (format!("{line_no:>6}\t"), None),
        6 => (format!("{line_no}:"), None),
        7 => ("sentinel-1.log:".into(), Some("sentinel-1.log")),
        _ => (format!("logs/s2.log:{line_no}:"), Some("logs/s2.log")),
    }
}

const CHANNELS: [&str; 5] = ["+switch-master", "+sdown", "-odown", "+monitor", "+tilt"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_shape_behind_every_prefix_reads_back(
        shape in 0usize..shapes::SHAPES.len(),
        kind in 0usize..9,
        markdown in any::<bool>(),
        level in 0usize..4,
        channel in 0usize..CHANNELS.len(),
        words in proptest::collection::vec("[a-z0-9.:#/@-]{1,12}", 0..6),
        t in when(),
        line_no in 1usize..100_000,
    ) {
        let level = [".", "-", "*", "#"][level];
        let level = if markdown { format!("\\{level}") } else { level.to_string() };
        let payload = words.join(" ");
        let text = format!("{} {payload}", CHANNELS[channel]);
        let (pre, named) = prefix(kind, &t, line_no);
        let line = format!("{pre}{}", body(shape, &t, &level, text.trim()));
        let mut imp = Importer::new(year(t.y));
        imp.line(line_no, format!("{line}\r\n").as_bytes());
        let imported = imp.finish();
        prop_assert_eq!(imported.report.events(), 1, "{}", line);
        prop_assert_eq!(imported.start, Some(t.unix_ms()), "{}", line);
        prop_assert_eq!(
            &imported.inputs[0],
            &(line_no, message(0, named.unwrap_or(SENTINEL), CHANNELS[channel], &payload)),
            "{}", line
        );
    }

    #[test]
    fn no_line_panics_the_reader(line in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut imp = Importer::new(year(2026));
        imp.line(1, line.as_bytes());
        imp.line(2, &bytes);
        imp.finish();
    }
}
