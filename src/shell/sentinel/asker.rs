//! The connection tpc asks a sentinel its questions over (`SENTINEL MASTERS`, `SENTINEL
//! MASTER <name>`, `SENTINEL REPLICAS <name>`): its own, not the client library's, so
//! that an answer about tens of thousands of masters is read entry by entry as its
//! bytes arrive and each entry is read in place (the `resp-rs` parser, fields borrowed
//! from the read buffer), never first built into a tree of values. It logs in (`AUTH`)
//! and speaks TLS as the pub/sub connection does. One question at a time; an error or
//! a timeout ends the connection with the link.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use resp_rs::resp2::{frame_to_bytes, parse_frame, Frame};
use resp_rs::ParseError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::{seconds, SentinelAuth};
use crate::core::Addr;

/// The most an answer's one entry, or an answer read whole, may take: a master's or a
/// replica's entry is about a kilobyte. Past it the answer is refused, so a sentinel (or
/// something posing as one) cannot make tpc buffer without bound, nor spend long on
/// parsing an entry again as its bytes trickle in.
const ENTRY_MAX: usize = 64 * 1024;
/// The most entries a list answer may have: far more masters than any deployment has.
const ENTRIES_MAX: usize = 1_000_000;
/// Past this much of an unfinished value, it is parsed again only once what was read of
/// it doubled, or no more bytes came for [`TRICKLE_PAUSE`].
const TRICKLE_FROM: usize = 4096;
/// See [`TRICKLE_FROM`].
const TRICKLE_PAUSE: Duration = Duration::from_millis(1);
/// How much is read from the connection at a time, at least.
const READ_CHUNK: usize = 64 * 1024;

/// A byte stream to a sentinel, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to one sentinel, logged in.
pub struct Asker {
    stream: Box<dyn Stream>,
    /// What was read and not parsed yet.
    unparsed: Bytes,
}

/// A sentinel's answer, as far as it is not a list.
#[derive(Debug, PartialEq, Eq)]
pub enum Answered {
    /// A list, whose entries went to the caller one by one.
    List,
    /// An error reply (`-ERR ...`), its text.
    Error(String),
    /// Anything else: what kind of value it was, for the message.
    Other(&'static str),
}

impl Asker {
    /// Connects to the sentinel at `addr` (TLS if `auth` says so) and logs in if it
    /// has a password. The caller bounds the whole; the TLS handshake is bounded by
    /// `limit` here, to say what its silence likely means.
    pub async fn connect(
        addr: &Addr,
        auth: &SentinelAuth,
        limit: Duration,
    ) -> Result<Asker, String> {
        let tcp = TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .map_err(|e| e.to_string())?;
        // Questions are small and answers awaited: no batching delay.
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let stream: Box<dyn Stream> = if auth.tls {
            let name = ServerName::try_from(addr.host.clone())
                .map_err(|e| format!("{} is no name TLS can check: {e}", addr.host))?;
            let connector = TlsConnector::from(Arc::new(tls_config(auth)?));
            let tls = match timeout(limit, connector.connect(name, tcp)).await {
                Ok(tls) => tls.map_err(|e| format!("TLS: {e}"))?,
                // A plain sentinel never answers a TLS greeting.
                Err(_) => return Err(format!(
                    "TLS: no answer to the handshake within {} (-sentinel_timeout): is the sentinel on this port speaking TLS?",
                    seconds(limit)
                )),
            };
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut asker = Asker {
            stream,
            unparsed: Bytes::new(),
        };
        if let Some(password) = &auth.password {
            let mut args = vec!["AUTH"];
            args.extend(auth.username.as_deref());
            args.push(password);
            // A TLS-only sentinel drops a plain connection at its first words.
            let answer = asker.ask_value(&args).await.map_err(|e| match auth.tls {
                false => format!("AUTH: {e} (if the sentinel wants TLS, give -sentinel_tls)"),
                true => format!("AUTH: {e}"),
            })?;
            match answer {
                Frame::SimpleString(_) => {}
                // The reply names no password; it is shown as the sentinel said it.
                Frame::Error(e) => return Err(format!(
                    "AUTH: the sentinel refused the login ({}); check -sentinel_username and the password (-sentinel_password, -sentinel_password_file or TPC_SENTINEL_PASSWORD)",
                    String::from_utf8_lossy(&e)
                )),
                other => return Err(format!("AUTH: expected OK, got {}", kind(&other))),
            }
        }
        Ok(asker)
    }

    /// Sends the command `args` and reads its answer, whole (at most [`ENTRY_MAX`]).
    pub async fn ask_value(&mut self, args: &[&str]) -> Result<Frame, String> {
        self.send(args).await?;
        self.frame().await
    }

    /// Sends the command `args` and reads its answer: a list's entries go to `each` as
    /// they arrive (an `Err` from it ends the connection).
    pub async fn ask(
        &mut self,
        args: &[&str],
        mut each: impl FnMut(Frame) -> Result<(), String>,
    ) -> Result<Answered, String> {
        self.send(args).await?;
        let count = loop {
            if self.unparsed.first() == Some(&b'*') {
                if let Some(count) = self.list_header()? {
                    break count;
                }
            } else if !self.unparsed.is_empty() {
                return Ok(match self.frame().await? {
                    Frame::Error(e) => Answered::Error(String::from_utf8_lossy(&e).into_owned()),
                    other => Answered::Other(kind(&other)),
                });
            }
            self.fill().await?;
        };
        let Some(count) = count else {
            return Ok(Answered::Other("nil"));
        };
        if count > ENTRIES_MAX {
            return Err(format!(
                "an answer of {count} entries: refused (tpc reads at most {ENTRIES_MAX})"
            ));
        }
        for _ in 0..count {
            each(self.frame().await?)?;
        }
        Ok(Answered::List)
    }

    /// Sends the command `args`. Nothing may have come unasked before: the connection
    /// carries answers to tpc's questions only, and an answer read for the wrong
    /// question would be applied to the wrong master.
    async fn send(&mut self, args: &[&str]) -> Result<(), String> {
        if self.unparsed.is_empty() {
            let mut probe = BytesMut::with_capacity(512);
            if let Some(read) = self.stream.read_buf(&mut probe).now_or_never() {
                match read.map_err(|e| e.to_string())? {
                    0 => return Err("connection closed".into()),
                    _ => self.unparsed = probe.freeze(),
                }
            }
        }
        if !self.unparsed.is_empty() {
            return Err(format!(
                "the sentinel sent {} byte(s) nobody asked for: tpc cannot tell which question they answer",
                self.unparsed.len()
            ));
        }
        let command = Frame::Array(Some(
            args.iter()
                .map(|a| Frame::BulkString(Some(Bytes::copy_from_slice(a.as_bytes()))))
                .collect(),
        ));
        self.stream
            .write_all(&frame_to_bytes(&command))
            .await
            .map_err(|e| e.to_string())?;
        self.stream.flush().await.map_err(|e| e.to_string())
    }

    /// Takes a list's header (`*<count>\r\n`) off what was read, once it is all there:
    /// its count, none for a nil list. The entries are left to the parser one by one,
    /// so that a big answer is parsed once and as it arrives, not again from its start
    /// each time more of it comes in.
    fn list_header(&mut self) -> Result<Option<Option<usize>>, String> {
        let Some(end) = self.unparsed.windows(2).position(|w| w == b"\r\n") else {
            if self.unparsed.len() > 32 {
                return Err("an unreadable answer: a list header without its end".into());
            }
            return Ok(None);
        };
        let count = std::str::from_utf8(&self.unparsed[1..end])
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or("an unreadable answer: a list header without a count")?;
        let _ = self.unparsed.split_to(end + 2);
        Ok(Some(usize::try_from(count).ok()))
    }

    /// The next whole value read, reading more until it is all there.
    async fn frame(&mut self) -> Result<Frame, String> {
        let too_big = || {
            format!(
                "an answer's entry of over {} KiB: refused",
                ENTRY_MAX / 1024
            )
        };
        // How much there was when the value was last found unfinished.
        let mut tried = 0;
        loop {
            if self.unparsed.len() > tried {
                match parse_frame(self.unparsed.clone()) {
                    Ok((_, rest)) if self.unparsed.len() - rest.len() > ENTRY_MAX => {
                        return Err(too_big())
                    }
                    Ok((frame, rest)) => {
                        self.unparsed = rest;
                        return Ok(frame);
                    }
                    Err(ParseError::Incomplete) if self.unparsed.len() > ENTRY_MAX => {
                        return Err(too_big())
                    }
                    Err(ParseError::Incomplete) => tried = self.unparsed.len(),
                    Err(ParseError::InvalidTag(tag)) if b"%_#,(=~>|".contains(&tag) => {
                        return Err(format!(
                            "a RESP3 reply (type '{}'): tpc speaks RESP2 to sentinels, as they answer by default",
                            tag as char
                        ))
                    }
                    Err(e) => return Err(format!("an unreadable answer: {e}")),
                }
            }
            self.fill().await?;
            // The parser starts a value over each time: parsing a big one again after
            // every read would cost the square of its size when its bytes trickle in.
            // So it is parsed again once what was read doubled, or nothing more came
            // for a moment. A small value (every real entry) waits for nothing.
            while tried > TRICKLE_FROM && self.unparsed.len() < 2 * tried {
                // A connection closed or failed here is said on the next read, if
                // what came before it is still unfinished.
                if !matches!(timeout(TRICKLE_PAUSE, self.fill()).await, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }

    /// Reads what the sentinel sent next, after what is not parsed yet.
    async fn fill(&mut self) -> Result<(), String> {
        let mut buf = BytesMut::with_capacity(READ_CHUNK.max(2 * self.unparsed.len()));
        // Only the part of an entry not parsed yet is copied: at most one entry.
        buf.extend_from_slice(&self.unparsed);
        let read = self
            .stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("connection closed".into());
        }
        self.unparsed = buf.freeze();
        Ok(())
    }
}

/// The TLS settings for `auth`: trusting the CA in its file, or the system's roots.
fn tls_config(auth: &SentinelAuth) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    match &auth.ca_file {
        Some(ca) => {
            roots = ca_roots(ca).map_err(|e| format!("the CA file {}: {e}", ca.display()))?
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "no CA certificate found on this system to check the sentinels' with: give one with -sentinel_ca"
                        .into(),
                );
            }
        }
    }
    Ok(ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The certificates in the PEM file `ca`; an error says why there are none.
pub fn ca_roots(ca: &Path) -> Result<RootCertStore, String> {
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| match e {
            pem::Error::Io(e) => format!("cannot read it: {e}"),
            _ => "it is not well-formed PEM (a -----BEGIN ... -----END section is cut or broken)"
                .to_string(),
        })?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err("it holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(roots)
}

/// What kind of RESP value this is, for messages.
pub fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::BulkString(None) | Frame::Array(None) => "nil",
        Frame::Integer(_) => "an integer",
        Frame::BulkString(Some(_)) => "a string",
        Frame::SimpleString(_) => "a status",
        Frame::Error(_) => "an error",
        Frame::Array(Some(_)) => "a list",
    }
}

/// One entry of an answer, or a `SENTINEL MASTER <name>` answer: a flat list of string
/// fields, borrowed from `frame` (text that is not UTF-8, which Sentinel never sends,
/// is read lossily). Anything else says what it was.
pub fn fields(frame: &Frame) -> Result<Vec<Cow<'_, str>>, String> {
    let Frame::Array(Some(fields)) = frame else {
        return Err(format!("expected a list of fields, got {}", kind(frame)));
    };
    fields
        .iter()
        .map(|field| match field {
            Frame::BulkString(Some(b)) | Frame::SimpleString(b) => Ok(String::from_utf8_lossy(b)),
            other => Err(format!("expected string fields, got {}", kind(other))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    const LIMIT: Duration = Duration::from_secs(5);

    /// A server on a free loopback port that answers the first command with `answer`
    /// sent in pieces of `piece` bytes; what it was sent comes on the channel.
    async fn serve(answer: Vec<u8>, piece: usize) -> (Addr, oneshot::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sent, got) = oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = vec![0; 1024];
            let n = s.read(&mut got).await.unwrap();
            got.truncate(n);
            let _ = sent.send(got);
            for chunk in answer.chunks(piece) {
                if s.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
        });
        (
            Addr {
                host: "127.0.0.1".into(),
                port,
            },
            got,
        )
    }

    async fn ask(answer: &[u8], piece: usize) -> (Result<Answered, String>, Vec<Vec<String>>) {
        let (addr, server) = serve(answer.to_vec(), piece).await;
        let mut asker = Asker::connect(&addr, &SentinelAuth::default(), LIMIT)
            .await
            .unwrap();
        let mut entries = Vec::new();
        let answered = asker
            .ask(&["SENTINEL", "MASTERS"], |f| {
                let fields = fields(&f)?;
                entries.push(fields.iter().map(|s| s.to_string()).collect());
                Ok(())
            })
            .await;
        let sent = server.await.unwrap();
        assert_eq!(sent, b"*2\r\n$8\r\nSENTINEL\r\n$7\r\nMASTERS\r\n");
        (answered, entries)
    }

    #[tokio::test]
    async fn a_list_is_read_entry_by_entry_however_its_bytes_are_cut() {
        let answer = b"*2\r\n*4\r\n$4\r\nname\r\n$2\r\nm1\r\n$2\r\nip\r\n+10.0.0.1\r\n*0\r\n";
        for piece in [1, 2, 3, 7, 1000] {
            let (answered, entries) = ask(answer, piece).await;
            assert_eq!(answered, Ok(Answered::List), "{piece}");
            assert_eq!(
                entries,
                [vec!["name", "m1", "ip", "10.0.0.1"], vec![]],
                "{piece}"
            );
        }
    }

    #[tokio::test]
    async fn bytes_nobody_asked_for_end_the_connection() {
        // After the answer, a lie shaped like the answer to the next question.
        let answer = b"*1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$4\r\nname\r\n$1\r\nx\r\n";
        for piece in [1000, 3] {
            let (addr, _sent) = serve(answer.to_vec(), piece).await;
            let mut asker = Asker::connect(&addr, &SentinelAuth::default(), LIMIT)
                .await
                .unwrap();
            let mut entries = 0;
            let first = asker.ask(&["SENTINEL", "MASTERS"], |f| {
                assert_eq!(fields(&f).unwrap(), ["a", "b"]);
                entries += 1;
                Ok(())
            });
            assert_eq!(first.await, Ok(Answered::List));
            assert_eq!(entries, 1);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let second = asker.ask_value(&["SENTINEL", "MASTER", "x"]).await;
            assert!(second.unwrap_err().contains("nobody asked for"), "{piece}");
        }
    }

    #[tokio::test]
    async fn a_list_of_too_many_entries_or_in_resp3_is_refused() {
        let answer = format!("*{}\r\n", ENTRIES_MAX + 1);
        assert!(ask(answer.as_bytes(), 100)
            .await
            .0
            .unwrap_err()
            .contains("refused"));
        let e = ask(b"%1\r\n+a\r\n+b\r\n", 100).await.0.unwrap_err();
        assert!(e.contains("RESP3") && e.contains("RESP2"), "{e}");
    }

    #[tokio::test]
    async fn a_login_cut_off_asks_whether_the_sentinel_wants_tls() {
        let (addr, _sent) = serve(Vec::new(), 1).await;
        let auth = SentinelAuth {
            password: Some("pw".into()),
            ..SentinelAuth::default()
        };
        let e = Asker::connect(&addr, &auth, LIMIT).await.err().unwrap();
        assert!(
            e.starts_with("AUTH: connection closed") && e.contains("-sentinel_tls"),
            "{e}"
        );
        assert!(!e.contains("pw"), "{e}");
    }

    #[tokio::test]
    async fn what_is_not_a_list_is_said_so() {
        for (answer, expected) in [
            (
                &b"-ERR No such master with that name\r\n"[..],
                Answered::Error("ERR No such master with that name".into()),
            ),
            (b"+OK\r\n", Answered::Other("a status")),
            (b":3\r\n", Answered::Other("an integer")),
            (b"$-1\r\n", Answered::Other("nil")),
            (b"*-1\r\n", Answered::Other("nil")),
        ] {
            assert_eq!(ask(answer, 1).await.0, Ok(expected));
        }
    }

    #[tokio::test]
    async fn a_bad_entry_or_a_bad_answer_fails() {
        let (answered, _) = ask(b"*1\r\n:5\r\n", 3).await;
        assert_eq!(
            answered.unwrap_err(),
            "expected a list of fields, got an integer"
        );
        let (answered, _) = ask(b"*1\r\n*1\r\n:5\r\n", 3).await;
        assert_eq!(
            answered.unwrap_err(),
            "expected string fields, got an integer"
        );
        assert!(ask(b"*x\r\n", 1)
            .await
            .0
            .unwrap_err()
            .contains("without a count"));
        assert!(ask(b"?what\r\n", 1)
            .await
            .0
            .unwrap_err()
            .contains("unreadable"));
        assert!(ask(b"*2\r\n*0\r\n", 4)
            .await
            .0
            .unwrap_err()
            .contains("closed"));
    }

    #[tokio::test]
    async fn a_big_entry_trickling_in_byte_by_byte_is_read_whole() {
        let value = "v".repeat(3 * TRICKLE_FROM);
        let answer = format!("*1\r\n*2\r\n$4\r\nname\r\n${}\r\n{value}\r\n", value.len());
        let (answered, entries) = ask(answer.as_bytes(), 1).await;
        assert_eq!(answered, Ok(Answered::List));
        assert_eq!(entries, [vec!["name".to_string(), value]]);
    }

    #[tokio::test]
    async fn an_entry_past_the_limit_is_refused_however_it_arrives() {
        let answer = format!(
            "*1\r\n${}\r\n{}\r\n",
            2 * ENTRY_MAX,
            "x".repeat(2 * ENTRY_MAX)
        );
        for piece in [4096, 1 << 20] {
            let (answered, _) = ask(answer.as_bytes(), piece).await;
            assert!(answered.unwrap_err().contains("refused"), "{piece}");
        }
    }

    #[tokio::test]
    async fn an_entry_past_the_limit_is_refused_before_it_ends() {
        let mut answer = format!("*1\r\n${}\r\n", 4 * ENTRY_MAX).into_bytes();
        answer.extend(std::iter::repeat_n(b'x', 2 * ENTRY_MAX));
        let (answered, _) = ask(&answer, 64 * 1024).await;
        assert!(answered.unwrap_err().contains("refused"));
    }
}
