//! The times sentinel logs and their prefixes carry: `25 Nov 2026 22:21:01.123` (Redis
//! 5.0+), `25 Nov 22:21:01.123` (no year: Redis 2.6-4.x, syslog), ISO 8601 / RFC 3339
//! (`2026-11-25T22:21:01.123+01:00`: Valkey, `docker logs -t`, kubectl) and Unix
//! milliseconds (Valkey's `milliseconds` format).

use std::sync::LazyLock;

use regex::Regex;

use crate::shell::utc::days_from_civil;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A logged time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Milliseconds since 1970-01-01 00:00 (UTC when the line gave an offset, else the
    /// log's own local time).
    Absolute(i64),
    /// A date without its year.
    NoYear {
        /// 1 to 12.
        month: i64,
        /// 1 to 31.
        day: i64,
        /// Milliseconds since midnight.
        ms_of_day: i64,
    },
}

impl Stamp {
    /// Milliseconds since 1970, taking `year` when the line has none.
    pub fn ms(self, year: i64) -> i64 {
        match self {
            Stamp::Absolute(ms) => ms,
            Stamp::NoYear {
                month,
                day,
                ms_of_day,
            } => days_from_civil(year, month, day) * 86_400_000 + ms_of_day,
        }
    }
}

/// `Nov` as 11.
pub fn month(name: &str) -> Option<i64> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as i64 + 1)
}

/// `22:21:01.123` (any number of fraction digits, or none) as milliseconds since
/// midnight; a leap second (`:60`) is allowed.
pub fn clock(text: &str) -> Option<i64> {
    let (hms, frac) = text.split_once(['.', ',']).unwrap_or((text, ""));
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// `25`, `Nov`, `2026` (or no year), `22:21:01.123` as a stamp.
pub fn civil(day: &str, month_name: &str, year: Option<&str>, time: &str) -> Option<Stamp> {
    let day: i64 = day.parse().ok()?;
    let month = month(month_name)?;
    let ms_of_day = clock(time)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let stamp = Stamp::NoYear {
        month,
        day,
        ms_of_day,
    };
    match year {
        None => Some(stamp),
        Some(y) => Some(Stamp::Absolute(stamp.ms(y.parse().ok()?))),
    }
}

/// The ISO 8601 form, unanchored (prefixes embed it).
pub const ISO_FORM: &str =
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?";

// A pattern that does not compile matches nothing; a test checks each compiles.
static ISO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)(Z|[+-]\d{2}:?\d{2})?$",
    )
    .ok()
});

/// An ISO 8601 / RFC 3339 time: `2026-11-25T22:21:01.123456789Z`, `...+01:00`,
/// `...+0100`, or with a space for the `T` and no offset.
pub fn iso(text: &str) -> Option<Stamp> {
    let c = ISO.as_ref()?.captures(text)?;
    let (y, m, d): (i64, i64, i64) = (c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let local = days_from_civil(y, m, d) * 86_400_000 + clock(&c[4])?;
    let offset = match c.get(5).map(|o| o.as_str()) {
        None | Some("Z") => 0,
        Some(o) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(char::is_ascii_digit).collect();
            let (h, min): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            sign * (h * 60 + min) * 60_000
        }
    };
    Some(Stamp::Absolute(local - offset))
}

/// Unix milliseconds (13 digits) as a stamp.
pub fn unix_ms(text: &str) -> Option<Stamp> {
    (text.len() == 13 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok().map(Stamp::Absolute))
        .flatten()
}

/// Any of the forms above, as a logfmt `timestamp` value holds it.
pub fn any(text: &str) -> Option<Stamp> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words[..] {
        [day, month, year, time] => civil(day, month, Some(year), time),
        [day, month, time] => civil(day, month, None, time),
        [one] => iso(one).or_else(|| unix_ms(one)),
        [date, time] => iso(&format!("{date} {time}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(ISO.is_some());
        assert_eq!(clock("00:00:01.5"), Some(1500));
        assert_eq!(clock("00:00:01"), Some(1000));
        assert_eq!(clock("23:59:60.123456"), Some(86_400_123));
        assert_eq!(clock("24:00:00"), None);
        assert_eq!(
            civil("1", "Jan", Some("1970"), "00:00:01.5"),
            Some(Stamp::Absolute(1500))
        );
        assert_eq!(civil("1", "Foo", Some("1970"), "00:00:01.5"), None);
        // `date -u -d 2026-11-25T22:21:01.123Z +%s%3N` = 1795645261123.
        let t = Stamp::Absolute(1_795_645_261_123);
        assert_eq!(civil("25", "Nov", Some("2026"), "22:21:01.123"), Some(t));
        assert_eq!(iso("2026-11-25T22:21:01.123Z"), Some(t));
        assert_eq!(iso("2026-11-25T23:21:01.123+01:00"), Some(t));
        assert_eq!(iso("2026-11-25T21:21:01.123456789-0100"), Some(t));
        assert_eq!(iso("2026-11-25 22:21:01,123"), Some(t));
        assert_eq!(unix_ms("1795645261123"), Some(t));
        assert_eq!(any("25 Nov 2026 22:21:01.123"), Some(t));
        assert_eq!(
            civil("25", "Nov", None, "22:21:01.123").map(|s| s.ms(2026)),
            Some(1_795_645_261_123)
        );
    }
}
