//! A counting, fault-injecting HTTP proxy on loopback, in front of the AWS emulator: it
//! forwards requests, or answers some with a throttling error, or refuses connections as
//! an endpoint that is down.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with the requests it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward every request.
    Forward = 0,
    /// Answer one request in three, at random, with a 429 `ThrottlingException`.
    ThrottleAThird = 1,
    /// Close every connection unanswered.
    Down = 2,
}

struct State {
    upstream: SocketAddr,
    mode: AtomicU8,
    requests: AtomicU64,
    throttled: AtomicU64,
    seed: AtomicU64,
}

/// The running proxy.
pub struct AwsProxy {
    address: SocketAddr,
    state: Arc<State>,
}

impl AwsProxy {
    /// Starts forwarding to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> AwsProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().unwrap();
        let state = Arc::new(State {
            upstream,
            mode: AtomicU8::new(Mode::Forward as u8),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if shared.mode.load(Ordering::Relaxed) == Mode::Down as u8 {
                    drop(stream);
                    continue;
                }
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        AwsProxy { address, state }
    }

    /// The endpoint URL to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Changes what the proxy does from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Requests received so far (throttled ones included).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Requests answered with a throttling error so far.
    pub fn throttled(&self) -> u64 {
        self.state.throttled.load(Ordering::Relaxed)
    }
}

/// A small deterministic generator (xorshift), so a run's faults can be replayed.
fn next_random(state: &State) -> u64 {
    let mut x = state.seed.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.seed.store(x, Ordering::Relaxed);
    x
}

type Answer = Response<Full<Bytes>>;

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Answer, hyper::Error> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    if state.mode.load(Ordering::Relaxed) == Mode::ThrottleAThird as u8
        && next_random(&state).is_multiple_of(3)
    {
        state.throttled.fetch_add(1, Ordering::Relaxed);
        let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        return Ok(Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", "ThrottlingException")
            .body(Full::new(Bytes::from(body)))
            .unwrap());
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let forwarded = Request::from_parts(parts, Full::new(body));
    let Ok(stream) = TcpStream::connect(state.upstream).await else {
        return Ok(Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Full::new(Bytes::new()))
            .unwrap());
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("the emulator speaks HTTP/1");
    tokio::spawn(connection);
    let answer = sender.send_request(forwarded).await?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
