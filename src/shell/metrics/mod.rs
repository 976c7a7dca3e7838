//! Metrics and health for operators: Prometheus metrics at `-telemetry_path`, `/healthz`
//! and `/readyz`, on `-listen_address`. The daemon loop refreshes a [`Snapshot`] of the
//! core's figures after each turn; the server answers from it.

pub mod encode;
pub mod health;
pub mod process;
pub mod server;
pub mod snapshot;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::core::Addr;

pub use server::Endpoints;
pub use snapshot::Snapshot;

/// Binds `addr` and serves the endpoints from `snapshot` in a task of its own. A port
/// that cannot be bound is logged and returned as a message to notify: tpc goes on
/// following failovers without the endpoints.
pub async fn start(
    addr: &Addr,
    telemetry_path: &str,
    snapshot: watch::Receiver<Snapshot>,
) -> Result<JoinHandle<()>, String> {
    match TcpListener::bind((addr.host.as_str(), addr.port)).await {
        Ok(listener) => {
            info!(
                "Serving metrics at http://{addr}{telemetry_path}, health at /healthz and /readyz"
            );
            let endpoints = Endpoints {
                telemetry_path: telemetry_path.to_string(),
                snapshot,
            };
            Ok(tokio::spawn(server::serve(listener, endpoints)))
        }
        Err(e) => {
            let why = format!(
                "Cannot serve metrics and health on {addr} (-listen_address): {e}; tpc goes on following failovers without them (free the port or choose another, then restart tpc)"
            );
            warn!("{why}");
            Err(why)
        }
    }
}
