//! A stand-in for the AWS APIs the function calls, on loopback, for measuring it with the
//! ledger and timers on: DynamoDB (its JSON API: every `GetItem` finds nothing, every
//! `PutItem` succeeds) and EventBridge Scheduler (its REST API: every read finds nothing,
//! every create, update and delete succeeds). It keeps no state, so any number of
//! deliveries can be replayed, each for an employee seen for the first time.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;

/// The running stand-in.
pub struct FakeAws {
    address: SocketAddr,
    calls: Arc<AtomicU64>,
}

impl FakeAws {
    /// Starts on a free loopback port.
    pub async fn start() -> FakeAws {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let counter = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(counter.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeAws { address, calls }
    }

    /// The endpoint URL to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Calls answered so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

async fn answer(
    calls: Arc<AtomicU64>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    calls.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .map(str::to_owned);
    request.into_body().collect().await?;
    let (status, content_type, kind, body) = match (method, target.as_deref()) {
        // DynamoDB: an empty answer is "no item" for GetItem and success for PutItem.
        (_, Some(target)) if target.starts_with("DynamoDB_20120810.") => {
            (StatusCode::OK, "application/x-amz-json-1.0", None, "{}")
        }
        (Method::GET, _) => (
            StatusCode::NOT_FOUND,
            "application/json",
            Some("ResourceNotFoundException"),
            r#"{"Message":"Schedule not found"}"#,
        ),
        _ => (
            StatusCode::OK,
            "application/json",
            None,
            r#"{"ScheduleArn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/g/n"}"#,
        ),
    };
    let mut response = Response::builder()
        .status(status)
        .header("content-type", content_type);
    if let Some(kind) = kind {
        response = response.header("x-amzn-errortype", kind);
    }
    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
}
