//! The routes of API version 1 (docs/api.md).

use super::metrics::Route;
use super::state::Shared;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tcp_spec::records::parse_hex_descriptor;
use tcp_spec::Profile;

type Resp = Response<Full<Bytes>>;

/// A refused request: status, error kind (the metric's label) and message.
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// The body was not read (or not completely): close the connection after answering.
    close: bool,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            close: false,
        }
    }

    fn closing(mut self) -> ApiError {
        self.close = true;
        self
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Resp {
    let body = serde_json::to_vec(&serde_json::json!({ "error": e.message }))
        .expect("a JSON object serialises");
    let mut r = json(e.status, body);
    if e.close {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tcp serve\""),
        );
    }
    r
}

/// The connection's service: every request through [`handle`].
pub(crate) fn service(
    shared: Arc<Shared>,
    tcp: bool,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Resp,
    Error = Infallible,
    Future = Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>,
> + Clone {
    hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        Box::pin(async move { Ok(handle(req, &shared, tcp).await) })
            as Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>
    })
}

async fn handle(req: Request<Incoming>, shared: &Shared, tcp: bool) -> Resp {
    let start = Instant::now();
    let route = route_of(req.uri().path());
    let resp = match dispatch(req, shared, tcp, route).await {
        Ok(r) => r,
        Err(e) => {
            shared.metrics.error(e.kind);
            error_response(&e)
        }
    };
    shared
        .metrics
        .request(route, resp.status().as_u16(), start.elapsed());
    resp
}

fn route_of(path: &str) -> Route {
    match path {
        "/v1/check" => Route::Check,
        "/v1/check/batch" => Route::Batch,
        "/v1/validate" => Route::Validate,
        "/healthz" => Route::Health,
        "/metrics" => Route::Metrics,
        p if p.starts_with("/v1/tools/") => Route::Tool,
        _ => Route::Other,
    }
}

fn method_allowed(route: Route, m: &Method) -> Result<(), ApiError> {
    let allowed: &[Method] = match route {
        Route::Check | Route::Batch | Route::Validate => &[Method::POST],
        Route::Tool | Route::Health | Route::Metrics => &[Method::GET, Method::HEAD],
        Route::Other => return Ok(()),
    };
    if allowed.contains(m) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} takes {}, not {m}", route.label(), names.join(", ")),
        )
        .closing())
    }
}

/// Constant-time comparison of the bearer token.
fn token_ok(req: &Request<Incoming>, token: &str) -> bool {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return false;
    };
    let Some(given) = v.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    let want = token.as_bytes();
    if given.len() != want.len() {
        return false;
    }
    given
        .iter()
        .zip(want)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

async fn dispatch(
    req: Request<Incoming>,
    shared: &Shared,
    tcp: bool,
    route: Route,
) -> Result<Resp, ApiError> {
    if route == Route::Other {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no route {} {} (the API: /v1/check, /v1/check/batch, /v1/tools/{{name}}, /v1/validate, /healthz, /metrics)",
                req.method(),
                req.uri().path()
            ),
        )
        .closing());
    }
    method_allowed(route, req.method())?;
    if tcp && route != Route::Health {
        if let Some(t) = &shared.token {
            if !token_ok(&req, t) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "this server requires `Authorization: Bearer <token>` (TCP_SERVE_TOKEN)",
                )
                .closing());
            }
        }
    }
    match route {
        Route::Health => {
            let g = shared.current.load();
            let body = serde_json::to_vec(&serde_json::json!({
                "status": "ok",
                "generation": g.generation,
            }))
            .expect("serialises");
            Ok(json(StatusCode::OK, body))
        }
        Route::Metrics => {
            let mut r = Response::new(Full::new(Bytes::from(shared.metrics.encode())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            Ok(r)
        }
        Route::Tool => tool(req.uri().path(), shared),
        Route::Check | Route::Batch | Route::Validate => {
            let body = read_json_body(req, shared).await?;
            let answer = post_body(route, &body, shared)?;
            Ok(json(StatusCode::OK, answer))
        }
        Route::Other => unreachable!("answered above"),
    }
}

/// A `POST` route's answer to the body it was sent (already read, within the body
/// limit): the part of the API that depends on what the client wrote. [`super::Api`]
/// calls it without a socket (the fuzz target `api_body` does).
fn post_body(route: Route, bytes: &[u8], shared: &Shared) -> Result<Vec<u8>, ApiError> {
    let max = shared.limits.max_body;
    if bytes.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than the limit of {max} bytes (--max-body)"),
        ));
    }
    let body = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_utf8",
            format!(
                "the body is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    match route {
        Route::Check => {
            let r: CheckRequest = parse(body)?;
            check_command_len(&r.command, shared, None)?;
            let cwd = cwd_of(r.cwd.as_deref())?;
            let g = shared.current.load();
            let report = g.gate.check(&r.command, cwd);
            shared.metrics.check(report.decision_value);
            Ok(serde_json::to_vec(&report).expect("a report serialises"))
        }
        Route::Batch => {
            let r: BatchRequest = parse(body)?;
            if r.commands.len() > shared.limits.max_batch {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!(
                        "{} commands in one batch; the limit is {} (--max-batch)",
                        r.commands.len(),
                        shared.limits.max_batch
                    ),
                ));
            }
            for (i, c) in r.commands.iter().enumerate() {
                check_command_len(c, shared, Some(i))?;
            }
            let cwd = cwd_of(r.cwd.as_deref())?;
            let g = shared.current.load();
            let reports: Vec<_> = r
                .commands
                .iter()
                .map(|c| {
                    let rep = g.gate.check(c, cwd);
                    shared.metrics.check(rep.decision_value);
                    rep
                })
                .collect();
            Ok(serde_json::to_vec(&reports).expect("reports serialise"))
        }
        Route::Validate => {
            let r: ValidateRequest = parse(body)?;
            if r.descriptors.len() > shared.limits.max_descriptors {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!(
                        "{} descriptors in one request; the limit is {}",
                        r.descriptors.len(),
                        shared.limits.max_descriptors
                    ),
                ));
            }
            let profile = match &r.profile {
                Some(p) => p.parse::<Profile>().map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("profile: {e}"),
                    )
                })?,
                None => Profile::Sum16,
            };
            let descs = r
                .descriptors
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    parse_hex_descriptor(h).map_err(|e| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "bad_descriptor",
                            format!("descriptors[{i}]: {e}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let g = shared.current.load();
            let lines = g.gate.validate(&descs, profile);
            Ok(serde_json::to_vec(&lines).expect("verdicts serialise"))
        }
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} takes no request body", route.label()),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    command: String,
    #[serde(default)]
    cwd: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    commands: Vec<String>,
    #[serde(default)]
    cwd: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateRequest {
    descriptors: Vec<String>,
    #[serde(default)]
    profile: Option<String>,
}

fn parse<'a, T: Deserialize<'a>>(body: &'a str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the request body is not the JSON this route takes: {e}"),
        )
    })
}

fn check_command_len(c: &str, shared: &Shared, index: Option<usize>) -> Result<(), ApiError> {
    if c.len() > shared.limits.max_command {
        let which = index.map_or("the command".to_string(), |i| format!("commands[{i}]"));
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "{which} is {} bytes; the limit is {} (--max-command)",
                c.len(),
                shared.limits.max_command
            ),
        ));
    }
    Ok(())
}

fn cwd_of(cwd: Option<&str>) -> Result<Option<&Path>, ApiError> {
    match cwd {
        None => Ok(None),
        Some(d) if d.starts_with('/') && d.len() <= 4096 && !d.contains('\0') => {
            Ok(Some(Path::new(d)))
        }
        Some(d) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "`cwd` must be an absolute directory (at most 4096 bytes, no NUL), not `{}`",
                d.chars().take(80).collect::<String>()
            ),
        )),
    }
}

/// `POST path` with an already-read `body`, as [`handle`] answers it (errors counted):
/// status and JSON body. For [`super::Api`].
pub(crate) fn answer_post(path: &str, body: &[u8], shared: &Shared) -> (u16, Vec<u8>) {
    let route = route_of(path);
    let r = if route == Route::Other {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no route POST {}",
                path.chars().take(200).collect::<String>()
            ),
        ))
    } else {
        method_allowed(route, &Method::POST).and_then(|()| post_body(route, body, shared))
    };
    match r {
        Ok(b) => (200, b),
        Err(e) => {
            shared.metrics.error(e.kind);
            (
                e.status.as_u16(),
                serde_json::to_vec(&serde_json::json!({ "error": e.message }))
                    .expect("a JSON object serialises"),
            )
        }
    }
}

/// Reads a JSON body: content type, size and time limits ([`post_body`] checks UTF-8).
async fn read_json_body(req: Request<Incoming>, shared: &Shared) -> Result<Bytes, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the body as `Content-Type: application/json`{}",
                if ct.is_empty() {
                    String::new()
                } else {
                    format!(", not `{ct}`")
                }
            ),
        )
        .closing());
    }
    let max = shared.limits.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared {
        if n > max as u64 {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is {n} bytes; the limit is {max} (--max-body)"),
            )
            .closing());
        }
    }
    let body = Limited::new(req.into_body(), max);
    let bytes = match tokio::time::timeout(shared.limits.body_timeout, body.collect()).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the body did not arrive within {} s",
                    shared.limits.body_timeout.as_secs_f64()
                ),
            )
            .closing())
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is larger than the limit of {max} bytes (--max-body)"),
            )
            .closing())
        }
        Ok(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("reading the body: {e}"),
            )
            .closing())
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    Ok(bytes)
}

fn tool(path: &str, shared: &Shared) -> Result<Resp, ApiError> {
    let raw = &path["/v1/tools/".len()..];
    let name = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the tool name is not UTF-8 once percent-decoded",
            )
        })?;
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\0']) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a tool name is 1 to 255 bytes, without `/` or NUL: GET /v1/tools/{name}",
        ));
    }
    let g = shared.current.load();
    let info = g.gate.tool(&name);
    Ok(json(
        StatusCode::OK,
        serde_json::to_vec(&info).expect("serialises"),
    ))
}
