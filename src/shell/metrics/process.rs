//! tpc's own process, read from `/proc/self` at each scrape, for the standard
//! `process_*` metrics (prometheus-client has no process collector).

use std::fs;

/// What `/proc/self` says of tpc; a figure that could not be read is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Process {
    /// User and system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident memory, in bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory, in bytes.
    pub virtual_bytes: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The most file descriptors it may open (the soft limit).
    pub max_fds: Option<u64>,
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    /// `utime + stime`, in clock ticks.
    cpu_ticks: u64,
    /// Clock ticks after boot the process started at.
    start_ticks: u64,
    /// Bytes.
    vsize: u64,
    /// Pages.
    rss_pages: u64,
}

/// Reads tpc's figures now.
pub fn read() -> Process {
    // SAFETY: sysconf and getrlimit only read system settings into the values given.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let stat = fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s));
    let boot = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| parse_boot_time(&s));
    let per_second = (ticks > 0).then_some(ticks as f64);
    Process {
        cpu_seconds: stat.zip(per_second).map(|(s, t)| s.cpu_ticks as f64 / t),
        resident_bytes: stat.and_then(|s| s.rss_pages.checked_mul(page.max(0) as u64)),
        virtual_bytes: stat.map(|s| s.vsize),
        start_time_seconds: stat
            .zip(per_second)
            .zip(boot)
            .map(|((s, t), boot)| boot as f64 + s.start_ticks as f64 / t),
        open_fds: fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.filter(|e| e.is_ok()).count() as u64),
        max_fds: max_fds(),
    }
}

/// The soft limit on open files.
fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the one given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        cpu_ticks: field(14)?.checked_add(field(15)?)?,
        start_ticks: field(22)?,
        vsize: field(23)?,
        rss_pages: field(24)?,
    })
}

/// The boot time (`btime`) from `/proc/stat`, in seconds since the Unix epoch.
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (tpc (a) b) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    150 50 0 0 20 0 3 0 12345 987654 321 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                cpu_ticks: 200,
                start_ticks: 12345,
                vsize: 987654,
                rss_pages: 321,
            })
        );
        assert_eq!(parse_stat("4242 (tpc) S 1"), None);
        assert_eq!(
            parse_boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn this_process_is_read_as_ps_sees_it() {
        let p = read();
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let vm_rss_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let rss = p.resident_bytes.unwrap();
        // Within a factor of two of VmRSS: the two reads are not at the same instant.
        assert!(rss / 2 <= vm_rss_kib * 1024 && vm_rss_kib * 1024 <= rss * 2);
        assert!(p.open_fds.unwrap() >= 3 && p.max_fds.unwrap() >= p.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = p.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
        assert!(p.cpu_seconds.unwrap() >= 0.0);
    }
}
