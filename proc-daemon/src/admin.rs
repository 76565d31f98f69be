//! The admin HTTP endpoint (`[admin]`): `/healthz`, `/readyz`, `/status` (JSON) and `/metrics`
//! (Prometheus text format 0.0.4). Requests are bounded in size (16 KiB of headers) and time
//! (5 s to send the headers, 30 s per connection); it stops accepting when shutdown starts and
//! no connection ever delays shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::daemon::Shared;
use crate::{Error, Result, exposition};

const MAX_HEADER_BYTES: usize = 16 * 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The running endpoint; dropping it stops it.
pub(crate) struct AdminServer {
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Binds `bind` and serves until shutdown starts.
pub(crate) async fn start(bind: SocketAddr, shared: Arc<Shared>) -> Result<AdminServer> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|err| Error::other(format!("admin endpoint: cannot listen on {bind}: {err}")))?;
    let local = listener.local_addr()?;
    if local.ip().is_loopback() {
        tracing::info!("admin endpoint listening on http://{local}");
    } else {
        tracing::warn!(
            "admin endpoint listening on http://{local}, which is reachable from other hosts"
        );
    }
    Ok(AdminServer {
        accept: tokio::spawn(accept(listener, shared)),
    })
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        tokio::select! {
            // New connections are refused from the first instant of shutdown.
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, shared.clone()));
                }
                Err(err) => tracing::debug!("admin endpoint: accept failed: {err}"),
            },
        }
    }
}

async fn serve(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(&shared, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn respond(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET\n".to_owned(),
            PLAIN,
        );
    }
    match request.uri().path() {
        // Answered by the runtime, so a wedged runtime fails the liveness probe.
        "/healthz" => text(StatusCode::OK, "ok\n".to_owned(), PLAIN),
        "/readyz" => match shared.readiness() {
            Ok(()) => text(StatusCode::OK, "ready\n".to_owned(), PLAIN),
            Err(reason) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
                PLAIN,
            ),
        },
        "/status" => text(StatusCode::OK, status_json(shared), "application/json"),
        "/metrics" if !shared.config.get().monitoring.enable_metrics => text(
            StatusCode::NOT_FOUND,
            "metrics are turned off (monitoring.enable_metrics = false)\n".to_owned(),
            PLAIN,
        ),
        "/metrics" => text(
            StatusCode::OK,
            exposition::render(shared, shared.uptime(), shared.readiness().is_ok()),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz, /status, /metrics\n".to_owned(),
            PLAIN,
        ),
    }
}

fn status_json(shared: &Shared) -> String {
    let config = shared.config.get();
    let reloads = shared.config.counts();
    let subsystems: Vec<serde_json::Value> = shared
        .entries()
        .iter()
        .map(|entry| {
            let failures = entry.failure_record();
            serde_json::json!({
                "name": entry.name(),
                "state": entry.state().as_str(),
                "critical": entry.subsystem.critical(),
                "restarts": entry.restarts(),
                "panics": failures.panics,
                "health_check_failures": failures.health_failures,
                "last_error": failures.last_error.as_deref(),
            })
        })
        .collect();
    let readiness = shared.readiness();
    let status = serde_json::json!({
        "name": config.name,
        "pid": std::process::id(),
        "uptime_seconds": shared.uptime().as_secs_f64(),
        "ready": readiness.is_ok(),
        "not_ready_because": readiness.err(),
        "shutting_down": shared.shutdown.is_shutdown(),
        "config_source": shared
            .config
            .path()
            .map_or_else(|| "defaults and environment".to_owned(), |p| p.display().to_string()),
        "reloads": { "applied": reloads.applied, "failed": reloads.failed },
        "subsystems": subsystems,
    });
    let mut body = serde_json::to_string_pretty(&status).unwrap_or_default();
    body.push('\n');
    body
}
