//! Webhook notifications: each one POSTed to `-webhook` as JSON, in tpc's own shape
//! (event, master, old and new address, text, time, host, version) or as a Slack or
//! Mattermost incoming-webhook body. The URL is a secret: errors never name it.

use std::sync::Arc;

use serde::Serialize;

use super::super::cli::{WebhookFormat, WebhookOptions};
use super::super::utc::rfc3339;
use super::{deliver_all, slack::escape, Note, Queue};

/// tpc's own webhook body.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Body<'a> {
    /// What happened, e.g. `switch` (empty for notifications about nothing specific).
    pub event: &'a str,
    /// The master concerned.
    pub master: Option<&'a str>,
    /// Its address before.
    pub old: Option<String>,
    /// Its address after.
    pub new: Option<String>,
    /// The message, as Slack gets it.
    pub text: &'a str,
    /// When tpc decided it, RFC 3339 UTC.
    pub time: String,
    /// The host tpc runs on.
    pub host: &'a str,
    /// tpc's version.
    pub tpc_version: &'static str,
}

/// The body for `note` in `format`.
pub fn body(format: WebhookFormat, note: &Note, host: &str) -> serde_json::Value {
    match format {
        WebhookFormat::Slack => serde_json::json!({ "text": escape(&note.text) }),
        WebhookFormat::Json => {
            let body = Body {
                event: &note.about.event,
                master: note.about.master.as_deref(),
                old: note.about.from.as_ref().map(ToString::to_string),
                new: note.about.to.as_ref().map(ToString::to_string),
                text: &note.text,
                time: rfc3339(note.at),
                host,
                tpc_version: env!("CARGO_PKG_VERSION"),
            };
            serde_json::to_value(body).unwrap_or_default()
        }
    }
}

/// This machine's host name; empty when it cannot be read.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// Posts every notification of `queue` until it is closed and empty.
pub async fn post_all(options: WebhookOptions, queue: Arc<Queue>) {
    let host = host_name();
    deliver_all("Webhook", queue, |client, note| {
        let url = options.url.expose().to_string();
        let body = body(options.format, &note, &host);
        async move {
            let response = client
                .post(url)
                .json(&body)
                .send()
                .await
                // The URL holds the hook's secret.
                .map_err(|e| e.without_url().to_string())?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("HTTP {status}"))
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::effect::About;
    use crate::core::Addr;

    #[test]
    fn bodies_say_what_moved_where_and_escape_for_slack() {
        let from = Addr::parse("10.0.0.1:6379").unwrap();
        let to = Addr::parse("10.0.0.2:6379").unwrap();
        let note = Note {
            text: "+switch-master: node-1 moved <!channel>".into(),
            about: About::moved("switch", "node-1", &from, &to),
            at: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_798_761_599),
        };
        let json = body(WebhookFormat::Json, &note, "proxy-1");
        assert_eq!(json["event"], "switch");
        assert_eq!(json["master"], "node-1");
        assert_eq!(json["old"], "10.0.0.1:6379");
        assert_eq!(json["new"], "10.0.0.2:6379");
        assert_eq!(json["time"], "2026-12-31T23:59:59Z");
        assert_eq!(json["host"], "proxy-1");
        assert_eq!(json["tpc_version"], env!("CARGO_PKG_VERSION"));
        let slack = body(WebhookFormat::Slack, &note, "proxy-1");
        assert_eq!(
            slack,
            serde_json::json!({"text": "+switch-master: node-1 moved &lt;!channel&gt;"})
        );
        assert!(!host_name().is_empty());
    }
}
