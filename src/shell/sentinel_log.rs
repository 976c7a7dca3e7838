//! Importing redis-sentinel's own log as inputs: event lines such as
//! `12:X 25 Nov 2026 22:21:01.123 # +switch-master node-1 10.0.0.1 6379 10.0.0.2 6379`
//! become sentinel messages at their logged time (milliseconds since the first event);
//! every other line is skipped and counted.

use crate::core::{Input, Millis};

/// Name given to the sentinel in imported messages.
pub const SENTINEL: &str = "sentinel-log";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the Unix epoch for `25 Nov 2026 22:21:01.123`.
fn parse_time(day: &str, month: &str, year: &str, clock: &str) -> Option<i64> {
    let d: i64 = day.parse().ok()?;
    let m = MONTHS.iter().position(|x| *x == month)? as i64 + 1;
    let y: i64 = year.parse().ok()?;
    let (hms, ms) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (parts.next()??, parts.next()??, parts.next()??);
    let ms: i64 = ms.parse().ok()?;
    if !(1..=31).contains(&d) || h > 23 || min > 59 || s > 60 || ms > 999 {
        return None;
    }
    Some(((days_from_civil(y, m, d) * 24 + h) * 60 + min) * 60_000 + s * 1000 + ms)
}

/// One event read from a sentinel log line: when (ms since the epoch), channel, payload.
pub fn parse_line(line: &str) -> Option<(i64, String, String)> {
    let mut words = line.split_whitespace();
    let pid_role = words.next()?;
    if !pid_role.contains(':') {
        return None;
    }
    let (day, month, year, clock) = (words.next()?, words.next()?, words.next()?, words.next()?);
    let at = parse_time(day, month, year, clock)?;
    let level = words.next()?;
    if !matches!(level, "." | "-" | "*" | "#") {
        return None;
    }
    let channel = words.next()?;
    let is_event = (channel.starts_with('+') || channel.starts_with('-')) && channel.len() > 1;
    if !is_event {
        return None;
    }
    let payload: Vec<&str> = words.collect();
    Some((at, channel.to_string(), payload.join(" ")))
}

/// Turns a sentinel log into inputs, streamed.
#[derive(Debug, Default)]
pub struct Importer {
    first: Option<i64>,
    /// Lines that were not sentinel events.
    pub skipped: usize,
}

impl Importer {
    /// The input for one log line, or `None` (counted) when it is not an event.
    pub fn input(&mut self, line: &str) -> Option<Input<'static>> {
        let Some((at, channel, payload)) = parse_line(line) else {
            self.skipped += 1;
            return None;
        };
        let first = *self.first.get_or_insert(at);
        Some(Input::Message {
            at: Millis(at.saturating_sub(first).max(0) as u64),
            sentinel: SENTINEL.into(),
            channel: channel.into(),
            payload: payload.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_event_lines_with_their_time() {
        let mut imp = Importer::default();
        let lines = [
            "12:X 25 Nov 2026 22:21:01.123 # +sdown master node-1 10.0.0.1 6379",
            "12:X 25 Nov 2026 22:21:01.200 * Sentinel new configuration saved on disk",
            "12:X 25 Nov 2026 22:21:02.250 # +switch-master node-1 10.0.0.1 6379 10.0.0.2 6379",
            "garbage",
            "12:X 26 Nov 2026 00:00:00.000 # -odown master node-1 10.0.0.1 6379",
        ];
        let inputs: Vec<Input> = lines.iter().filter_map(|l| imp.input(l)).collect();
        assert_eq!(imp.skipped, 2);
        assert_eq!(inputs.len(), 3);
        assert_eq!(
            inputs[1],
            Input::Message {
                at: Millis(1127),
                sentinel: SENTINEL.into(),
                channel: "+switch-master".into(),
                payload: "node-1 10.0.0.1 6379 10.0.0.2 6379".into(),
            }
        );
        // Across midnight.
        assert_eq!(inputs[2].at(), Millis(5_938_877));
    }

    #[test]
    fn epoch_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_time("1", "Jan", "1970", "00:00:01.5"), Some(1005));
        assert_eq!(parse_time("1", "Foo", "1970", "00:00:01.5"), None);
        assert_eq!(parse_time("1", "Jan", "1970", "25:00:00.000"), None);
    }
}
