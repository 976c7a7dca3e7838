//! Running the reload command: argv already split (no shell), bounded by a timeout,
//! its output logged.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tracing::{info, warn};

/// Runs `argv` and says how it went: `Ok` on exit status 0, otherwise why not.
/// An empty `argv` runs nothing and succeeds.
pub async fn run(argv: &[String], timeout: Duration) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(result) => result.map_err(|e| format!("waiting for {program:?}: {e}"))?,
        Err(_) => {
            return Err(format!(
                "killed after {}s (-cmd_timeout)",
                timeout.as_secs()
            ))
        }
    };
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        for line in String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            info!("Command {stream}: {line}");
        }
    }
    if output.status.success() {
        Ok(())
    } else {
        warn!("Command failed: {}", output.status);
        Err(output.status.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn exit_status_timeout_and_missing_program() {
        let t = Duration::from_secs(5);
        assert_eq!(run(&argv(&["true"]), t).await, Ok(()));
        assert_eq!(run(&[], t).await, Ok(()));
        assert_eq!(
            run(&argv(&["false"]), t).await,
            Err("exit status: 1".into())
        );
        let e = run(&argv(&["sleep", "5"]), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(e.contains("killed after 1s"), "{e}");
        let e = run(&argv(&["/no/such/program"]), t).await.unwrap_err();
        assert!(e.contains("cannot start"), "{e}");
    }
}
