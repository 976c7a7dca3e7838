//! Unit tests of [`Template`]: what it binds and leaves alone in every YAML spelling an
//! operator's file may use, the lines its errors name, and secrets kept out of
//! recordings. Expected texts are written out by hand, never computed by `Template`.

use super::*;

/// The secret every masking case hides.
const SECRET: &str = "s3cr#t-XYZ";

fn parse(text: &str) -> Template {
    Template::parse(text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"))
}

fn error(text: &str) -> TemplateError {
    match Template::parse(text) {
        Ok(t) => panic!("{text:?} parsed as {t:?}"),
        Err(e) => e,
    }
}

fn addr(text: &str) -> Addr {
    Addr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The holes as `(pool, name, host:port, line)`.
fn holes(t: &Template) -> Vec<(String, String, String, usize)> {
    t.holes()
        .iter()
        .map(|h| (h.pool.clone(), h.name.clone(), h.addr.to_string(), h.line))
        .collect()
}

fn hole(pool: &str, name: &str, at: &str, line: usize) -> (String, String, String, usize) {
    (pool.into(), name.into(), at.into(), line)
}

/// The text with the servers named `name` at `to`, the others as written.
fn moved(t: &Template, name: &str, to: &str) -> String {
    let to = addr(to);
    t.fill(|_, h| (h.name == name).then_some(&to))
}

/// `text` binds exactly `expected`, gives its own text back byte for byte, and with
/// `node-1` moved to 10.9.9.9:7000 reads as `after`.
fn binds(text: &str, expected: &[(String, String, String, usize)], after: &str) {
    let t = parse(text);
    assert_eq!(holes(&t), expected, "holes of {text:?}");
    assert!(
        t.unbound().is_empty(),
        "unbound in {text:?}: {:?}",
        t.unbound()
    );
    assert_eq!(t.text(), text, "the template's own text");
    assert_eq!(moved(&t, "node-1", "10.9.9.9:7000"), after, "{text:?}");
}

#[test]
fn plain_lines_in_block_style() {
    binds(
        "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n  - 10.0.0.1:6379:1 node-1\n  - 10.0.0.2:6379:1 node-2\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 4),
            hole("alpha", "node-2", "10.0.0.2:6379", 5),
        ],
        "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n  - 10.9.9.9:7000:1 node-1\n  - 10.0.0.2:6379:1 node-2\n",
    );
}

#[test]
fn quoted_lines() {
    binds(
        "alpha:\n  servers:\n    - '10.0.0.1:6379:1 node-1'\n    - \"10.0.0.2:6379:1 node-2\"\n    - \"10.0.0.1:6379:1 node-1b\" # same host\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 3),
            hole("alpha", "node-2", "10.0.0.2:6379", 4),
            hole("alpha", "node-1b", "10.0.0.1:6379", 5),
        ],
        "alpha:\n  servers:\n    - '10.9.9.9:7000:1 node-1'\n    - \"10.0.0.2:6379:1 node-2\"\n    - \"10.0.0.1:6379:1 node-1b\" # same host\n",
    );
}

#[test]
fn flow_style_servers_and_pools() {
    binds(
        "alpha:\n  servers: [10.0.0.1:6379:1 node-1, '10.0.0.2:6379:1 node-2']\nbeta: {listen: 127.0.0.1:2, servers: [\"10.0.0.3:6379:1 node-3\", 10.0.0.1:6379:1 node-1]}\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 2),
            hole("alpha", "node-2", "10.0.0.2:6379", 2),
            hole("beta", "node-3", "10.0.0.3:6379", 3),
            hole("beta", "node-1", "10.0.0.1:6379", 3),
        ],
        "alpha:\n  servers: [10.9.9.9:7000:1 node-1, '10.0.0.2:6379:1 node-2']\nbeta: {listen: 127.0.0.1:2, servers: [\"10.0.0.3:6379:1 node-3\", 10.9.9.9:7000:1 node-1]}\n",
    );
}

#[test]
fn hostnames_and_weights() {
    let text = "alpha:\n  servers:\n  - redis-a.example.com:6379:10 node-1\n  - 10.0.0.2:6380:100 node-2\n";
    binds(
        text,
        &[
            hole("alpha", "node-1", "redis-a.example.com:6379", 3),
            hole("alpha", "node-2", "10.0.0.2:6380", 4),
        ],
        "alpha:\n  servers:\n  - 10.9.9.9:7000:10 node-1\n  - 10.0.0.2:6380:100 node-2\n",
    );
    assert_eq!(
        moved(&parse(text), "node-2", "redis-b.example.com:6379"),
        "alpha:\n  servers:\n  - redis-a.example.com:6379:10 node-1\n  - redis-b.example.com:6379:100 node-2\n"
    );
}

#[test]
fn odd_spacing() {
    binds(
        "alpha:\n    servers:\n    -   10.0.0.1:6379:10   node-1\n    -  10.0.0.2:6379:1 node-2   \n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 3),
            hole("alpha", "node-2", "10.0.0.2:6379", 4),
        ],
        "alpha:\n    servers:\n    -   10.9.9.9:7000:10   node-1\n    -  10.0.0.2:6379:1 node-2   \n",
    );
}

#[test]
fn crlf_line_endings() {
    binds(
        "alpha:\r\n  listen: 127.0.0.1:1\r\n  servers:\r\n  - 10.0.0.1:6379:1 node-1\r\n  - 10.0.0.2:6379:1 node-2\r\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 4),
            hole("alpha", "node-2", "10.0.0.2:6379", 5),
        ],
        "alpha:\r\n  listen: 127.0.0.1:1\r\n  servers:\r\n  - 10.9.9.9:7000:1 node-1\r\n  - 10.0.0.2:6379:1 node-2\r\n",
    );
}

/// The parser's columns count characters: a multi-byte character before a server on
/// the same line must not shift the hole.
#[test]
fn utf8_before_servers() {
    binds(
        "# Café ☕ — the pools\nalpha:\n  # ünïcödé: 日本語\n  servers:\n  - 10.0.0.1:6379:1 node-1\n\"bëta☕\": {servers: [10.0.0.2:6379:1 nødé-2, 10.0.0.1:6379:1 node-1]}\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 5),
            hole("bëta☕", "nødé-2", "10.0.0.2:6379", 6),
            hole("bëta☕", "node-1", "10.0.0.1:6379", 6),
        ],
        "# Café ☕ — the pools\nalpha:\n  # ünïcödé: 日本語\n  servers:\n  - 10.9.9.9:7000:1 node-1\n\"bëta☕\": {servers: [10.0.0.2:6379:1 nødé-2, 10.9.9.9:7000:1 node-1]}\n",
    );
}

#[test]
fn missing_final_newline() {
    binds(
        "alpha:\n  servers:\n  - 10.0.0.1:6379:1 node-1",
        &[hole("alpha", "node-1", "10.0.0.1:6379", 3)],
        "alpha:\n  servers:\n  - 10.9.9.9:7000:1 node-1",
    );
    binds(
        "alpha:\n  servers:\n  - '10.0.0.1:6379:1 node-1' # last",
        &[hole("alpha", "node-1", "10.0.0.1:6379", 3)],
        "alpha:\n  servers:\n  - '10.9.9.9:7000:1 node-1' # last",
    );
}

#[test]
fn a_master_in_two_pools() {
    binds(
        "alpha:\n  servers:\n  - 10.0.0.1:6379:1 node-1\n  - 10.0.0.2:6379:1 node-2\nbeta:\n   servers:\n     - 10.0.0.1:6379:5 node-1\n",
        &[
            hole("alpha", "node-1", "10.0.0.1:6379", 3),
            hole("alpha", "node-2", "10.0.0.2:6379", 4),
            hole("beta", "node-1", "10.0.0.1:6379", 7),
        ],
        "alpha:\n  servers:\n  - 10.9.9.9:7000:1 node-1\n  - 10.0.0.2:6379:1 node-2\nbeta:\n   servers:\n     - 10.9.9.9:7000:5 node-1\n",
    );
}

/// An address written in a shorthand (`:6379`, `[::1]`, a zero-padded port) is kept as
/// written while its master is not moved.
#[test]
fn addresses_are_kept_as_written() {
    let text = "alpha:\n  servers:\n  - :6379:1 node-1\n  - '[::1]:6380:1 node-2'\n  - 10.0.0.3:06379:1 node-3\n";
    let t = parse(text);
    assert_eq!(
        holes(&t),
        [
            hole("alpha", "node-1", "127.0.0.1:6379", 3),
            hole("alpha", "node-2", "::1:6380", 4),
            hole("alpha", "node-3", "10.0.0.3:6379", 5),
        ]
    );
    assert_eq!(t.text(), text);
    assert_eq!(
        moved(&t, "node-3", "10.0.0.4:6379"),
        "alpha:\n  servers:\n  - :6379:1 node-1\n  - '[::1]:6380:1 node-2'\n  - 10.0.0.4:6379:1 node-3\n"
    );
}

#[test]
fn lines_tpc_cannot_follow_are_left_alone_with_a_reason() {
    let text = "alpha:\n  servers:\n  - 10.0.0.1:6379:1 node-1\n  - 10.0.0.9:6379:1\n  - 10.0.0.9:6379 node-9\n  - 10.0.0.9:6379:x node-9\n  - /tmp/redis.sock:1 node-9\n  - \"10.0.0.\\x39:6379:1 node-9\"\nbeta:\n  servers:\n  - 10.0.0.8:6379:1   # no name, a comment\n";
    let t = parse(text);
    assert_eq!(holes(&t), [hole("alpha", "node-1", "10.0.0.1:6379", 3)]);
    let unbound: Vec<(&str, usize, &str, &str)> = t
        .unbound()
        .iter()
        .map(|u| (u.pool.as_str(), u.line, u.entry.as_str(), u.why))
        .collect();
    let no_name = "no name: tpc binds a server to the master named after its address";
    let not_hpw = "not host:port:weight";
    assert_eq!(
        unbound,
        [
            ("alpha", 4, "10.0.0.9:6379:1", no_name),
            ("alpha", 5, "10.0.0.9:6379 node-9", not_hpw),
            ("alpha", 6, "10.0.0.9:6379:x node-9", not_hpw),
            ("alpha", 7, "/tmp/redis.sock:1 node-9", not_hpw),
            (
                "alpha",
                8,
                "10.0.0.9:6379:1 node-9",
                "its address is not written as plain text (escapes or line breaks)"
            ),
            ("beta", 11, "10.0.0.8:6379:1", no_name),
        ]
    );
    assert_eq!(t.text(), text);
    assert_eq!(
        moved(&t, "node-9", "10.9.9.9:7000"),
        text,
        "unbound lines never move"
    );
}

#[test]
fn pools_in_file_order() {
    let t = parse("zeta:\n  servers: [10.0.0.1:1:1 a]\nalpha:\n  servers: [10.0.0.1:1:1 b]\n");
    assert_eq!(t.pools(), ["zeta", "alpha"]);
}

/// `(line, what the message must contain)` of the error `text` gives.
fn error_at(text: &str, line: usize, words: &str) {
    let e = error(text);
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("line {line}: ")),
        "{text:?}: {shown}"
    );
    assert!(shown.contains(words), "{text:?}: {shown}");
}

#[test]
fn bad_yaml_names_its_line() {
    error_at(
        "alpha:\n  listen: 127.0.0.1:1\n   hash: x\n  servers:\n  - 10.0.0.1:1:1 a\n",
        3,
        "not valid YAML",
    );
    error_at(
        "alpha:\n  listen: 127.0.0.1:1\n  servers: [10.0.0.1:1:1 a\n",
        4,
        "not valid YAML",
    );
    error_at(
        "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\n\tbad: tab\n",
        4,
        "not valid YAML",
    );
}

#[test]
fn a_key_twice_names_the_second() {
    error_at(
        "# pools\nalpha:\n  servers: [10.0.0.1:1:1 a]\n\nalpha:\n  servers: [10.0.0.1:1:1 b]\n",
        5,
        "\"alpha\" twice",
    );
    error_at(
        "alpha:\n  listen: 127.0.0.1:1\n  servers: [10.0.0.1:1:1 a]\n  listen: 127.0.0.1:2\n",
        4,
        "\"listen\" twice",
    );
}

#[test]
fn a_pool_without_servers_names_the_pool_line() {
    error_at(
        "alpha:\n  listen: 127.0.0.1:1\n  servers:\n  - 10.0.0.1:1:1 a\n# beta follows\nbeta:\n  listen: 127.0.0.1:2\n",
        6,
        "pool \"beta\" has no servers",
    );
    error_at(
        "# c\nalpha:\n  listen: 127.0.0.1:1\n  servers: []\n",
        2,
        "pool \"alpha\" has no servers",
    );
    error_at(
        "alpha:\n  servers: [10.0.0.1:1:1 a]\nbeta:\n  listen: 127.0.0.1:2\n  servers:\n",
        3,
        "pool \"beta\" has no servers",
    );
    error_at(
        "alpha: {listen: 127.0.0.1:1, servers: []}\n",
        1,
        "pool \"alpha\" has no servers",
    );
    error_at("alpha:\n\n  5\n", 1, "pool \"alpha\" has no servers");
}

#[test]
fn a_file_that_is_not_pools() {
    for text in ["- a\n- b\n", "hello\n", "", "# only a comment\n", "[a, b]"] {
        assert_eq!(error(text), TemplateError::NotPools, "{text:?}");
    }
    assert!(TemplateError::NotPools
        .to_string()
        .contains("must be a mapping of pool names to pools"));
}

#[test]
fn two_documents_name_the_second() {
    error_at(
        "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\n---\nbeta:\n  servers:\n  - 10.0.0.2:1:1 b\n",
        4,
        "a second YAML document",
    );
    error_at(
        "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\n...\n# then\nbeta:\n  servers: [10.0.0.2:1:1 b]\n",
        6,
        "a second YAML document",
    );
}

/// A pool `alpha` with `spelling` as its `redis_auth` line(s), in the middle or at the
/// end of the file.
fn with_secret(spelling: &str) -> [String; 2] {
    [
        format!("alpha:\n  listen: 127.0.0.1:1\n{spelling}\n  servers:\n  - 10.0.0.1:1:1 a\nbeta:\n  servers: [10.0.0.2:1:1 b]\n"),
        format!("beta:\n  servers: [10.0.0.2:1:1 b]\nalpha:\n  listen: 127.0.0.1:1\n  servers:\n  - 10.0.0.1:1:1 a\n{spelling}"),
    ]
}

/// The file as serde_yaml reads it, `alpha.redis_auth` taken out.
fn without_auth(text: &str) -> (serde_yaml::Value, Option<serde_yaml::Value>) {
    let mut file: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    let auth = file
        .get_mut("alpha")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .and_then(|pool| pool.remove("redis_auth"));
    (file, auth)
}

/// The masked text holds no trace of the secret, reads as the same file but for the
/// value of `redis_auth`, and binds the same holes; nor do recordings or `Debug`.
fn masks(text: &str, spelled: &[&str]) {
    let t = parse(text);
    let (file, auth) = without_auth(text);
    assert_eq!(
        auth.as_ref().and_then(serde_yaml::Value::as_str),
        Some(SECRET),
        "{text:?} must hold the secret"
    );
    let masked = t.text_without_secrets();
    for shown in [
        masked.clone(),
        t.without_secrets().text(),
        serde_json::to_string(&t).expect("JSON"),
        format!("{t:?}"),
    ] {
        for word in spelled.iter().chain([&SECRET, &"XYZ"]) {
            assert!(!shown.contains(word), "{word:?} in {shown:?}");
        }
    }
    let (masked_file, masked_auth) = without_auth(&masked);
    assert_eq!(masked_file, file, "{masked:?}");
    assert!(masked_auth.is_some(), "{masked:?}");
    assert_eq!(holes(&parse(&masked)), holes(&t), "{masked:?}");
    assert_eq!(t.text(), text, "the template's own text keeps the secret");
}

#[test]
fn redis_auth_is_masked_in_every_spelling() {
    let cases: &[(&str, &[&str])] = &[
        ("  redis_auth: s3cr#t-XYZ", &[]),
        ("  redis_auth: s3cr#t-XYZ   # the password", &[]),
        ("  redis_auth: s3cr#t-XYZ\t# the password", &[]),
        ("  redis_auth:\n    s3cr#t-XYZ", &[]),
        ("  redis_auth: 's3cr#t-XYZ'", &[]),
        ("  redis_auth: \"s3cr#t-XYZ\"", &[]),
        ("  redis_auth: |-\n    s3cr#t-XYZ", &[]),
        ("  redis_auth: >-\n    s3cr#t-XYZ\n  # after", &[]),
    ];
    for (spelling, spelled) in cases {
        for text in with_secret(spelling) {
            masks(&text, spelled);
        }
    }
}

#[test]
fn redis_auth_is_masked_when_quoted_with_escapes() {
    // 's3cr#t-XYZ' spelled with YAML's own escapes.
    for text in with_secret("  redis_auth: 's3cr#t-''XYZ'''") {
        let t = parse(&text);
        let masked = t.text_without_secrets();
        assert!(!masked.contains("XYZ"), "{masked:?}");
        assert_eq!(holes(&parse(&masked)), holes(&t));
        assert_eq!(without_auth(&masked).0, without_auth(&text).0);
    }
    let spelled = "\"s3cr\\x23t-\\u0058YZ\"";
    for text in with_secret(&format!("  redis_auth: {spelled}")) {
        masks(&text, &[spelled, "\\u0058YZ"]);
    }
    for text in with_secret("  redis_auth: \"s3cr#t-\\\n    XYZ\"") {
        masks(&text, &["s3cr#t-\\"]);
    }
}

#[test]
fn redis_auth_is_masked_in_flow_pools_and_crlf_files() {
    let texts = [
        "alpha: {redis_auth: s3cr#t-XYZ, servers: [10.0.0.1:1:1 a]}\n".to_string(),
        "alpha: {servers: [10.0.0.1:1:1 a], redis_auth: s3cr#t-XYZ}".to_string(),
        "alpha: {servers: [10.0.0.1:1:1 a], redis_auth: 's3cr#t-XYZ' }\n".to_string(),
        "alpha: {\n  redis_auth: s3cr#t-XYZ,\n  servers: [10.0.0.1:1:1 a]\n}\n".to_string(),
        "alpha:\r\n  redis_auth: s3cr#t-XYZ\r\n  servers:\r\n  - 10.0.0.1:1:1 a\r\n".to_string(),
        "alpha:\r\n  servers:\r\n  - 10.0.0.1:1:1 a\r\n  redis_auth: s3cr#t-XYZ".to_string(),
        "alpha:\r\n  redis_auth: |\r\n    s3cr#t-XYZ\r\n  servers:\r\n  - 10.0.0.1:1:1 a\r\n"
            .to_string(),
    ];
    for text in texts {
        let (_, auth) = without_auth(&text);
        // A `|` block keeps its final line break as part of the value.
        let auth = auth
            .as_ref()
            .and_then(serde_yaml::Value::as_str)
            .map(str::trim_end);
        assert_eq!(auth, Some(SECRET), "{text:?}");
        let t = parse(&text);
        let masked = t.text_without_secrets();
        assert!(!masked.contains("XYZ"), "{masked:?}");
        assert_eq!(without_auth(&masked).0, without_auth(&text).0, "{masked:?}");
        assert_eq!(holes(&parse(&masked)), holes(&t), "{masked:?}");
    }
}

#[test]
fn serialized_as_the_masked_text_and_read_back() {
    let text = "alpha:\n  redis_auth: s3cr#t-XYZ\n  servers:\n  - 10.0.0.1:1:1 a\n";
    let t = parse(text);
    let json = serde_json::to_string(&t).expect("JSON");
    let back: Template = serde_json::from_str(&json).expect("a template");
    assert_eq!(holes(&back), holes(&t));
    assert_eq!(
        back.text(),
        "alpha:\n  redis_auth: '(not recorded)'\n  servers:\n  - 10.0.0.1:1:1 a\n"
    );
}

/// An empty `redis_auth` hides nothing: the masked text must still read as the file.
#[test]
fn an_empty_redis_auth_is_left_as_it_is() {
    let texts = [
        "alpha:\n  redis_auth:\n  servers:\n  - 10.0.0.1:1:1 a\n",
        "alpha:\n  redis_auth:    # none yet\n  servers:\n  - 10.0.0.1:1:1 a\n",
        "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\n  redis_auth:",
        "alpha: {redis_auth: , servers: [10.0.0.1:1:1 a]}\n",
        "alpha:\n  redis_auth: ''\n  servers:\n  - 10.0.0.1:1:1 a\n",
    ];
    for text in texts {
        let t = parse(text);
        let masked = t.text_without_secrets();
        assert_eq!(without_auth(&masked).0, without_auth(text).0, "{masked:?}");
        assert!(without_auth(&masked).1.is_some(), "{masked:?}");
        assert_eq!(holes(&parse(&masked)), holes(&t), "{masked:?}");
        let json = serde_json::to_string(&t).expect("JSON");
        let back: Template = serde_json::from_str(&json).expect("a recording reads back");
        assert_eq!(holes(&back), holes(&t));
    }
}

/// Line breaks libyaml (nutcracker's reader) takes and yaml-rust2 does not would hide a
/// server line, or a `redis_auth`, from tpc: such a template is refused, naming the line.
#[test]
fn line_breaks_nutcracker_reads_and_tpc_would_not_are_refused() {
    for (text, line, what) in [
        (
            "alpha:\n  servers:\n  - 10.0.0.1:1:1 a # x\u{2028}  - 10.0.0.2:1:1 b\n",
            3,
            "U+2028",
        ),
        (
            "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\u{2029}\n",
            3,
            "U+2029",
        ),
        (
            "alpha:\n  # \u{85}  redis_auth: x\n  servers:\n  - 10.0.0.1:1:1 a\n",
            2,
            "U+0085",
        ),
        (
            "alpha:\r  servers:\r  - 10.0.0.1:1:1 a\r",
            1,
            "carriage return",
        ),
    ] {
        let e = error(text);
        assert!(
            matches!(e, TemplateError::OddLineBreak { line: l, .. } if l == line),
            "{text:?}: {e:?}"
        );
        assert!(e.to_string().contains(what), "{e}");
    }
    // CRLF is fine.
    parse("alpha:\r\n  servers:\r\n  - 10.0.0.1:1:1 a\r\n");
}

/// A plain `redis_auth` continued on the next line, last in a file without a final
/// newline, is masked whole.
#[test]
fn a_plain_secret_over_two_lines_at_the_end_is_masked_whole() {
    let text = "alpha:\n  servers:\n  - 10.0.0.1:1:1 a\n  redis_auth: hunter1\n    hunter2";
    let t = parse(text);
    let masked = t.text_without_secrets();
    assert!(!masked.contains("hunter"), "{masked:?}");
    assert_eq!(holes(&parse(&masked)), holes(&t));
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("hunter"), "{json}");
}
