//! The same do-nothing `lambda_http` function as `bare-function`, on tokio's
//! multi-threaded runtime, so that `benches/cold_start.rs` can compare the flavours.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}
