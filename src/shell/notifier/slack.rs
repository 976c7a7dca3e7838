//! Slack notifications through the Web API's `chat.postMessage`. Text is escaped as
//! Slack asks, since much of it comes from sentinels.

use serde::Serialize;

use super::super::cli::SlackOptions;
use super::{deliver_all, Queue};

#[derive(Serialize)]
struct PostMessage<'a> {
    channel: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    icon_emoji: &'a str,
}

/// Posts every notification of `queue` until it is closed and empty.
pub async fn post_all(options: SlackOptions, queue: std::sync::Arc<Queue>) {
    let url = format!("{}/chat.postMessage", options.api_url);
    deliver_all("Slack", queue, |client, note| {
        let (url, options) = (url.clone(), options.clone());
        async move { post(&client, &url, &options, &note.text).await }
    })
    .await;
}

/// Escapes `text` as Slack asks (`&`, `<` and `>`), so that text from a sentinel cannot
/// mention `<!channel>`, link `<http://...|...>` or mention a user.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    o: &SlackOptions,
    text: &str,
) -> Result<(), String> {
    let text = escape(text);
    let body = PostMessage {
        channel: &o.channel,
        text: &text,
        username: &o.username,
        icon_emoji: &o.icon_emoji,
    };
    let response = client
        .post(url)
        .bearer_auth(o.token.expose())
        .json(&body)
        .send()
        .await
        // reqwest errors name the URL, never the token header.
        .map_err(|e| e.without_url().to_string())?;
    let status = response.status();
    let reply: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("HTTP {status}, unreadable answer: {}", e.without_url()))?;
    if reply["ok"] == serde_json::Value::Bool(true) {
        Ok(())
    } else {
        Err(format!("HTTP {status}, Slack says {}", reply["error"]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Accepts one HTTP request, answers `answer`, and returns the request text.
    async fn one_request(listener: TcpListener, answer: &'static str) -> String {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        sock.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn options(port: u16) -> SlackOptions {
        SlackOptions {
            token: "xoxb-secret".into(),
            channel: "#incidents".into(),
            username: "tpc".into(),
            icon_emoji: String::new(),
            api_url: format!("http://127.0.0.1:{port}/api"),
        }
    }

    #[tokio::test]
    async fn posts_chat_post_message_with_the_token() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(one_request(listener, r#"{"ok":true}"#));
        let client = reqwest::Client::new();
        let url = format!("{}/chat.postMessage", options(port).api_url);
        post(
            &client,
            &url,
            &options(port),
            "+switch-master: node-1 moved",
        )
        .await
        .unwrap();
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /api/chat.postMessage "),
            "{request}"
        );
        assert!(request
            .to_ascii_lowercase()
            .contains("authorization: bearer xoxb-secret"));
        let body = request.split_once("\r\n\r\n").unwrap().1;
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["channel"], "#incidents");
        assert_eq!(json["text"], "+switch-master: node-1 moved");
        assert_eq!(json["username"], "tpc");
        assert!(json.get("icon_emoji").is_none());
    }

    #[tokio::test]
    async fn sentinel_text_is_escaped_as_slack_asks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(one_request(listener, r#"{"ok":true}"#));
        let url = format!("{}/chat.postMessage", options(port).api_url);
        let text = "+odown: master <!channel> 10.0.0.1:1 <http://evil|x> & &amp;";
        post(&reqwest::Client::new(), &url, &options(port), text)
            .await
            .unwrap();
        let request = server.await.unwrap();
        let body = request.split_once("\r\n\r\n").unwrap().1;
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            json["text"],
            "+odown: master &lt;!channel&gt; 10.0.0.1:1 &lt;http://evil|x&gt; &amp; &amp;amp;"
        );
    }

    #[tokio::test]
    async fn a_slack_error_is_reported_without_the_token() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(one_request(
            listener,
            r#"{"ok":false,"error":"invalid_auth"}"#,
        ));
        let url = format!("{}/chat.postMessage", options(port).api_url);
        let e = post(&reqwest::Client::new(), &url, &options(port), "x")
            .await
            .unwrap_err();
        server.await.unwrap();
        assert!(e.contains("invalid_auth"), "{e}");
        assert!(!e.contains("xoxb"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_slack_is_an_error_not_a_hang() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("{}/chat.postMessage", options(port).api_url);
        assert!(post(&reqwest::Client::new(), &url, &options(port), "x")
            .await
            .is_err());
    }
}
