//! Reporting a failed init to the Lambda Runtime API, so that the invocation fails with
//! the reason instead of a bare process exit.

use lambda_http::http::{Method, Uri};
use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::{PooledClient, build_request};

/// The Runtime API's init error endpoint (protocol 2018-06-01).
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// The error type Lambda shows for an init failure.
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";
/// The variable through which Lambda, and local emulators, name the Runtime API.
pub const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// The variables the Lambda runtime cannot start without; Lambda, `cargo lambda watch`
/// and `sam local invoke` set them all.
pub const LAMBDA_VARS: [&str; 4] = [
    RUNTIME_API_VAR,
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// The first Lambda variable `lookup` does not find, if any: a process started by hand
/// (`cargo run`) has none of them, and the runtime would panic on the first.
pub fn missing_lambda_variable(lookup: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    LAMBDA_VARS.into_iter().find(|name| lookup(name).is_none())
}

/// The one line a person who runs the binary by hand sees, naming what is missing.
pub fn outside_lambda_message(missing: &str) -> String {
    format!(
        "merge-deprovision is an AWS Lambda function and runs under the Lambda Runtime API \
         ({missing} is not set). Locally, serve it with `cargo lambda watch`, or run the \
         sample events through its handler with `cargo run --example replay-events`."
    )
}

/// The Runtime API's base address from the value of `AWS_LAMBDA_RUNTIME_API`.
///
/// Lambda sets `host:port`; `cargo lambda watch` sets a full URL with a path, such as
/// `http://[::]:9352/.rt/merge-deprovision`. Both parse as a URI: the first has no
/// scheme, which the runtime's client then takes to be `http`, and the second keeps
/// its path as the base of every request. This is how the runtime itself reads it, so
/// the init error goes wherever invocations come from.
pub fn runtime_api_endpoint(value: &str) -> Result<Uri, lambda_http::http::uri::InvalidUri> {
    value.trim().parse()
}

/// How long the Runtime API may take to acknowledge an init error. Lambda answers at
/// once; `cargo lambda watch` never answers, and the process must still exit so that
/// the failure shows.
pub const INIT_ERROR_REPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Posts `message` to `/runtime/init/error`, waiting at most
/// [`INIT_ERROR_REPORT_TIMEOUT`]. Outside Lambda (no `AWS_LAMBDA_RUNTIME_API`) there is
/// nobody to tell, and the process exit alone reports the failure.
pub async fn report_init_error(message: &str) -> Result<(), lambda_http::Error> {
    tokio::time::timeout(INIT_ERROR_REPORT_TIMEOUT, post_init_error(message))
        .await
        .map_err(|_| "the Runtime API did not acknowledge the init error in time")?
}

/// Answers every invocation with `message` as its error, for as long as the runtime
/// runs. For a Runtime API that does not take an init error (`cargo lambda watch`), so
/// that whoever invokes the function still learns why it cannot start.
pub async fn refuse_invocations(message: String) -> Result<(), lambda_http::Error> {
    let refuse = lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<IgnoredEvent>| {
        let diagnostic = Diagnostic {
            error_type: INIT_ERROR_TYPE.to_owned(),
            error_message: message.clone(),
        };
        async move { Err::<(), Diagnostic>(diagnostic) }
    });
    lambda_runtime::run(refuse).await
}

/// Any event at all: its content is not read.
#[derive(serde::Deserialize)]
pub struct IgnoredEvent(serde::de::IgnoredAny);

async fn post_init_error(message: &str) -> Result<(), lambda_http::Error> {
    let Ok(api) = std::env::var(RUNTIME_API_VAR) else {
        return Ok(());
    };
    let client = PooledClient::builder()
        .with_endpoint(runtime_api_endpoint(&api)?)
        .build();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_host_and_port_form_is_an_authority_without_a_scheme() {
        let uri = runtime_api_endpoint("127.0.0.1:9001").unwrap();
        assert_eq!(uri.authority().map(|a| a.as_str()), Some("127.0.0.1:9001"));
        assert_eq!(uri.scheme(), None);
    }

    #[test]
    fn cargo_lambdas_full_url_keeps_its_scheme_host_and_path() {
        let uri = runtime_api_endpoint("http://[::]:9352/.rt/merge-deprovision").unwrap();
        assert_eq!(uri.scheme_str(), Some("http"));
        assert_eq!(uri.authority().map(|a| a.as_str()), Some("[::]:9352"));
        assert_eq!(uri.path(), "/.rt/merge-deprovision");
    }

    #[test]
    fn a_process_started_by_hand_is_told_which_variable_is_missing() {
        assert_eq!(missing_lambda_variable(|_| None), Some(RUNTIME_API_VAR));
        let only_api = |name: &str| (name == RUNTIME_API_VAR).then(|| "127.0.0.1:9001".into());
        assert_eq!(
            missing_lambda_variable(only_api),
            Some("AWS_LAMBDA_FUNCTION_NAME")
        );
        assert_eq!(missing_lambda_variable(|_| Some("x".into())), None);
        let message = outside_lambda_message(RUNTIME_API_VAR);
        assert!(message.contains(RUNTIME_API_VAR) && message.contains("cargo lambda watch"));
        assert!(!message.contains('\n'), "one line");
    }

    #[test]
    fn a_value_that_is_no_uri_is_an_error_not_a_panic() {
        assert!(runtime_api_endpoint("not a uri at all").is_err());
    }
}
