//! nutcracker's own command line, read as nutcracker 0.5.0 reads it (GNU `getopt_long`
//! with the short options `hVtdDv:o:c:s:i:a:p:m:` and their long names), for what
//! `-supervise` must know: the config file it loads, and whether it would leave tpc
//! (daemonize) or exit at once.

/// nutcracker's options: long name, short letter, whether it takes a value.
const OPTIONS: &[(&str, char, bool)] = &[
    ("help", 'h', false),
    ("version", 'V', false),
    ("test-conf", 't', false),
    ("daemonize", 'd', false),
    ("describe-stats", 'D', false),
    ("verbose", 'v', true),
    ("output", 'o', true),
    ("conf-file", 'c', true),
    ("stats-port", 's', true),
    ("stats-interval", 'i', true),
    ("stats-addr", 'a', true),
    ("pid-file", 'p', true),
    ("mbuf-size", 'm', true),
];

/// The options after which nutcracker is no longer a running child of tpc: it
/// daemonizes (`-d`) or prints something and exits.
const LEAVING: &[char] = &['h', 'V', 't', 'd', 'D'];

/// What `-supervise` needs to know of nutcracker's arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NutcrackerArgs {
    /// The config file it loads (the last `-c`/`--conf-file` given); none: its
    /// built-in default.
    pub conf_file: Option<String>,
    /// The first option given that makes it daemonize or exit at once, as written.
    pub leaving: Option<String>,
}

/// Reads `args` (without the program name) as nutcracker does. Words that are no
/// option are skipped (getopt moves them aside); `--` ends the options; an option
/// nutcracker does not know is ignored here (nutcracker refuses it itself, and the
/// restart that fails says so).
pub fn read(args: &[String]) -> NutcrackerArgs {
    let mut found = NutcrackerArgs::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let given: Vec<(char, Option<String>, &str)> = if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match long_option(name) {
                Some((letter, true)) => {
                    let value = inline.or_else(|| words.next().cloned());
                    vec![(letter, value, word.as_str())]
                }
                Some((letter, false)) => vec![(letter, None, word.as_str())],
                None => Vec::new(),
            }
        } else if let Some(letters) = word.strip_prefix('-').filter(|l| !l.is_empty()) {
            short_options(letters, &mut words, word)
        } else {
            Vec::new()
        };
        for (letter, value, written) in given {
            if letter == 'c' {
                found.conf_file = value;
            } else if LEAVING.contains(&letter) && found.leaving.is_none() {
                found.leaving = Some(written.to_string());
            }
        }
    }
    found
}

/// The option a long name means: an exact name, or the one name it is a prefix of
/// (getopt_long takes unambiguous abbreviations).
fn long_option(name: &str) -> Option<(char, bool)> {
    if let Some(&(_, letter, value)) = OPTIONS.iter().find(|(n, ..)| *n == name) {
        return Some((letter, value));
    }
    let mut matches = OPTIONS.iter().filter(|(n, ..)| n.starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(&(_, letter, value)), None) if !name.is_empty() => Some((letter, value)),
        _ => None,
    }
}

/// A word of short options (`-dc FILE`, `-cFILE`): each letter, and the value of the
/// one that takes a value (the rest of the word, else the next word).
fn short_options<'a>(
    letters: &str,
    words: &mut std::slice::Iter<'_, String>,
    written: &'a str,
) -> Vec<(char, Option<String>, &'a str)> {
    let mut given = Vec::new();
    for (at, letter) in letters.char_indices() {
        match OPTIONS.iter().find(|(_, l, _)| *l == letter) {
            Some((_, _, true)) => {
                let rest = &letters[at + letter.len_utf8()..];
                let value = if rest.is_empty() {
                    words.next().cloned()
                } else {
                    Some(rest.to_string())
                };
                given.push((letter, value, written));
                break;
            }
            Some((_, _, false)) => given.push((letter, None, written)),
            None => {}
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_line(line: &str) -> NutcrackerArgs {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        read(&words)
    }

    fn conf(line: &str) -> Option<String> {
        read_line(line).conf_file
    }

    #[test]
    fn every_spelling_of_the_config_file() {
        let want = Some("a.yml".to_string());
        for line in [
            "-c a.yml",
            "-ca.yml",
            "--conf-file a.yml",
            "--conf-file=a.yml",
            "--conf=a.yml",
            "--conf a.yml",
            "-v 6 -c a.yml -o /dev/stderr",
            "-c other.yml -c a.yml",
            "stray -c a.yml",
            "-vc 5 -c a.yml",
        ] {
            assert_eq!(conf(line), want, "{line}");
        }
        assert_eq!(conf("-s 1 -o c.log"), None);
        assert_eq!(conf("-- -c a.yml"), None);
        assert_eq!(conf("-c"), None);
        // A value that looks like an option is still the value.
        assert_eq!(conf("-o -c"), None);
        assert_eq!(conf("-p -c -c a.yml"), Some("a.yml".into()));
    }

    #[test]
    fn options_that_leave_or_exit_are_found() {
        for (line, leaving) in [
            ("-d -c a.yml", "-d"),
            ("-c a.yml --daemonize", "--daemonize"),
            ("-tc a.yml", "-tc"),
            ("-c a.yml --test", "--test"),
            ("-V", "-V"),
            ("-D -d", "-D"),
        ] {
            assert_eq!(read_line(line).leaving.as_deref(), Some(leaving), "{line}");
        }
        for line in [
            "-c a.yml -o /dev/stderr -v 11",
            "-o -d -c a.yml",
            "--d -c a.yml",
        ] {
            assert_eq!(read_line(line).leaving, None, "{line}");
        }
    }
}
