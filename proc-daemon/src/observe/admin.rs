//! The admin HTTP endpoint (`[admin]`): `/healthz`, `/readyz`, `/status` (JSON) and `/metrics`
//! (Prometheus text format 0.0.4). Requests are bounded in size (16 KiB of headers) and time
//! (5 s to send the headers, 30 s per connection); it stops accepting when shutdown starts and
//! no connection ever delays shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::fd::AsFd as _;
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

use super::exposition;
use super::serve::accept_until_shutdown;
use crate::state::Shared;
use crate::{Error, Result};

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

/// Binds `bind` (or takes the socket the daemon this process upgrades listened on there) and
/// serves until shutdown starts.
pub(crate) async fn start(bind: SocketAddr, shared: Arc<Shared>) -> Result<AdminServer> {
    let listener = match passed_on(bind) {
        Some(listener) => listener,
        None => TcpListener::bind(bind).await.map_err(|err| {
            Error::other(format!("admin endpoint: cannot listen on {bind}: {err}"))
        })?,
    };
    shared.handover.offer("admin".to_owned(), listener.as_fd());
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

/// The admin socket an upgraded-from daemon passed on, if it listens where `bind` says (any
/// port, for port 0).
fn passed_on(bind: SocketAddr) -> Option<TcpListener> {
    let (_, fd) = crate::process::inherited::take("admin")?;
    let listener = std::net::TcpListener::from(fd);
    let local = listener.local_addr().ok()?;
    let same = local.ip() == bind.ip() && (bind.port() == 0 || local.port() == bind.port());
    if !same {
        tracing::info!(
            "admin endpoint: the upgraded daemon's socket listens on {local}, not {bind}; binding anew"
        );
        return None;
    }
    listener.set_nonblocking(true).ok()?;
    let listener = TcpListener::from_std(listener).ok()?;
    tracing::info!("admin endpoint: taken from the daemon this process upgrades");
    Some(listener)
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let listener = &listener;
    accept_until_shutdown(
        shared,
        "admin endpoint",
        move || async move { listener.accept().await.map(|(stream, _)| stream) },
        serve,
    )
    .await;
}

async fn serve(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request: Request<Incoming>| {
        let shared = shared.clone();
        async move {
            #[cfg(feature = "profiling")]
            if request.uri().path() == "/debug/pprof/profile" && request.method() == Method::GET {
                return Ok::<_, Infallible>(cpu_profile(request.uri().query()).await);
            }
            Ok::<_, Infallible>(respond(&shared, &request))
        }
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

/// The longest profile `/debug/pprof/profile` takes: the connection must finish within
/// `CONNECTION_TIMEOUT`.
#[cfg(feature = "profiling")]
const MAX_PROFILE_SECONDS: u64 = 25;

/// `GET /debug/pprof/profile?seconds=N`: a CPU profile of the next N seconds (default 10, at
/// most 25), in pprof protobuf — `go tool pprof http://host:port/debug/pprof/profile?seconds=5`.
/// One at a time: a second request while one runs gets 409.
#[cfg(feature = "profiling")]
async fn cpu_profile(query: Option<&str>) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    let seconds = match query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("seconds="))
    {
        None => 10,
        Some(value) => match value.parse::<u64>() {
            Ok(seconds @ 1..=MAX_PROFILE_SECONDS) => seconds,
            _ => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "seconds must be a whole number from 1 to {MAX_PROFILE_SECONDS}, not {value:?}\n"
                    ),
                    PLAIN,
                );
            }
        },
    };
    let profiler = match crate::profiling::CpuProfiler::start() {
        Ok(profiler) => profiler,
        Err(err) => return text(StatusCode::CONFLICT, format!("{err}\n"), PLAIN),
    };
    tracing::info!("admin endpoint: taking a CPU profile of {seconds} s");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    // Symbolising the samples is CPU work; keep it off the runtime's workers.
    match tokio::task::spawn_blocking(move || profiler.stop()).await {
        Ok(Ok(profile)) => {
            let mut response = Response::new(Full::new(Bytes::from(profile)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        Ok(Err(err)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n"), PLAIN),
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the profile could not be finished\n".to_owned(),
            PLAIN,
        ),
    }
}

fn status_json(shared: &Shared) -> String {
    let mut body =
        serde_json::to_string_pretty(&super::status::to_json(shared)).unwrap_or_default();
    body.push('\n');
    body
}
