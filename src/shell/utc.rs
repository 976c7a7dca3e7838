//! Wall-clock times in UTC, as backup names (`YYYYMMDDhhmmss`), webhook bodies
//! (RFC 3339) and replay timelines write them, and civil dates read from logs. No date
//! crate is in the build, so the civil date comes from the days since 1970 by Howard
//! Hinnant's `civil_from_days` and `days_from_civil`.

use std::time::{SystemTime, UNIX_EPOCH};

/// A time's civil parts in UTC: year, month, day, hour, minute, second.
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    (y, m, d, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `YYYYMMDDhhmmss` in UTC.
pub fn stamp(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}")
}

/// `YYYY-MM-DDThh:mm:ssZ` (RFC 3339, UTC, whole seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `YYYY-MM-DD hh:mm:ss.mmm` for `ms` milliseconds since 1970-01-01 00:00 (a replay's
/// wall-clock time).
pub fn wall(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02}.{milli:03}")
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day of the day `z` days after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn stamps_are_utc_civil_times() {
        // Checked against `date -u -d @SECS +%Y%m%d%H%M%S`.
        assert_eq!(stamp(at(0)), "19700101000000");
        assert_eq!(stamp(at(951_782_400)), "20000229000000");
        assert_eq!(stamp(at(1_798_761_599)), "20261231235959");
        assert_eq!(stamp(at(4_107_542_400)), "21000301000000");
        assert_eq!(rfc3339(at(1_798_761_599)), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-800_000, -1, 0, 59, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m.into(), d.into()), days);
        }
        // Checked against `date -u -d @1798761599.5 '+%F %T.%3N'`.
        assert_eq!(wall(1_798_761_599_500), "2026-12-31 23:59:59.500");
        assert_eq!(wall(-1), "1969-12-31 23:59:59.999");
    }
}
