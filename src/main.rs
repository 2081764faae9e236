//! Lambda entry point: check it runs under Lambda, read configuration once, initialise
//! logging, serve requests.

use chrono::Utc;
use lambda_http::tracing;
use merge_deprovision::aws::secrets::SdkSecrets;
use merge_deprovision::lambda::config::Config;
use merge_deprovision::lambda::runtime_init::{
    missing_lambda_variable, outside_lambda_message, refuse_invocations, report_init_error,
};
use merge_deprovision::lambda::{logging, runtime_guard, state};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Some(missing) = missing_lambda_variable(|name| std::env::var(name).ok()) {
        eprintln!("{}", outside_lambda_message(missing));
        return ExitCode::from(2);
    }
    logging::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return refuse_to_start(&error.to_string()).await,
    };
    // Set, valid and without effect here: said once, so nobody relies on it unseen.
    for ignored in &config.ignored {
        tracing::warn!("{ignored}");
    }
    if config.rotation_in_progress {
        tracing::info!(
            "previous signature key configured: accepting deliveries signed with either key"
        );
    }
    match (&config.ledger_table, &config.scheduling) {
        (Some(table), Some(scheduling)) => tracing::info!(
            ledger_table = table.as_str(),
            schedule_group = scheduling.group.as_str(),
            "ledger and timers on: each termination is announced once, future-dated ones on their date"
        ),
        (Some(table), None) => tracing::warn!(
            ledger_table = table.as_str(),
            "ledger on, timers off: future-dated terminations are recorded but take effect only when a later delivery says so"
        ),
        _ => tracing::info!(
            "log-only: EMPLOYEE_LEDGER_TABLE is not set, so every terminated delivery is announced and nothing is scheduled"
        ),
    }
    if let Some(deprovisioning) = &config.deprovisioning {
        tracing::info!(
            deprovision_mode = deprovisioning.mode.as_str(),
            max_per_hour = deprovisioning.max_per_hour,
            "SCIM deprovisioning on: each move into terminated reaches the function through the ledger's stream"
        );
    }
    if let Some(reconcile) = &config.reconciliation {
        tracing::info!(
            merge_api = reconcile.base_url.as_str(),
            "reconciliation on: linked accounts are swept through Merge's API after each sync and on the recurring schedule"
        );
    }
    // Keys from a secret are read here, at init, with the SDK: the Parameters and
    // Secrets extension cannot be called before the first invocation.
    let secrets = Arc::new(SdkSecrets::new());
    let app = match state::App::load(&config, secrets, Utc::now()).await {
        Ok(app) => app,
        Err(message) => return refuse_to_start(&message).await,
    };
    match runtime_guard::serve(&app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs why the function cannot start, reports it to the Runtime API, and fails.
async fn refuse_to_start(message: &str) -> ExitCode {
    tracing::error!(error = message, "configuration invalid: refusing to start");
    if let Err(report) = report_init_error(message).await {
        // Expected under `cargo lambda watch`, which takes no init error report: said
        // at WARN, as a consequence of the ERROR above rather than a second failure.
        tracing::warn!(
            error = %report,
            "the Runtime API did not acknowledge the init error (cargo lambda watch does not): \
             each invocation is answered with the error above"
        );
        let _ = refuse_invocations(message.to_owned()).await;
    }
    ExitCode::FAILURE
}
