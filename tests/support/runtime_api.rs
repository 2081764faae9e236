//! A minimal Lambda Runtime API (protocol 2018-06-01) on loopback, and a handle on the
//! function process it serves, for driving the built binary as Lambda does.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long any single step may take before the driver gives up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Posted to `/invocation/{id}/response`.
    Response(String),
    /// Posted to `/invocation/{id}/error`.
    Error(String),
}

/// What the function posted to `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub error_type: String,
    /// The body: `{"errorType", "errorMessage"}`.
    pub body: String,
}

struct Invocation {
    request_id: String,
    payload: String,
    reply: oneshot::Sender<Reply>,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    init_error: Mutex<Option<InitError>>,
    init_error_posted: Notify,
    /// False to behave as `cargo lambda watch` can: take an init error and never answer.
    answers_init_errors: bool,
}

/// The Runtime API server.
pub struct RuntimeApi {
    address: SocketAddr,
    base_path: &'static str,
    queue: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Starts serving on a free loopback port, named as Lambda names it: `host:port`.
    pub async fn start() -> Self {
        Self::start_under("").await
    }

    /// Starts serving under `base_path`, named by a full URL as `cargo lambda watch`
    /// names its emulator (`http://host:port/.rt/<function>`).
    pub async fn start_under(base_path: &'static str) -> Self {
        Self::serve(base_path, true).await
    }

    /// Starts serving a Runtime API that never acknowledges an init error.
    pub async fn start_without_init_error_answers() -> Self {
        Self::serve("", false).await
    }

    async fn serve(base_path: &'static str, answers_init_errors: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().unwrap();
        let (queue, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            init_error_posted: Notify::new(),
            answers_init_errors,
        });
        let server_state = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = server_state.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| route(state.clone(), base_path, request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi {
            address,
            base_path,
            queue,
            shared,
            next_id: AtomicU64::new(1),
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        if self.base_path.is_empty() {
            self.address.to_string()
        } else {
            format!("http://{}{}", self.address, self.base_path)
        }
    }

    /// Queues one invocation and waits for the function's reply.
    pub async fn invoke(&self, payload: &str) -> Reply {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            request_id: format!("request-{n:06}"),
            payload: payload.to_owned(),
            reply,
        };
        self.queue.send(invocation).expect("the server is running");
        tokio::time::timeout(STEP_TIMEOUT, answer)
            .await
            .expect("the function answered in time")
            .expect("the server kept the reply channel")
    }

    /// Waits for an init error, if one is posted within the timeout.
    pub async fn init_error(&self, timeout: Duration) -> Option<InitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.init_error_posted.notified();
            if let Some(error) = self.shared.init_error.lock().unwrap().clone() {
                return Some(error);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if tokio::time::timeout(left, notified).await.is_err() {
                return self.shared.init_error.lock().unwrap().clone();
            }
        }
    }
}

type Answer = Response<Full<Bytes>>;

fn status(code: StatusCode) -> Answer {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

async fn route(
    state: Arc<Shared>,
    base_path: &str,
    request: Request<Incoming>,
) -> Result<Answer, hyper::Error> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path
        .strip_prefix(base_path)
        .and_then(|p| p.strip_prefix(PREFIX))
    else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if rest == "/invocation/next" {
        let Some(invocation) = state.queue.lock().await.recv().await else {
            return Ok(status(StatusCode::GONE));
        };
        state
            .pending
            .lock()
            .unwrap()
            .insert(invocation.request_id.clone(), invocation.reply);
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 3_000;
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &invocation.request_id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-6747a2b0-3f2d1c0b9a8e7d6c5b4a3928;Sampled=1",
            )
            .body(Full::new(Bytes::from(invocation.payload)))
            .unwrap();
        return Ok(response);
    }
    let error_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body =
        String::from_utf8_lossy(&request.into_body().collect().await?.to_bytes()).into_owned();
    if rest == "/init/error" {
        *state.init_error.lock().unwrap() = Some(InitError { error_type, body });
        state.init_error_posted.notify_waiters();
        if !state.answers_init_errors {
            std::future::pending::<()>().await;
        }
        return Ok(status(StatusCode::ACCEPTED));
    }
    let invocation = rest.strip_prefix("/invocation/").unwrap_or_default();
    let reply = match (
        invocation.strip_suffix("/response"),
        invocation.strip_suffix("/error"),
    ) {
        (Some(id), _) => Some((id.to_owned(), Reply::Response(body))),
        (None, Some(id)) => Some((id.to_owned(), Reply::Error(body))),
        (None, None) => None,
    };
    let Some((id, reply)) = reply else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    match state.pending.lock().unwrap().remove(&id) {
        Some(sender) => {
            let _ = sender.send(reply);
            Ok(status(StatusCode::ACCEPTED))
        }
        None => Ok(status(StatusCode::BAD_REQUEST)),
    }
}

/// A running function process and everything it printed.
pub struct Function {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    /// When the process was spawned, for cold-start measurements.
    pub spawned_at: Instant,
}

impl Function {
    /// Spawns `binary` against `api` with a clean environment: the variables Lambda sets,
    /// plus `env`.
    pub fn spawn(binary: &Path, api: &RuntimeApi, env: &[(&str, &str)]) -> Function {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "merge-deprovision")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/merge-deprovision")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/27/[$LATEST]0123456789abcdef",
            )
            .env("AWS_REGION", "eu-west-1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().expect("the function binary starts");
        let (stdout, out_reader) = collect(child.stdout.take().unwrap());
        let (stderr, err_reader) = collect(child.stderr.take().unwrap());
        Function {
            child,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            spawned_at,
        }
    }

    /// Waits for the process to exit by itself.
    pub async fn exit_status(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// The peak resident set size so far (`VmHWM`), in KiB, while the process runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process and returns what it wrote to stdout and stderr.
    pub async fn stop(mut self) -> (String, String) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        // The pipes close with the process, so the readers end once they have drained it.
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(STEP_TIMEOUT, reader).await;
        }
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }
}

fn collect(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> (Arc<Mutex<String>>, tokio::task::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut sink = sink.lock().unwrap();
            sink.push_str(&line);
            sink.push('\n');
        }
    });
    (text, reader)
}

/// Spawns `binary`, sends `payload` as its first invocation, and returns the time from
/// spawn to the first reply together with the reply.
pub async fn cold_start(binary: &Path, env: &[(&str, &str)], payload: &str) -> (Duration, Reply) {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(binary, &api, env);
    let reply = api.invoke(payload).await;
    let elapsed = function.spawned_at.elapsed();
    function.stop().await;
    (elapsed, reply)
}
