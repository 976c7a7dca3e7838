//! The operator's nutcracker config as a template (DESIGN.md §10): the file's text cut
//! into pieces, with the `host:port` of each server line `host:port:weight name` as a
//! hole bound to the Sentinel master called `name`. A config is the pieces with the
//! holes filled, so every other byte of the file (comments, blank lines, key order,
//! quoting, indentation, weights, lines tpc does not understand, a missing final
//! newline) stays as it was, and a changed address touches one hole.
//!
//! The YAML is read by yaml-rust2's event parser, whose markers say where each server
//! scalar starts; serde_yaml (the reader nutcracker's configs are checked with elsewhere)
//! must accept the file too.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::core::addr::Addr;
use crate::core::patch::{spell, Span};

/// What a masked secret reads as in a template written to a recording.
const MASKED: &str = "'(not recorded)'";

/// The key whose values are secrets, masked in recordings.
const SECRET_KEY: &str = "redis_auth";

/// The address part of one bound server line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// The pool (top-level key) the line is in.
    pub pool: String,
    /// The server's name: the Sentinel master it follows.
    pub name: String,
    /// The address the text holds.
    pub addr: Addr,
    /// 1-based line of the file.
    pub line: usize,
}

/// A server line tpc leaves as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbound {
    /// The pool the line is in.
    pub pool: String,
    /// 1-based line of the file.
    pub line: usize,
    /// The server entry as YAML reads it.
    pub entry: String,
    /// Why tpc does not manage it.
    pub why: &'static str,
}

/// A parsed template: `pieces.len() == holes.len() + 1`, and the text is
/// `pieces[0] hole[0] pieces[1] … hole[n-1] pieces[n]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<String>,
    holes: Vec<Hole>,
    /// Each hole's address as the text spells it (`:6379`, `[::1]:6379`, a padded
    /// port), kept while the hole's address is unchanged.
    spelled: Vec<String>,
    unbound: Vec<Unbound>,
    pools: Vec<String>,
    /// Byte ranges of `redis_auth` values in the text.
    secrets: Vec<(usize, usize)>,
}

/// Leaves the text out: it may hold `redis_auth`.
impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("pools", &self.pools)
            .field("holes", &self.holes)
            .field("unbound", &self.unbound)
            .finish_non_exhaustive()
    }
}

/// Why a text is not a template tpc can keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The text is not YAML.
    Yaml {
        /// 1-based line.
        line: usize,
        /// The YAML reader's words.
        why: String,
    },
    /// The file is not a mapping of pool names to pools.
    NotPools,
    /// A line break nutcracker reads and tpc would not (U+2028, U+2029, NEL, a lone CR).
    OddLineBreak {
        /// 1-based line (counting line feeds).
        line: usize,
        /// The character, in words.
        what: &'static str,
    },
    /// The file holds more than one YAML document.
    ManyDocuments {
        /// 1-based line of the second document.
        line: usize,
    },
    /// A mapping holds the same key twice.
    DuplicateKey {
        /// The key.
        key: String,
        /// 1-based line of its second appearance.
        line: usize,
    },
    /// A pool is not a mapping, or has no non-empty `servers` list.
    NoServers {
        /// The pool.
        pool: String,
        /// 1-based line of the pool's name.
        line: usize,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Yaml { line, why } => write!(f, "line {line}: not valid YAML: {why}"),
            TemplateError::OddLineBreak { line, what } => write!(
                f,
                "line {line}: {what}: nutcracker reads it as a line break, so lines would hide from tpc; use plain line feeds (\\n, or \\r\\n) only"
            ),
            TemplateError::NotPools => write!(
                f,
                "not a nutcracker config: the file must be a mapping of pool names to pools, such as `alpha:` followed by indented `listen:` and `servers:` keys"
            ),
            TemplateError::ManyDocuments { line } => write!(
                f,
                "line {line}: a second YAML document; nutcracker reads one, so remove the `---` or `...` and what follows"
            ),
            TemplateError::DuplicateKey { key, line } => write!(
                f,
                "line {line}: {key:?} twice in the same mapping; YAML and nutcracker take each key once, so remove or rename one"
            ),
            TemplateError::NoServers { pool, line } => write!(
                f,
                "line {line}: pool {pool:?} has no servers: nutcracker needs a `servers:` list with at least one `host:port:weight name` line"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses a nutcracker config into a template.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if let Some(e) = odd_line_break(text) {
            return Err(e);
        }
        let mut walk = Walk::new(text);
        let mut parser = Parser::new_from_str(text);
        let serde_error = |e: serde_yaml::Error| TemplateError::Yaml {
            line: e.location().map_or(1, |l| l.line()),
            why: e.to_string(),
        };
        if let Err(e) = parser.load(&mut walk, true) {
            // libyaml (serde_yaml's reader, and nutcracker's) says best where the text
            // stops being YAML, when it sees it too.
            let serde = serde_yaml::from_str::<serde_yaml::Mapping>(text).err();
            return Err(serde.map_or_else(
                || TemplateError::Yaml {
                    line: e.marker().line(),
                    why: e.info().to_string(),
                },
                serde_error,
            ));
        }
        if let Some(e) = walk.error {
            return Err(e);
        }
        serde_yaml::from_str::<serde_yaml::Mapping>(text).map_err(serde_error)?;
        if walk.pools.is_empty() {
            return Err(TemplateError::NotPools);
        }
        if let Some((pool, line)) = walk
            .pools
            .iter()
            .find(|(p, _)| !walk.with_servers.contains(p))
        {
            return Err(TemplateError::NoServers {
                pool: pool.clone(),
                line: *line,
            });
        }
        let mut pieces = Vec::with_capacity(walk.holes.len() + 1);
        let mut spelled = Vec::with_capacity(walk.holes.len());
        let mut at = 0;
        for (start, end, _) in &walk.holes {
            pieces.push(text[at..*start].to_string());
            spelled.push(text[*start..*end].to_string());
            at = *end;
        }
        pieces.push(text[at..].to_string());
        Ok(Template {
            pieces,
            spelled,
            holes: walk.holes.into_iter().map(|(_, _, h)| h).collect(),
            unbound: walk.unbound,
            pools: walk.pools.into_iter().map(|(p, _)| p).collect(),
            secrets: walk.secrets,
        })
    }

    /// A template of these pieces and holes, built rather than parsed (the pieces must
    /// be one longer than the holes).
    pub(crate) fn built(pieces: Vec<String>, holes: Vec<Hole>, pools: Vec<String>) -> Template {
        debug_assert_eq!(pieces.len(), holes.len() + 1);
        let spelled = holes.iter().map(|h| spell(&h.addr)).collect();
        Template {
            pieces,
            spelled,
            holes,
            unbound: Vec::new(),
            pools,
            secrets: Vec::new(),
        }
    }

    /// The bound server lines, in file order.
    pub fn holes(&self) -> &[Hole] {
        &self.holes
    }

    /// The server lines tpc leaves alone.
    pub fn unbound(&self) -> &[Unbound] {
        &self.unbound
    }

    /// The pools, in file order.
    pub fn pools(&self) -> &[String] {
        &self.pools
    }

    /// The text with hole `i` filled by `addr_of(i, hole)`, or the template's own
    /// address where that gives none (spelled as the template spells it).
    pub fn fill<'a>(&'a self, addr_of: impl FnMut(usize, &Hole) -> Option<&'a Addr>) -> String {
        self.fill_with_spans(addr_of).0
    }

    /// [`Template::fill`], and where each hole's address sits in the text.
    pub fn fill_with_spans<'a>(
        &'a self,
        mut addr_of: impl FnMut(usize, &Hole) -> Option<&'a Addr>,
    ) -> (String, Vec<Span>) {
        let size: usize = self.pieces.iter().map(String::len).sum();
        let mut text = String::with_capacity(size + self.holes.len() * 24);
        let mut spans = Vec::with_capacity(self.holes.len());
        for (i, (piece, hole)) in self.pieces.iter().zip(&self.holes).enumerate() {
            text.push_str(piece);
            let start = text.len();
            match addr_of(i, hole) {
                Some(addr) => text.push_str(&self.spelling(i, addr)),
                None => text.push_str(&self.spelled[i]),
            }
            spans.push((start, text.len()));
        }
        text.push_str(self.pieces.last().map_or("", String::as_str));
        (text, spans)
    }

    /// How hole `i` spells `addr`: as the template does while the address is the
    /// template's own (`:6379`, `[::1]:6379`, a padded port), else as tpc writes it.
    pub fn spelling(&self, i: usize, addr: &Addr) -> Cow<'_, str> {
        match (self.holes.get(i), self.spelled.get(i)) {
            (Some(hole), Some(spelled)) if hole.addr == *addr => Cow::Borrowed(spelled),
            _ => Cow::Owned(spell(addr)),
        }
    }

    /// Where each hole's address sits in the template's own text.
    pub fn spans(&self) -> Vec<Span> {
        let mut at = 0;
        let holes = self.pieces.iter().zip(&self.spelled);
        holes
            .map(|(piece, spelled)| {
                at += piece.len();
                let span = (at, at + spelled.len());
                at = span.1;
                span
            })
            .collect()
    }

    /// The template's own text.
    pub fn text(&self) -> String {
        self.fill(|_, _| None)
    }

    /// The text with every `redis_auth` value replaced by a mask.
    pub fn text_without_secrets(&self) -> String {
        let text = self.text();
        if self.secrets.is_empty() {
            return text;
        }
        let mut masked = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in &self.secrets {
            masked.push_str(&text[at..*start]);
            masked.push_str(MASKED);
            // The value's line breaks stay, so every later line keeps its number.
            let value = &text[*start..*end];
            for (i, _) in value.match_indices('\n') {
                let crlf = value[..i].ends_with('\r');
                masked.push_str(if crlf { "\r\n" } else { "\n" });
            }
            at = *end;
        }
        masked.push_str(&text[at..]);
        masked
    }

    /// This template with its secrets masked.
    pub fn without_secrets(&self) -> Template {
        if self.secrets.is_empty() {
            return self.clone();
        }
        // A masked value is a plain quoted word: the masked text parses as this did. If
        // it ever does not, a stand-in holds nothing of the text rather than the secret.
        Template::parse(&self.text_without_secrets()).unwrap_or_else(|_| {
            let note = "# tpc could not mask this template's redis_auth: not recorded\n";
            Template::built(vec![note.to_string()], Vec::new(), self.pools.clone())
        })
    }
}

/// A config as it may be shown (`tpc status`, replay's final config, expected files):
/// `redis_auth` masked; a text tpc cannot read as a config is not shown at all (it may
/// hold a secret tpc cannot find).
pub fn shown_config(config: &str) -> String {
    if config.is_empty() {
        return String::new();
    }
    Template::parse(config).map_or_else(
        |e| format!("(a file tpc cannot read as a nutcracker config, not shown: {e})\n"),
        |t| t.text_without_secrets(),
    )
}

/// Written as its text, `redis_auth` masked, so that a recording holds no secret.
impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text_without_secrets())
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
        let text = String::deserialize(d)?;
        Template::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses a server entry `host:port:weight name` into its address text, address and
/// name; `None` when it is not one tpc can bind.
fn server_entry(entry: &str) -> Result<(&str, Addr, &str), &'static str> {
    let (addr_weight, name) = entry
        .split_once(' ')
        .ok_or("no name: tpc binds a server to the master named after its address")?;
    let name = name.trim();
    if name.is_empty() {
        return Err("no name: tpc binds a server to the master named after its address");
    }
    let (addr_text, weight) = addr_weight.rsplit_once(':').ok_or("not host:port:weight")?;
    if weight.is_empty() || !weight.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not host:port:weight");
    }
    let addr = Addr::parse(addr_text).map_err(|_| "not host:port:weight")?;
    Ok((addr_text, addr, name))
}

/// The length of a single-quoted scalar at the start of `raw` (`''` is a quote).
fn closing_single_quote(raw: &str) -> Option<usize> {
    let mut chars = raw.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                chars.next();
            } else {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The length of a double-quoted scalar at the start of `raw` (`\` escapes).
fn closing_double_quote(raw: &str) -> Option<usize> {
    let mut chars = raw.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The length of a scalar at the start of `raw` (what lies before the next token):
/// without the blanks and line breaks after it, and in a flow collection without the
/// `,`, `}` or `]` that ends it. On one line, a comment ends it too.
fn plain_len(raw: &str, flow: bool) -> usize {
    let body = if raw.contains('\n') {
        raw
    } else {
        raw.split(" #").next().unwrap_or_default()
    };
    let blanks: &[char] = if flow {
        &[' ', '\t', '\r', '\n', ',', '}', ']']
    } else {
        &[' ', '\t', '\r', '\n']
    };
    body.trim_end_matches(blanks).len()
}

/// A line break YAML's reader (libyaml, nutcracker's) takes and tpc's does not: U+2028,
/// U+2029, U+0085 (NEL), or a CR alone. Text with one would hide lines from tpc.
fn odd_line_break(text: &str) -> Option<TemplateError> {
    let bytes = text.as_bytes();
    let (at, what) = text.char_indices().find_map(|(i, c)| match c {
        '\u{2028}' => Some((i, "U+2028 (LINE SEPARATOR)")),
        '\u{2029}' => Some((i, "U+2029 (PARAGRAPH SEPARATOR)")),
        '\u{85}' => Some((i, "U+0085 (NEXT LINE)")),
        '\r' if bytes.get(i + 1) != Some(&b'\n') => {
            Some((i, "a carriage return not followed by a line feed"))
        }
        _ => None,
    })?;
    let line = text[..at].matches('\n').count() + 1;
    Some(TemplateError::OddLineBreak { line, what })
}

/// Where the walk is: one frame per open mapping or sequence.
#[derive(Debug)]
enum Frame {
    Map {
        /// The key whose value is awaited, if the next node is a value.
        key: Option<Option<String>>,
        /// The keys seen so far.
        seen: BTreeSet<String>,
    },
    Seq,
}

/// Collects holes, pools and secrets from parser events.
struct Walk<'t> {
    text: &'t str,
    /// Byte offset of each line's start.
    lines: Vec<usize>,
    frames: Vec<Frame>,
    /// The key each open frame is the value of.
    keys: Vec<Option<String>>,
    documents: usize,
    /// The line of the last top-level key: the pool's name, for its errors.
    pool_line: usize,
    pools: Vec<(String, usize)>,
    with_servers: BTreeSet<String>,
    holes: Vec<(usize, usize, Hole)>,
    unbound: Vec<Unbound>,
    secrets: Vec<(usize, usize)>,
    /// How many of the open collections are flow ones (`{…}`, `[…]`).
    flow: usize,
    /// Open collections: whether each is a flow one.
    flows: Vec<bool>,
    /// Where a `redis_auth` value starts, until the next token says where it ends.
    secret_at: Option<(usize, TScalarStyle, String)>,
    error: Option<TemplateError>,
}

impl<'t> Walk<'t> {
    fn new(text: &'t str) -> Walk<'t> {
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Walk {
            text,
            lines,
            frames: Vec::new(),
            keys: Vec::new(),
            documents: 0,
            pool_line: 1,
            pools: Vec::new(),
            with_servers: BTreeSet::new(),
            holes: Vec::new(),
            unbound: Vec::new(),
            secrets: Vec::new(),
            flow: 0,
            flows: Vec::new(),
            secret_at: None,
            error: None,
        }
    }

    /// The byte offset of a marker (whose column counts characters).
    fn offset(&self, mark: Marker) -> usize {
        let start = self.lines.get(mark.line().saturating_sub(1)).copied();
        let start = start.unwrap_or(self.text.len());
        let line = &self.text[start..];
        start
            + line
                .char_indices()
                .nth(mark.col())
                .map_or(line.len(), |(i, _)| i)
    }

    fn fail(&mut self, e: TemplateError) {
        self.error.get_or_insert(e);
    }

    /// The key the next node is the value of, in the innermost mapping; and notes that
    /// the node was seen (a key, or a value).
    fn place(&mut self, scalar: Option<&str>) -> Option<Option<String>> {
        match self.frames.last_mut() {
            Some(Frame::Map { key, .. }) => match key.take() {
                Some(k) => Some(k),
                None => {
                    *key = Some(scalar.map(str::to_string));
                    None
                }
            },
            _ => None,
        }
    }

    /// Notes a key of the innermost mapping; a key seen before in it is an error.
    fn key(&mut self, key: &str, mark: Marker) {
        if self.frames.len() == 1 {
            self.pool_line = mark.line();
        }
        if let Some(Frame::Map { seen, .. }) = self.frames.last_mut() {
            if !seen.insert(key.to_string()) {
                self.fail(TemplateError::DuplicateKey {
                    key: key.to_string(),
                    line: mark.line(),
                });
            }
        }
        self.place(Some(key));
    }

    /// Whether the next node in the innermost mapping is a key.
    fn is_key(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Map { key: None, .. }))
    }

    fn open(&mut self, frame: Frame, mark: Marker) {
        // A mapping or sequence as a key (nutcracker has none) has no key of its own.
        let key = self.place(None).flatten();
        if self.frames.is_empty() && !matches!(frame, Frame::Map { .. }) {
            self.fail(TemplateError::NotPools);
        }
        if self.frames.len() == 1 {
            if let (Some(pool), Frame::Map { .. }) = (&key, &frame) {
                self.pools.push((pool.clone(), self.pool_line));
            }
        }
        let at = self.offset(mark);
        let flow = self
            .text
            .get(at..)
            .is_some_and(|r| r.starts_with(['{', '[']));
        self.flow += usize::from(flow);
        self.flows.push(flow);
        self.frames.push(frame);
        self.keys.push(key);
    }

    fn scalar(&mut self, value: &str, style: TScalarStyle, mark: Marker) {
        if self.frames.is_empty() {
            self.fail(TemplateError::NotPools);
            return;
        }
        if self.is_key() {
            self.key(value, mark);
            return;
        }
        let key = self.place(None).flatten();
        if self.frames.len() == 1 {
            // A pool that is not a mapping.
            if let Some(pool) = key {
                self.pools.push((pool, self.pool_line));
            }
            return;
        }
        let start = self.offset(mark);
        if key.as_deref() == Some(SECRET_KEY) {
            // An empty plain value (`redis_auth:`) is no text at all: nothing to hide.
            if !(value.is_empty() && style == TScalarStyle::Plain) {
                self.secret_at = Some((start, style, value.to_string()));
            }
            return;
        }
        let in_servers = self.frames.len() == 3
            && matches!(self.frames.last(), Some(Frame::Seq))
            && self
                .keys
                .get(2)
                .is_some_and(|k| k.as_deref() == Some("servers"));
        if !in_servers {
            return;
        }
        let pool = self.keys.get(1).cloned().flatten().unwrap_or_default();
        self.with_servers.insert(pool.clone());
        let line = mark.line();
        let quote = usize::from(matches!(
            style,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
        ));
        match server_entry(value) {
            Ok((addr_text, addr, name)) => {
                let at = start + quote;
                if self
                    .text
                    .get(at..)
                    .is_some_and(|r| r.starts_with(addr_text))
                {
                    let hole = Hole {
                        pool,
                        name: name.to_string(),
                        addr,
                        line,
                    };
                    self.holes.push((at, at + addr_text.len(), hole));
                } else {
                    self.unbound.push(Unbound {
                        pool,
                        line,
                        entry: value.to_string(),
                        why: "its address is not written as plain text (escapes or line breaks)",
                    });
                }
            }
            Err(why) => self.unbound.push(Unbound {
                pool,
                line,
                entry: value.to_string(),
                why,
            }),
        }
    }

    /// Notes where a `redis_auth` value that started at `start` ends, now that the next
    /// token starts at `next`: a quoted value at its closing quote, a plain one on one
    /// line at its end (before a comment); anything longer (a block scalar, a plain
    /// value over lines) takes all up to the next token but the blanks and line break
    /// before it (which keep the next token's place).
    fn secret(&mut self, (start, style, value): (usize, TScalarStyle, String), next: usize) {
        let raw = self.text.get(start..next.max(start)).unwrap_or_default();
        let flow = self.flow > 0;
        let len = match style {
            TScalarStyle::SingleQuoted => closing_single_quote(raw),
            TScalarStyle::DoubleQuoted => closing_double_quote(raw),
            TScalarStyle::Plain => {
                let line = &raw[..raw.find(['\n', '\r']).unwrap_or(raw.len())];
                let one = plain_len(line, flow);
                (line[..one] == *value).then_some(one)
            }
            _ => None,
        };
        let len = len.unwrap_or_else(|| plain_len(raw, flow));
        self.secrets.push((start, start + len));
    }

    fn close(&mut self) {
        self.frames.pop();
        self.keys.pop();
        if self.flows.pop() == Some(true) {
            self.flow -= 1;
        }
    }
}

impl MarkedEventReceiver for Walk<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if let Some(secret) = self.secret_at.take() {
            let next = self.offset(mark);
            self.secret(secret, next);
        }
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(TemplateError::ManyDocuments { line: mark.line() });
                }
            }
            Event::MappingStart(..) => self.open(
                Frame::Map {
                    key: None,
                    seen: BTreeSet::new(),
                },
                mark,
            ),
            Event::SequenceStart(..) => self.open(Frame::Seq, mark),
            Event::MappingEnd | Event::SequenceEnd => self.close(),
            Event::Scalar(value, style, ..) => self.scalar(&value, style, mark),
            Event::Alias(..) => {
                self.place(None);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests;
