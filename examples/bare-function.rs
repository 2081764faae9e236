//! The floor for cold-start measurements: a `lambda_http` function that does nothing,
//! on the same runtime flavour as `merge-deprovision`. `benches/cold_start.rs` builds it
//! with the same profile and compares the two.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}
