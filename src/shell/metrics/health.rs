//! `/healthz` and `/readyz`: tpc's own verdicts on a [`Snapshot`], with a one-line
//! reason when the answer is no.

use super::snapshot::Snapshot;
use crate::core::shown::shown;

/// Healthy: at least one sentinel link is up, and the last config write and the last
/// reload succeeded. Otherwise why not, on one line.
pub fn healthz(s: &Snapshot) -> Result<(), String> {
    if !s.links.iter().any(|(_, up)| *up) {
        return Err(format!(
            "no sentinel link is up ({} sentinel(s) followed): tpc cannot follow failovers",
            s.links.len()
        ));
    }
    if let Some(error) = &s.write_error {
        return Err(format!("the last config write failed: {}", shown(error)));
    }
    if let Some(error) = &s.reload_error {
        return Err(format!("the last reload command failed: {}", shown(error)));
    }
    Ok(())
}

/// Ready: start-up is over, a config was written or found right on disk.
pub fn readyz(s: &Snapshot) -> Result<(), String> {
    if s.ready {
        Ok(())
    } else {
        Err("no config written or confirmed yet: waiting for the sentinels' answers".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_a_link_and_the_last_write_and_reload_to_have_worked() {
        let mut s = Snapshot {
            links: vec![("a:1".into(), false), ("b:2".into(), false)],
            ..Snapshot::default()
        };
        let e = healthz(&s).unwrap_err();
        assert!(e.contains("no sentinel link is up (2 sentinel(s)"), "{e}");
        s.links[1].1 = true;
        assert_eq!(healthz(&s), Ok(()));
        s.reload_error = Some("exit code 1; last lines:\nboom".into());
        let e = healthz(&s).unwrap_err();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.starts_with("the last reload command failed: exit code 1"),
            "{e}"
        );
        s.write_error = Some("disk full".into());
        assert_eq!(
            healthz(&s),
            Err("the last config write failed: disk full".into())
        );
        assert!(readyz(&s).is_err());
        s.ready = true;
        assert_eq!(readyz(&s), Ok(()));
    }
}
