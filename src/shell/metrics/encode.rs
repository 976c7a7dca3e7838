//! The metrics tpc serves, in one table: name, type, help and how each is read from a
//! [`Scrape`]. The Prometheus text is written by `prometheus-client` from it, and the
//! README's list of metrics is made from it (a test compares the two).

use std::fmt;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::process::Process;
use super::snapshot::Snapshot;
use crate::core::histogram::Histogram;

/// What one scrape reads: the core's figures, tpc's process, and the time.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The core's figures as of the loop's last turn.
    pub snapshot: Snapshot,
    /// tpc's process now.
    pub process: Process,
    /// When the scrape happens.
    pub now: Instant,
}

type Write = fn(&Scrape, &mut MetricEncoder) -> fmt::Result;

/// One metric of the table.
pub struct Metric {
    /// Its name, without the `_total` that the text format adds to counters.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricType,
    /// Its labels, for the README.
    pub labels: &'static [&'static str],
    /// What it counts, for `# HELP` and the README.
    pub help: &'static str,
    write: Write,
}

impl Metric {
    /// The name as it appears in the text: counters end in `_total`.
    pub fn exposed_name(&self) -> String {
        match self.kind {
            MetricType::Counter => format!("{}_total", self.name),
            _ => self.name.to_string(),
        }
    }
}

fn counter(e: &mut MetricEncoder, v: u64) -> fmt::Result {
    e.encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn gauge(e: &mut MetricEncoder, v: impl EncodeGaugeValue) -> fmt::Result {
    e.encode_gauge(&v)
}

/// A counter per `(label, value)` pair, for each of `values`.
fn counters<'a>(
    e: &mut MetricEncoder,
    values: impl IntoIterator<Item = ([(&'a str, &'a str); 1], u64)>,
) -> fmt::Result {
    for (labels, v) in values {
        counter(&mut e.encode_family(&labels)?, v)?;
    }
    Ok(())
}

fn results(e: &mut MetricEncoder, ok: u64, error: u64) -> fmt::Result {
    counters(
        e,
        [([("result", "ok")], ok), ([("result", "error")], error)],
    )
}

fn histogram(e: &mut MetricEncoder, h: &Histogram) -> fmt::Result {
    let buckets: Vec<(f64, u64)> = h
        .buckets()
        .map(|(bound, n)| (bound.as_u64() as f64 / 1000.0, n))
        .collect();
    let sum = h.sum().as_u64() as f64 / 1000.0;
    e.encode_histogram::<NoLabelSet>(sum, h.count(), &buckets, None)
}

/// A process figure, left out when it could not be read.
fn process(e: &mut MetricEncoder, v: Option<impl EncodeGaugeValue>) -> fmt::Result {
    v.map_or(Ok(()), |v| gauge(e, v))
}

/// Every metric, in the order served.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "tpc_pmessages",
        kind: MetricType::Counter,
        labels: &["status", "channel"],
        help: "Sentinel pub/sub messages taken in, by status (ok, or error when malformed) and channel (the event); channel sentinel counts sentinel links lost or not made",
        write: |s, e| {
            let stats = &s.snapshot.stats;
            for (channel, count) in &stats.channels {
                for (status, v) in [("error", count.error), ("ok", count.ok)] {
                    let labels = [("status", status), ("channel", channel.as_str())];
                    counter(&mut e.encode_family(&labels)?, v)?;
                }
            }
            let labels = [("status", "error"), ("channel", "sentinel")];
            counter(&mut e.encode_family(&labels)?, stats.link_errors)
        },
    },
    Metric {
        name: "tpc_backup_error",
        kind: MetricType::Counter,
        labels: &[],
        help: "Configs that could not be saved to -backup",
        write: |s, e| counter(e, s.snapshot.backup_errors),
    },
    Metric {
        name: "tpc_sentinel_up",
        kind: MetricType::Gauge,
        labels: &["sentinel"],
        help: "Whether the link to each sentinel is up (1) or not (0)",
        write: |s, e| {
            for (sentinel, up) in &s.snapshot.links {
                let labels = [("sentinel", sentinel.as_str())];
                gauge(&mut e.encode_family(&labels)?, u64::from(*up))?;
            }
            Ok(())
        },
    },
    Metric {
        name: "tpc_masters",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Masters tpc knows and follows",
        write: |s, e| gauge(e, s.snapshot.masters as u64),
    },
    Metric {
        name: "tpc_switches_applied",
        kind: MetricType::Counter,
        labels: &["master"],
        help: "Times each master was moved to a new address (a +switch-master followed, or the sentinels' answers)",
        write: |s, e| {
            let moves = s.snapshot.stats.moves.iter();
            counters(e, moves.map(|(m, n)| ([("master", m.as_str())], *n)))
        },
    },
    Metric {
        name: "tpc_switch_to_reload_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "From a master's move first seen to the start of the reload that loads it",
        write: |s, e| histogram(e, &s.snapshot.switch_latency),
    },
    Metric {
        name: "tpc_config_writes",
        kind: MetricType::Counter,
        labels: &["result"],
        help: "Config writes, by result (ok, error)",
        write: |s, e| {
            let stats = &s.snapshot.stats;
            results(e, stats.writes, stats.write_failures)
        },
    },
    Metric {
        name: "tpc_reloads",
        kind: MetricType::Counter,
        labels: &["result"],
        help: "Reload command runs, by result (ok, error)",
        write: |s, e| {
            let stats = &s.snapshot.stats;
            results(e, stats.reloads, stats.reload_failures)
        },
    },
    Metric {
        name: "tpc_reload_duration_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "How long reload commands ran, failed ones too",
        write: |s, e| histogram(e, &s.snapshot.stats.reload_durations),
    },
    Metric {
        name: "tpc_seconds_since_last_reload",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Seconds since the last successful reload; absent until one succeeded",
        write: |s, e| match s.snapshot.last_reload_ok {
            Some(at) => gauge(e, s.now.saturating_duration_since(at).as_secs_f64()),
            None => Ok(()),
        },
    },
    Metric {
        name: "tpc_config_in_sync",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Whether the config file is what tpc would write for the masters it knows (1) or not yet (0)",
        write: |s, e| gauge(e, u64::from(s.snapshot.in_sync)),
    },
    Metric {
        name: "tpc_config_drift_repairs",
        kind: MetricType::Counter,
        labels: &[],
        help: "Times the config file was found changed or deleted behind tpc's back",
        write: |s, e| counter(e, s.snapshot.stats.drift_repairs),
    },
    Metric {
        name: "tpc_sentinel_disagreements",
        kind: MetricType::Counter,
        labels: &[],
        help: "Times the sentinels started to disagree about a master with no majority and no newer epoch",
        write: |s, e| counter(e, s.snapshot.stats.disagreements),
    },
    Metric {
        name: "tpc_sentinel_outliers",
        kind: MetricType::Counter,
        labels: &[],
        help: "Times the majority of the sentinels overruled one sentinel's newer epoch",
        write: |s, e| counter(e, s.snapshot.stats.outliers),
    },
    Metric {
        name: "process_cpu_seconds",
        kind: MetricType::Counter,
        labels: &[],
        help: "User and system CPU time spent, in seconds",
        write: |s, e| match s.process.cpu_seconds {
            Some(v) => e.encode_counter::<NoLabelSet, _, u64>(&v, None),
            None => Ok(()),
        },
    },
    Metric {
        name: "process_resident_memory_bytes",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Resident memory, in bytes",
        write: |s, e| process(e, s.process.resident_bytes),
    },
    Metric {
        name: "process_virtual_memory_bytes",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Virtual memory, in bytes",
        write: |s, e| process(e, s.process.virtual_bytes),
    },
    Metric {
        name: "process_open_fds",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Open file descriptors",
        write: |s, e| process(e, s.process.open_fds),
    },
    Metric {
        name: "process_max_fds",
        kind: MetricType::Gauge,
        labels: &[],
        help: "The most file descriptors tpc may open",
        write: |s, e| process(e, s.process.max_fds),
    },
    Metric {
        name: "process_start_time_seconds",
        kind: MetricType::Gauge,
        labels: &[],
        help: "When tpc started, in seconds since the Unix epoch",
        write: |s, e| process(e, s.process.start_time_seconds),
    },
];

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metric").field("name", &self.name).finish()
    }
}

/// Writes every metric of one scrape for prometheus-client.
#[derive(Debug)]
struct Table(Scrape);

impl Collector for Table {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        for m in METRICS {
            let mut e = encoder.encode_descriptor(m.name, m.help, None, m.kind)?;
            (m.write)(&self.0, &mut e)?;
        }
        Ok(())
    }
}

/// The Prometheus text (format 0.0.4) of one scrape.
pub fn text(scrape: Scrape) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Table(scrape)));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

/// The README's list of metrics: one line per metric, its name and help.
pub fn readme_list() -> String {
    METRICS
        .iter()
        .map(|m| match m.labels {
            [] => format!("- `{}`: {}\n", m.exposed_name(), m.help),
            labels => format!(
                "- `{}{{{}}}`: {}\n",
                m.exposed_name(),
                labels.join(","),
                m.help
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_every_metric() {
        let readme = include_str!("../../../README.md");
        let want = readme_list();
        assert!(
            readme.contains(&want),
            "README.md's list of metrics differs from the table; replace it with:\n{want}"
        );
    }
}
