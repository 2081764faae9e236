//! Reporting a failed init to the Lambda Runtime API, so that the invocation fails with
//! the reason instead of a bare process exit.

use lambda_http::http::{Method, Uri};
use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::{PooledClient, build_request};

/// The Runtime API's init error endpoint (protocol 2018-06-01).
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// The error type Lambda shows for an init failure.
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";

/// Posts `message` to `/runtime/init/error`. Outside Lambda (no `AWS_LAMBDA_RUNTIME_API`)
/// there is nobody to tell, and the process exit alone reports the failure.
pub async fn report_init_error(message: &str) -> Result<(), lambda_http::Error> {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return Ok(());
    };
    let endpoint: Uri = format!("http://{api}").parse()?;
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let diagnostic = Diagnostic {
        error_type: INIT_ERROR_TYPE.to_owned(),
        error_message: message.to_owned(),
    };
    let request = build_request()
        .method(Method::POST)
        .uri(INIT_ERROR_PATH)
        .header("lambda-runtime-function-error-type", INIT_ERROR_TYPE)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&diagnostic)?.into())?;
    client.call(request).await?;
    Ok(())
}
