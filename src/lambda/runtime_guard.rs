//! Runs the handler under the Lambda runtime, so that an event the HTTP adapter cannot
//! read is answered 400 instead of failing the invocation.
//!
//! `lambda_http` panics while converting some malformed events (an undecodable base64
//! body, a header that makes the URI unparseable). The runtime would report that as an
//! invocation error, which the function URL turns into a 502. This guard catches the
//! conversion's panic and gives the caller the same JSON refusal as any bad request.

use crate::lambda::handler::{Answered, handle, write_metrics};
use crate::lambda::http::refuse_unreadable;
use crate::lambda::logging::with_answered_panics;
use crate::lambda::state::App;
use chrono::Utc;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::aws_lambda_events::encodings::Body as EventBody;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Error, LambdaEvent, Service, service_fn};
use serde::Serialize;
use std::future::{Future, Ready, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Serves invocations until the runtime stops.
pub async fn serve(app: &App) -> Result<(), Error> {
    let adapter = Adapter::from(service_fn(move |request| handle(app, request)));
    lambda_http::lambda_runtime::run(Guard { app, adapter }).await
}

/// Wraps the adapter, answering the events it cannot convert.
pub struct Guard<'a, S> {
    app: &'a App,
    adapter: S,
}

/// What the runtime posts back: the adapter's response, or the refusal.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Answer<R> {
    /// The adapter's function URL response.
    Handled(R),
    /// The refusal of an unreadable event, in the same format.
    Refused(Box<ApiGatewayV2httpResponse>),
}

impl<'a, S> Service<LambdaEvent<LambdaRequest>> for Guard<'a, S>
where
    S: Service<LambdaEvent<LambdaRequest>, Error = Error>,
    S::Future: Unpin,
    S::Response: Unpin,
{
    type Response = Answer<S::Response>;
    type Error = Error;
    type Future = Guarded<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.adapter.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<LambdaRequest>) -> Self::Future {
        // The conversion happens inside `call`, before any future is returned. Its panic
        // is answered here, with the refusal's record as the request's only line.
        let adapter = &mut self.adapter;
        match with_answered_panics(|| catch_unwind(AssertUnwindSafe(|| adapter.call(event)))) {
            Ok(future) => Guarded::Handled(future),
            Err(_) => Guarded::Refused(ready(unreadable_response(self.app))),
        }
    }
}

/// The adapter's future, or the ready refusal of an unreadable event.
pub enum Guarded<F, R> {
    /// The handler's answer.
    Handled(F),
    /// The refusal.
    Refused(Ready<Result<Answer<R>, Error>>),
}

impl<F, R> Future for Guarded<F, R>
where
    F: Future<Output = Result<R, Error>> + Unpin,
    R: Unpin,
{
    type Output = Result<Answer<R>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Guarded::Handled(future) => Pin::new(future).poll(cx).map_ok(Answer::Handled),
            Guarded::Refused(ready) => Pin::new(ready).poll(cx),
        }
    }
}

fn unreadable_response<R>(app: &App) -> Result<Answer<R>, Error> {
    let Answered { response, metrics } = refuse_unreadable(app, Utc::now())?;
    if let Some(metrics) = &metrics {
        write_metrics(metrics);
    }
    Ok(Answer::Refused(Box::new(function_url_response(response))))
}

/// A function URL response (payload format 2.0) from an HTTP response with a text body.
pub fn function_url_response(response: lambda_http::Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = parts.headers;
    answer.body = match body {
        Body::Text(text) => Some(EventBody::Text(text)),
        Body::Binary(bytes) => Some(EventBody::Binary(bytes)),
        Body::Empty => None,
        _ => None,
    };
    answer
}
