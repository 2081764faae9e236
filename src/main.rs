//! Lambda entry point: read configuration once, initialise logging, serve requests.

use lambda_http::{Error, tracing};
use merge_deprovision::config::Config;
use merge_deprovision::runtime_init::report_init_error;
use merge_deprovision::{http, logging, runtime_guard};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            let message = error.to_string();
            tracing::error!(
                error = message.as_str(),
                "configuration invalid: refusing to start"
            );
            if let Err(report) = report_init_error(&message).await {
                tracing::error!(error = %report, "could not report the init error to the Runtime API");
            }
            return Err(error.into());
        }
    };
    if config.rotation_in_progress {
        tracing::info!(
            "previous signature key configured: accepting deliveries signed with either key"
        );
    }
    let app = http::App::new(&config);
    runtime_guard::serve(&app).await
}
