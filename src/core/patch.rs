//! Moving addresses in a config's text without rendering it again. Each hole's address
//! sits at a known byte range of the text; a patch copies the text once with the moved
//! holes' addresses spelled anew, and shifts the ranges after them. A failover then costs
//! a copy of the file, not a rendering of every server line.

use std::borrow::Cow;

use crate::core::addr::Addr;

/// Where a hole's address sits in a text: bytes `start..end`.
pub type Span = (usize, usize);

/// An address as tpc writes it into a server line: `host:port`.
pub fn spell(addr: &Addr) -> String {
    let mut text = String::with_capacity(addr.host.len() + 6);
    spell_into(&mut text, addr);
    text
}

/// Appends [`spell`]`(addr)` to `text`.
pub fn spell_into(text: &mut String, addr: &Addr) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(text, "{}:{}", addr.host, addr.port);
}

/// `text` with hole `i`'s address replaced by `spelling` for each `(i, spelling)` of
/// `moves`, and the holes' spans in the new text. `moves` must be sorted by hole, each
/// hole at most once, every hole one of `spans`, whose ranges are in order and apart.
pub fn patch(text: &str, spans: &[Span], moves: &[(usize, Cow<'_, str>)]) -> (String, Vec<Span>) {
    let grown: usize = moves.iter().map(|(_, s)| s.len()).sum();
    let mut out = String::with_capacity(text.len() + grown);
    let mut new_spans = Vec::with_capacity(spans.len());
    let mut moves = moves.iter().peekable();
    // Bytes of `text` copied so far, and how far the holes after them have shifted.
    let (mut copied, mut shift) = (0usize, 0isize);
    for (i, &(start, end)) in spans.iter().enumerate() {
        let Some((_, spelling)) = moves.next_if(|(hole, _)| *hole == i) else {
            new_spans.push((
                start.wrapping_add_signed(shift),
                end.wrapping_add_signed(shift),
            ));
            continue;
        };
        out.push_str(&text[copied..start]);
        let new_start = out.len();
        out.push_str(spelling);
        new_spans.push((new_start, out.len()));
        shift = out.len() as isize - end as isize;
        copied = end;
    }
    out.push_str(&text[copied..]);
    (out, new_spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans of every `<...>` in `text`, as a stand-in for holes.
    fn holes(text: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut from = 0;
        while let Some(open) = text[from..].find('<') {
            let start = from + open;
            let end = start + text[start..].find('>').unwrap() + 1;
            spans.push((start, end));
            from = end;
        }
        spans
    }

    #[test]
    fn moved_holes_are_respelled_and_every_span_still_points_at_its_hole() {
        let text = "a <one> b <two> c <three> d";
        let spans = holes(text);
        let moves = [(0, Cow::from("<1>")), (2, Cow::from("<a longer three>"))];
        let (out, new_spans) = patch(text, &spans, &moves);
        assert_eq!(out, "a <1> b <two> c <a longer three> d");
        assert_eq!(new_spans, holes(&out));
    }

    #[test]
    fn no_move_copies_the_text() {
        let text = "x <a> y <b>";
        let spans = holes(text);
        assert_eq!(patch(text, &spans, &[]), (text.to_string(), spans));
    }

    #[test]
    fn a_move_at_the_very_end_and_start_keeps_the_rest() {
        let text = "<a>-<b>";
        let spans = holes(text);
        let moves = [(0, Cow::from("<aaaa>")), (1, Cow::from("<>"))];
        let (out, new_spans) = patch(text, &spans, &moves);
        assert_eq!(out, "<aaaa>-<>");
        assert_eq!(new_spans, holes(&out));
    }
}
