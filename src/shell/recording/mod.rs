//! The recording format: JSON Lines, a header line with the settings that shape
//! decisions, then one [`Input`] a line, exactly as the core saw them. Blank lines and
//! lines starting with `#` are comments, so hand-written scenarios can explain
//! themselves. Reading is streamed: one line at a time.

use std::fmt;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::core::driver::Outcomes;
use crate::core::layout::Layout;
use crate::core::template::Template;
use crate::core::{CoreSettings, Input, Secret};

mod line;

pub use line::{input_line, parse_input};

/// The format version written in every header.
pub const VERSION: u32 = 1;

/// The first line of a config recorded from a file that was not tpc's own rendering.
pub const NOT_A_RENDERING: &str =
    "# The config on disk was not tpc's rendering; the recording keeps only its servers.";

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Format version; must be [`VERSION`].
    pub tpc_recording: u32,
    /// The settings the core ran with.
    #[serde(default)]
    pub settings: CoreSettings,
    /// The config file's content when the core started, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<String>,
    /// nutcracker had not loaded that content when the core started.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reload_owed: bool,
    /// Where outcomes come from on replay.
    #[serde(default)]
    pub outcomes: Outcomes,
    /// When the recording started, as milliseconds since 1970 (UTC) on the wall clock:
    /// the recording's time 0, for `tpc replay -clock wall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// The version of tpc that recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpc_version: Option<String>,
}

impl Header {
    /// A header for a daemon's recording, started now by this tpc (the daemon's clock
    /// starts within milliseconds of it). It holds no secret: the settings' `redis_auth`
    /// is never serialized, and of the config found on disk, which may hold
    /// `redis_auth` in any YAML spelling, only what the core decides from is kept (see
    /// `on_disk_without_secrets`).
    pub fn for_daemon(settings: &CoreSettings, on_disk: Option<&str>) -> Header {
        Header {
            tpc_recording: VERSION,
            settings: settings.clone(),
            on_disk: on_disk.map(|text| on_disk_without_secrets(settings, text)),
            reload_owed: false,
            outcomes: Outcomes::Recorded,
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_millis()).ok()),
            tpc_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }
    }

    /// The header as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a header always serializes");
        line.push('\n');
        line
    }
}

/// What a recording keeps of the config found on disk: not its text, but what the core
/// decides from: the servers in it, and whether it is exactly tpc's rendering of them.
/// The servers are rendered with the settings as the header records them (without
/// `redis_auth`); a file that was not tpc's rendering gets [`NOT_A_RENDERING`] as its
/// first line, so that on replay it is no rendering either.
fn on_disk_without_secrets(settings: &CoreSettings, text: &str) -> String {
    let disk = Layout::new(settings).read(text);
    let mut recorded = settings.clone();
    recorded.pool.redis_auth = Secret::default();
    recorded.template = settings.template.as_ref().map(Template::without_secrets);
    let rendering = Layout::new(&recorded).render(&disk);
    if disk.rendering {
        rendering
    } else {
        format!("{NOT_A_RENDERING}\n{rendering}")
    }
}

/// Why a recording could not be read.
#[derive(Debug)]
pub enum RecordingError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The file has no header line.
    NoHeader,
    /// A line is not valid.
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

impl fmt::Display for RecordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordingError::Io(e) => write!(f, "cannot read the recording: {e}"),
            RecordingError::NoHeader => write!(
                f,
                "the recording is empty: its first line must be a header such as {{\"tpc_recording\":1}}"
            ),
            RecordingError::BadLine { line, why } => write!(f, "line {line}: {why}"),
        }
    }
}

impl std::error::Error for RecordingError {}

/// Streams a recording: the header first, then inputs one line at a time. A line that
/// sits whole in the source's buffer is parsed there, in place, without a copy.
pub struct Reader<R> {
    source: R,
    line_no: usize,
    /// Where the current line is.
    line: Line,
    /// A line that did not sit whole in the source's buffer, gathered here.
    long: Vec<u8>,
    /// Set when the last line was cut short (no newline, not valid JSON).
    truncated_at: Option<usize>,
}

/// Where a [`Reader`]'s current line is, newline included.
#[derive(Clone, Copy)]
enum Line {
    /// No line yet, or the source is exhausted.
    None,
    /// The first `len` bytes of the source's buffer, consumed when the next line is read.
    InSource { len: usize },
    /// In [`Reader::long`].
    Long,
}

impl<R: BufRead> Reader<R> {
    /// Reads the header; the inputs follow through [`Reader::next_input`].
    pub fn open(source: R) -> Result<(Header, Reader<R>), RecordingError> {
        let mut reader = Reader {
            source,
            line_no: 0,
            line: Line::None,
            long: Vec::new(),
            truncated_at: None,
        };
        if !reader.next_line()? {
            return Err(RecordingError::NoHeader);
        }
        let line_no = reader.line_no;
        let bytes = current(&mut reader.source, &reader.long, reader.line)?;
        let text = utf8(bytes, line_no)?;
        let header: Header = serde_json::from_str(text.trim()).map_err(|e| RecordingError::BadLine {
            line: line_no,
            why: format!("not a recording header ({e}); expected e.g. {{\"tpc_recording\":1,\"settings\":{{\"wait\":10000}}}}"),
        })?;
        if header.tpc_recording != VERSION {
            return Err(RecordingError::BadLine {
                line: line_no,
                why: format!(
                    "recording format {} is not supported (this tpc reads format {VERSION})",
                    header.tpc_recording
                ),
            });
        }
        Ok((header, reader))
    }

    /// Moves to the next meaningful line (no comment, not blank); false at the end.
    fn next_line(&mut self) -> Result<bool, RecordingError> {
        loop {
            if let Line::InSource { len } = self.line {
                self.source.consume(len);
            }
            self.line = Line::None;
            let buf = fill(&mut self.source)?;
            if buf.is_empty() {
                return Ok(false);
            }
            let found = match memchr::memchr(b'\n', buf) {
                Some(end) => {
                    self.line = Line::InSource { len: end + 1 };
                    meaningful(&buf[..end])
                }
                None => {
                    self.long.clear();
                    self.source
                        .read_until(b'\n', &mut self.long)
                        .map_err(RecordingError::Io)?;
                    self.line = Line::Long;
                    meaningful(&self.long)
                }
            };
            self.line_no += 1;
            if found {
                return Ok(true);
            }
        }
    }

    /// The next input, `None` at the end. A last line cut short (the daemon died
    /// mid-write) ends the recording; [`Reader::truncated_at`] then says where.
    pub fn next_input(&mut self) -> Result<Option<Input<'_>>, RecordingError> {
        Ok(self.next_numbered()?.map(|(_, input)| input))
    }

    /// The next input with its line number (1-based), as [`Reader::next_input`].
    pub fn next_numbered(&mut self) -> Result<Option<(usize, Input<'_>)>, RecordingError> {
        if !self.next_line()? {
            return Ok(None);
        }
        let line_no = self.line_no;
        let bytes = current(&mut self.source, &self.long, self.line)?;
        // Only the last line can lack its newline.
        let last_cut_short = !bytes.ends_with(b"\n");
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            // Cut in the middle of a character.
            Err(e) if last_cut_short && e.error_len().is_none() => {
                self.truncated_at = Some(line_no);
                return Ok(None);
            }
            Err(e) => return Err(not_utf8(line_no, e)),
        };
        match parse_input(text.trim()) {
            Ok(input) => Ok(Some((line_no, input))),
            Err(_) if last_cut_short => {
                self.truncated_at = Some(line_no);
                Ok(None)
            }
            Err(why) => Err(RecordingError::BadLine { line: line_no, why }),
        }
    }

    /// The line number of a last line that was cut short, if any.
    pub fn truncated_at(&self) -> Option<usize> {
        self.truncated_at
    }
}

/// The bytes of a reader's current line (a free function, so that it borrows only the
/// fields it reads).
fn current<'a, R: BufRead>(
    source: &'a mut R,
    long: &'a [u8],
    line: Line,
) -> Result<&'a [u8], RecordingError> {
    match line {
        Line::None => Ok(&[]),
        // The line was not consumed, so the buffer still starts with it.
        Line::InSource { len } => fill(source)?.get(..len).ok_or_else(|| {
            RecordingError::Io(std::io::Error::other(
                "the reader's buffer lost a line it had buffered",
            ))
        }),
        Line::Long => Ok(long),
    }
}

/// The source's buffer, filled if it is empty; a read interrupted by a signal is tried
/// again.
fn fill<R: BufRead>(source: &mut R) -> Result<&[u8], RecordingError> {
    loop {
        match source.fill_buf() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RecordingError::Io(e)),
            // Asked again: returning the first answer would keep `source` borrowed
            // across the loop.
            Ok(_) => return source.fill_buf().map_err(RecordingError::Io),
        }
    }
}

/// Whether a line holds more than whitespace and is not a comment. Whitespace is what
/// `str::trim` strips, since that is how a line is trimmed before it is parsed.
fn meaningful(line: &[u8]) -> bool {
    // \x0b (vertical tab) is whitespace to `str::trim`, not to `is_ascii_whitespace`.
    let first = line
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0x0b);
    match first {
        None | Some(b'#') => false,
        Some(b) if b.is_ascii() => true,
        Some(_) => std::str::from_utf8(line).map_or(true, |text| {
            let text = text.trim_start();
            !text.is_empty() && !text.starts_with('#')
        }),
    }
}

/// A line's bytes as text.
fn utf8(bytes: &[u8], line_no: usize) -> Result<&str, RecordingError> {
    std::str::from_utf8(bytes).map_err(|e| not_utf8(line_no, e))
}

fn not_utf8(line_no: usize, e: std::str::Utf8Error) -> RecordingError {
    RecordingError::BadLine {
        line: line_no,
        why: format!("not UTF-8 text ({e}); a recording is JSON Lines in UTF-8"),
    }
}

/// Appends the daemon's inputs to a recording, one flushed line each, so a crash loses
/// at most the line being written.
#[derive(Debug)]
pub struct Recorder {
    file: std::io::BufWriter<std::fs::File>,
    /// The settings the daemon runs with (its secret among them), to keep the secret
    /// out of the config texts it reads.
    settings: CoreSettings,
}

impl Recorder {
    /// Starts a recording at `path` with `header`. A non-empty file already there is
    /// kept as `path.1` (replacing an older `.1`), so a restart never loses the
    /// recording of the incident that led to it.
    pub fn create(
        path: &std::path::Path,
        header: &Header,
        settings: &CoreSettings,
    ) -> std::io::Result<Recorder> {
        use std::io::Write;
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            let mut kept = path.as_os_str().to_owned();
            kept.push(".1");
            std::fs::rename(path, kept)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        let mut recorder = Recorder {
            file: std::io::BufWriter::new(file),
            settings: settings.clone(),
        };
        recorder.file.write_all(header.to_line().as_bytes())?;
        recorder.file.flush()?;
        Ok(recorder)
    }

    /// Appends one input and flushes it.
    /// The config file read back on reconcile is recorded as the header's is (see
    /// `on_disk_without_secrets`): what the core decides from, and no secret.
    pub fn record(&mut self, input: &Input<'_>) -> std::io::Result<()> {
        use std::io::Write;
        let line = match input {
            Input::ConfigRead {
                at,
                id,
                text: Some(text),
            } => input_line(&Input::ConfigRead {
                at: *at,
                id: *id,
                text: Some(on_disk_without_secrets(&self.settings, text).into()),
            }),
            _ => input_line(input),
        };
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Millis;

    fn tick(at: u64) -> Input<'static> {
        Input::Tick { at: Millis(at) }
    }

    fn read_all(
        text: impl AsRef<[u8]>,
    ) -> Result<(Header, Vec<Input<'static>>, Option<usize>), RecordingError> {
        let (header, mut r) = Reader::open(text.as_ref())?;
        let mut inputs = Vec::new();
        while let Some(i) = r.next_input()? {
            inputs.push(i.into_owned());
        }
        Ok((header, inputs, r.truncated_at()))
    }

    #[test]
    fn round_trips_with_comments() {
        let header = Header::for_daemon(&CoreSettings::default(), None);
        let text = format!(
            "# a comment\n{}\n{}{}",
            header.to_line(),
            input_line(&tick(5)),
            input_line(&tick(7))
        );
        let (h, inputs, cut) = read_all(&text).unwrap();
        assert_eq!(h, header);
        assert_eq!(inputs, [tick(5), tick(7)]);
        assert_eq!(cut, None);
    }

    #[test]
    fn lines_longer_than_the_read_buffer_are_read_whole() {
        let header = Header::for_daemon(&CoreSettings::default(), None);
        let message = Input::Message {
            at: Millis(3),
            sentinel: "10.0.0.1:26379".into(),
            channel: "+sdown".into(),
            payload: "master node-1 10.0.0.1 6379".into(),
        };
        let text = format!(
            "{}# a comment\n\n{}{}{}",
            header.to_line(),
            input_line(&tick(1)),
            input_line(&message),
            input_line(&tick(2)).trim_end()
        );
        for capacity in [1, 7, 64, 1 << 16] {
            let source = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            let (h, mut r) = Reader::open(source).unwrap();
            assert_eq!(h, header);
            let mut inputs = Vec::new();
            while let Some(i) = r.next_input().unwrap() {
                inputs.push(i.into_owned());
            }
            assert_eq!(inputs, [tick(1), message.clone(), tick(2)], "{capacity}");
            assert_eq!(r.truncated_at(), None);
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_names_its_number() {
        let text = b"{\"tpc_recording\":1}\n{\"type\":\"tick\",\"at\":1}\n\xff\xfe\n";
        let (_, mut r) = Reader::open(&text[..]).unwrap();
        assert!(r.next_input().unwrap().is_some());
        match r.next_input() {
            Err(RecordingError::BadLine { line: 3, why }) => {
                assert!(why.contains("UTF-8"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_of_unicode_whitespace_and_indented_comments_are_skipped() {
        let text = format!(
            "{{\"tpc_recording\":1}}\n\u{a0}\n\x0b\n\u{3000}# note\n \t# note\n{}",
            input_line(&tick(1))
        );
        let (_, inputs, cut) = read_all(&text).unwrap();
        assert_eq!(inputs, [tick(1)]);
        assert_eq!(cut, None);
    }

    #[test]
    fn a_daemon_header_says_when_and_which_tpc() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let line = Header::for_daemon(&CoreSettings::default(), None).to_line();
        let (h, _, _) = read_all(&line).unwrap();
        let started = h.started_at.unwrap();
        assert!((before..before + 60_000).contains(&started), "{line}");
        assert_eq!(h.tpc_version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn a_short_header_takes_defaults() {
        let (h, _, _) = read_all("{\"tpc_recording\":1,\"settings\":{\"wait\":5000}}\n").unwrap();
        assert_eq!(h.settings.wait, Millis(5000));
        assert_eq!(h.settings.pool.port, 9000);
        assert_eq!(h.outcomes, Outcomes::Simulated);
    }

    #[test]
    fn a_cut_last_line_ends_the_recording() {
        let text = format!(
            "{{\"tpc_recording\":1}}\n{}{{\"type\":\"ti",
            input_line(&tick(1))
        );
        let (_, inputs, cut) = read_all(&text).unwrap();
        assert_eq!(inputs, [tick(1)]);
        assert_eq!(cut, Some(3));
        // Cut inside a character.
        let mut text = format!("{{\"tpc_recording\":1}}\n{}", input_line(&tick(1))).into_bytes();
        text.extend_from_slice(b"{\"type\":\"message\",\"at\":2,\"payload\":\"caf\xc3");
        let (_, inputs, cut) = read_all(&text).unwrap();
        assert_eq!(inputs, [tick(1)]);
        assert_eq!(cut, Some(3));
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let text =
            "{\"tpc_recording\":1}\n\n{\"type\":\"tick\",\"at\":1}\n{\"type\":\"nope\",\"at\":1}\n";
        match read_all(text) {
            Err(RecordingError::BadLine { line: 4, why }) => assert!(why.contains("nope"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_all(""), Err(RecordingError::NoHeader)));
        assert!(matches!(
            read_all("{\"tpc_recording\":2}"),
            Err(RecordingError::BadLine { line: 1, .. })
        ));
    }

    #[test]
    fn a_recorder_keeps_the_previous_recording() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let header = Header::for_daemon(&CoreSettings::default(), None);
        let mut r = Recorder::create(&path, &header, &CoreSettings::default()).unwrap();
        r.record(&tick(1)).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        Recorder::create(&path, &header, &CoreSettings::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rec.jsonl.1")).unwrap(),
            first
        );
        let (_, inputs, _) = read_all(std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(inputs.is_empty());
    }

    #[test]
    fn a_secret_yaml_must_quote_stays_out_of_the_header() {
        use crate::core::render::{render, servers_of};
        use crate::core::Addr;
        let mut settings = CoreSettings::default();
        settings.pool.redis_auth = "s3cr#t: it's".into();
        let masters: std::collections::BTreeMap<String, Addr> =
            [("node-1".to_string(), Addr::parse("10.0.0.1:6379").unwrap())].into();
        let rendered = render(&settings.pool, &masters);
        let by_hand = format!("# kept by hand\n{rendered}");
        for on_disk in [rendered, by_hand] {
            let line = Header::for_daemon(&settings, Some(&on_disk)).to_line();
            assert!(!line.contains("s3cr"), "{line}");
            // Replay decides as the daemon did: the same servers on disk, and the file
            // is tpc's own rendering exactly when it was.
            let (header, _, _) = read_all(&line).unwrap();
            let replayed = header.on_disk.unwrap();
            let name = &header.settings.pool.name;
            assert_eq!(servers_of(&replayed, name), masters);
            assert_eq!(
                replayed == render(&header.settings.pool, &masters),
                on_disk == render(&settings.pool, &masters),
                "{replayed}"
            );
        }
    }

    #[test]
    fn the_secret_is_left_out() {
        let mut settings = CoreSettings::default();
        settings.pool.redis_auth = "hunter2".into();
        let h = Header::for_daemon(&settings, Some("  redis_auth: hunter2\n"));
        let line = h.to_line();
        assert!(
            !line.contains("hunter2") && !line.contains("redis_auth"),
            "{line}"
        );
        assert!(line.contains(NOT_A_RENDERING));
    }
}
