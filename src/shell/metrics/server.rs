//! The HTTP server on `-listen_address`: the metrics at `-telemetry_path`, `/healthz`
//! and `/readyz`, served by hyper on the daemon's runtime. Each connection is a task of
//! its own and every answer comes from the latest [`Snapshot`]: a scrape never waits for
//! the daemon loop, nor the loop for a scrape.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tracing::debug;

use super::encode::{self, Scrape};
use super::health::{healthz, readyz};
use super::process;
use super::snapshot::Snapshot;

/// Connections served at once; more are closed at once (a scraper needs one).
const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The Prometheus text format's content type.
const METRICS_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// What the server serves.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Where the metrics are (`-telemetry_path`).
    pub telemetry_path: String,
    /// The core's figures, refreshed by the daemon loop.
    pub snapshot: watch::Receiver<Snapshot>,
}

/// An answer: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The content type.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Answer {
    fn text(status: StatusCode, body: String) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body + "\n",
        }
    }

    fn verdict(verdict: Result<(), String>, ok: &str) -> Answer {
        match verdict {
            Ok(()) => Answer::text(StatusCode::OK, ok.into()),
            Err(why) => Answer::text(StatusCode::SERVICE_UNAVAILABLE, why),
        }
    }
}

/// Serves `endpoints` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, endpoints: Endpoints) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                debug!("Metrics server: cannot accept a connection: {e}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!("Metrics server: {MAX_CONNECTIONS} connections open; closing a new one");
            continue;
        };
        let endpoints = endpoints.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let answer = answer(&endpoints, request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(response(answer)) }
            });
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                debug!("Metrics server: connection ended: {e}");
            }
            drop(slot);
        });
    }
}

/// The answer to `method path`.
pub fn answer(endpoints: &Endpoints, method: &Method, path: &str) -> Answer {
    if method != Method::GET && method != Method::HEAD {
        return Answer::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not served: use GET or HEAD"),
        );
    }
    // Cloned, so that the watch is not held while the text is made.
    let snapshot = endpoints.snapshot.borrow().clone();
    match path {
        "/healthz" => Answer::verdict(healthz(&snapshot), "ok"),
        "/readyz" => Answer::verdict(readyz(&snapshot), "ready"),
        _ if path == endpoints.telemetry_path => {
            let scrape = Scrape {
                snapshot,
                process: process::read(),
                now: Instant::now(),
            };
            match encode::text(scrape) {
                Ok(body) => Answer {
                    status: StatusCode::OK,
                    content_type: METRICS_TYPE,
                    body,
                },
                Err(_) => Answer::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the metrics could not be written".into(),
                ),
            }
        }
        _ => Answer::text(
            StatusCode::NOT_FOUND,
            format!(
                "nothing at {}: tpc serves {}, /healthz and /readyz",
                crate::core::shown::shown(path),
                endpoints.telemetry_path
            ),
        ),
    }
}

fn response(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if answer.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(snapshot: Snapshot) -> Endpoints {
        let (tx, snapshot) = watch::channel(snapshot);
        // The receiver keeps the last value once the sender is gone.
        drop(tx);
        Endpoints {
            telemetry_path: "/m".into(),
            snapshot,
        }
    }

    #[test]
    fn paths_and_methods_are_answered_as_asked() {
        let e = endpoints(Snapshot::default());
        let get = |path| answer(&e, &Method::GET, path);
        assert_eq!(get("/m").status, StatusCode::OK);
        assert!(get("/m")
            .body
            .contains("# TYPE tpc_pmessages_total counter"));
        assert_eq!(get("/metrics").status, StatusCode::NOT_FOUND);
        assert!(get("/x")
            .body
            .contains("tpc serves /m, /healthz and /readyz"));
        assert_eq!(get("/healthz").status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(get("/readyz").status, StatusCode::SERVICE_UNAVAILABLE);
        let post = answer(&e, &Method::POST, "/m");
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response(post).headers()[ALLOW], "GET, HEAD");
    }
}
