//! EventBridge Scheduler: the one-time schedules that wake the function when a
//! `scheduled` ledger entry takes effect. [`Schedules`] is the narrow interface;
//! [`put_timer`] and [`cancel_timer`] carry out what the domain planned through it;
//! [`SdkSchedules`] is the AWS SDK behind it.

use crate::domain::schedule::Desired;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::error::SdkError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, ScheduleState, Target,
};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A boxed future, so that the effect traits can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a timer delivers when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTarget {
    /// This function's ARN, from the invocation context.
    pub function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// The SQS queue for firings that cannot be delivered.
    pub dead_letter_arn: Option<String>,
}

/// How long a firing is retried, and how often (Scheduler's maxima: a day, 185 times).
pub const RETRY_MAX_EVENT_AGE_SECONDS: i32 = 86_400;
/// See [`RETRY_MAX_EVENT_AGE_SECONDS`].
pub const RETRY_MAX_ATTEMPTS: i32 = 185;
/// The longest input Scheduler accepts for a target, in characters.
pub const MAX_INPUT_CHARS: usize = 8192;

/// Why a Scheduler call failed, as records name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// A schedule of that name exists.
    #[error("conflict")]
    Conflict,
    /// No schedule of that name.
    #[error("not_found")]
    NotFound,
    /// Throttled: transient, a retry succeeds.
    #[error("throttled")]
    Throttled,
    /// The account's schedule quota is reached: not transient, an operator raises the
    /// quota or removes schedules.
    #[error("quota_exceeded")]
    QuotaExceeded,
    /// The function's role may not do this.
    #[error("denied")]
    Denied,
    /// No answer: a connection failure or a server error.
    #[error("unreachable")]
    Unreachable,
    /// The invocation's time ran out first.
    #[error("timed_out")]
    TimedOut,
    /// The request is invalid (`ValidationException`): a retry cannot fix it.
    #[error("invalid")]
    Invalid,
    /// Any other refusal, by its AWS error code.
    #[error("rejected")]
    Rejected(String),
}

impl SchedulerError {
    /// The kind, as records and the README name it.
    pub fn kind(&self) -> &'static str {
        match self {
            SchedulerError::Conflict => "conflict",
            SchedulerError::NotFound => "not_found",
            SchedulerError::Throttled => "throttled",
            SchedulerError::QuotaExceeded => "quota_exceeded",
            SchedulerError::Denied => "denied",
            SchedulerError::Unreachable => "unreachable",
            SchedulerError::TimedOut => "timed_out",
            SchedulerError::Invalid => "invalid",
            SchedulerError::Rejected(_) => "rejected",
        }
    }

    /// True when a retry of the same request cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SchedulerError::Invalid)
    }
}

/// The calls timers need: create, replace and delete one schedule of the group.
pub trait Schedules: Send + Sync {
    /// Creates `schedule`; [`SchedulerError::Conflict`] if the name is taken.
    fn create<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>>;
    /// Replaces the whole schedule; [`SchedulerError::NotFound`] if there is none.
    fn update<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>>;
    /// Deletes the schedule `name`; [`SchedulerError::NotFound`] if there is none.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SchedulerError>>;
    /// Creates a one-time schedule `name` firing at `at` (a whole minute) with `input` as
    /// the raw event: a sweep's start or continuation. [`SchedulerError::Conflict`] if
    /// the name is taken, which for a sweep means one is already pending.
    fn create_once<'a>(
        &'a self,
        name: &'a str,
        at: chrono::DateTime<chrono::Utc>,
        input: &'a str,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>>;
}

/// What a timer call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerChange {
    /// A schedule was created.
    Created,
    /// The existing schedule was replaced, every field, target included: a redeploy
    /// that changed the role, queue or function reaches it.
    Updated,
    /// A pending schedule was deleted.
    Cancelled,
    /// There was nothing to delete.
    Absent,
}

/// Sets the employee's timer as `desired` says, whether or not one exists: an update,
/// or a create when there is none. Another invocation can create or delete the same
/// schedule in between, so a create that meets one made meanwhile, or an update of one
/// deleted meanwhile, tries again, a few times.
pub async fn put_timer(
    schedules: &dyn Schedules,
    desired: &Desired,
    target: &ScheduleTarget,
) -> Result<TimerChange, SchedulerError> {
    let mut last = SchedulerError::Conflict;
    for _ in 0..PUT_ATTEMPTS {
        match schedules.update(desired, target).await {
            Ok(()) => return Ok(TimerChange::Updated),
            Err(SchedulerError::NotFound) => {}
            Err(error) => return Err(error),
        }
        match schedules.create(desired, target).await {
            Ok(()) => return Ok(TimerChange::Created),
            Err(SchedulerError::Conflict) => last = SchedulerError::Conflict,
            Err(error) => return Err(error),
        }
    }
    Err(last)
}

/// Rounds of update-then-create before [`put_timer`] gives up.
pub const PUT_ATTEMPTS: usize = 3;

/// Deletes the employee's timer, if there is one.
pub async fn cancel_timer(
    schedules: &dyn Schedules,
    name: &str,
) -> Result<TimerChange, SchedulerError> {
    match schedules.delete(name).await {
        Ok(()) => Ok(TimerChange::Cancelled),
        Err(SchedulerError::NotFound) => Ok(TimerChange::Absent),
        Err(error) => Err(error),
    }
}

/// How long one AWS call may take, retries included, and each attempt. The invocation's
/// own deadline bounds every call too (`app::budget`): this is the ceiling when much
/// time is left.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// See [`OPERATION_TIMEOUT`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry's backoff (with jitter), shorter than the SDK's default second so
/// that three attempts fit in [`OPERATION_TIMEOUT`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// The longest backoff between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The AWS SDK configuration every client shares: TLS through rustls with ring, standard
/// retries, and timeouts that fit the function's. Endpoints, Region and credentials come
/// from the standard variables (`AWS_ENDPOINT_URL_SCHEDULER`,
/// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), as Lambda sets them.
pub async fn sdk_config() -> aws_config::SdkConfig {
    // Loaded once per process, whichever client asks first: the ledger, the timers and
    // the secret share its credentials, Region and HTTP client.
    static CONFIG: OnceCell<aws_config::SdkConfig> = OnceCell::const_new();
    CONFIG.get_or_init(load_sdk_config).await.clone()
}

/// Built from the environment alone rather than by `aws_config::defaults`: Lambda gives
/// every function its Region and credentials as variables, and the default chain's other
/// sources (profile files, SSO, web identity, the container and instance metadata
/// endpoints, with the STS client they bring) are never reached there. Leaving them out
/// keeps about 300 KB of the SDK out of the binary, and no lookup of a file or an
/// endpoint runs at a cold start.
async fn load_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_config::meta::region::ProvideRegion;
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_scheduler::config::SharedCredentialsProvider;
    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut config = aws_config::SdkConfig::builder();
    config.set_endpoint_url(variable(GLOBAL_ENDPOINT));
    // The SDK's variables for FIPS and dual-stack endpoints, as its own loader reads
    // them: a deployment that asks for FIPS endpoints gets them.
    config.set_use_fips(flag("AWS_USE_FIPS_ENDPOINT"));
    config.set_use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    config
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(EnvironmentVariableRegionProvider::new().region().await)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .service_config(EndpointVariables)
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF)
                .with_max_backoff(MAX_BACKOFF),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .build()
}

/// The variable naming one endpoint for every AWS service (a local emulator).
const GLOBAL_ENDPOINT: &str = "AWS_ENDPOINT_URL";

/// A boolean variable (`true` or `false`, in any case), `None` when unset or neither.
fn flag(name: &str) -> Option<bool> {
    variable(name).and_then(|value| value.trim().to_ascii_lowercase().parse().ok())
}

/// A variable's value, `None` when unset or empty.
fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Each service's settings from its variables, as the SDK's own loader reads them
/// without a profile file: `AWS_ENDPOINT_URL_DYNAMODB` (the setting's variable, then the
/// service id upper-cased with `_` for spaces) before `AWS_ENDPOINT_URL`.
#[derive(Debug)]
struct EndpointVariables;

impl aws_types::service_config::LoadServiceConfig for EndpointVariables {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        service_setting(key.env(), key.service_id(), variable)
    }
}

/// The value of the setting whose variable is `setting` for the service `service_id`,
/// looked up by `lookup`: the service's own variable first, then the global one.
fn service_setting(
    setting: &str,
    service_id: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let service = service_id.to_uppercase().replace(' ', "_");
    lookup(&format!("{setting}_{service}")).or_else(|| lookup(setting))
}

/// The AWS SDK behind [`Schedules`], for one schedule group. The client is built on
/// first use, so a process that never schedules starts as fast as one without it.
#[derive(Debug)]
pub struct SdkSchedules {
    group: String,
    client: OnceCell<aws_sdk_scheduler::Client>,
}

impl SdkSchedules {
    /// Schedules in `group`.
    pub fn new(group: impl Into<String>) -> Self {
        SdkSchedules {
            group: group.into(),
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_scheduler::Client {
        self.client
            .get_or_init(|| async { aws_sdk_scheduler::Client::new(&sdk_config().await) })
            .await
    }
}

pub(crate) fn classify<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> SchedulerError {
    match &error {
        SdkError::ServiceError(_) => {}
        _ => return SchedulerError::Unreachable,
    }
    match error.code() {
        Some("ConflictException") => SchedulerError::Conflict,
        Some("ResourceNotFoundException") => SchedulerError::NotFound,
        Some("ThrottlingException" | "TooManyRequestsException") => SchedulerError::Throttled,
        Some("ServiceQuotaExceededException") => SchedulerError::QuotaExceeded,
        Some("ValidationException") => SchedulerError::Invalid,
        Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation") => {
            SchedulerError::Denied
        }
        Some("InternalServerException" | "ServiceUnavailableException") => {
            SchedulerError::Unreachable
        }
        Some(code) => SchedulerError::Rejected(code.to_owned()),
        None => SchedulerError::Unreachable,
    }
}

fn sdk_target(schedule: &Desired, target: &ScheduleTarget) -> Result<Target, SchedulerError> {
    let input = serde_json::to_string(&schedule.document)
        .map_err(|_| SchedulerError::Rejected("InputNotSerialisable".into()))?;
    target_with(input, target)
}

fn target_with(input: String, target: &ScheduleTarget) -> Result<Target, SchedulerError> {
    let retry = RetryPolicy::builder()
        .maximum_event_age_in_seconds(RETRY_MAX_EVENT_AGE_SECONDS)
        .maximum_retry_attempts(RETRY_MAX_ATTEMPTS)
        .build();
    let mut builder = Target::builder()
        .arn(&target.function_arn)
        .role_arn(&target.role_arn)
        .input(input)
        .retry_policy(retry);
    if let Some(queue) = &target.dead_letter_arn {
        builder = builder.dead_letter_config(DeadLetterConfig::builder().arn(queue).build());
    }
    builder
        .build()
        .map_err(|_| SchedulerError::Rejected("InvalidTarget".into()))
}

fn off() -> Result<FlexibleTimeWindow, SchedulerError> {
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|_| SchedulerError::Rejected("InvalidTimeWindow".into()))
}

/// A sweep schedule's description.
const SWEEP_DESCRIPTION: &str =
    "merge-deprovision: starts or continues a sweep of one linked account";

/// The schedule's description: its purpose, never a name or e-mail.
const DESCRIPTION: &str = "merge-deprovision: wakes the function when a termination takes effect";

// CreateSchedule and UpdateSchedule take the same fields through builders of different
// types; UpdateSchedule resets whatever it is not sent, so both send every field.
macro_rules! every_field {
    ($call:expr, $sdk:expr, $schedule:expr, $target:expr) => {
        $call
            .group_name(&$sdk.group)
            .name(&$schedule.name)
            .description(DESCRIPTION)
            .schedule_expression($schedule.expression())
            .schedule_expression_timezone("UTC")
            .flexible_time_window(off()?)
            .action_after_completion(ActionAfterCompletion::Delete)
            .state(ScheduleState::Enabled)
            .target($target)
    };
}

impl Schedules for SdkSchedules {
    fn create<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        Box::pin(async move {
            let target = sdk_target(schedule, target)?;
            let call = self.client().await.create_schedule();
            every_field!(call, self, schedule, target)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }

    fn update<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        Box::pin(async move {
            let target = sdk_target(schedule, target)?;
            let call = self.client().await.update_schedule();
            every_field!(call, self, schedule, target)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }

    fn create_once<'a>(
        &'a self,
        name: &'a str,
        at: chrono::DateTime<chrono::Utc>,
        input: &'a str,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        Box::pin(async move {
            let target = target_with(input.to_owned(), target)?;
            self.client()
                .await
                .create_schedule()
                .group_name(&self.group)
                .name(name)
                .description(SWEEP_DESCRIPTION)
                .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
                .schedule_expression_timezone("UTC")
                .flexible_time_window(off()?)
                // Deleted some time after the invoke, not at once (kept while retried):
                // a sweep's follow-ups therefore take names of their own.
                .action_after_completion(ActionAfterCompletion::Delete)
                .state(ScheduleState::Enabled)
                .target(target)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SchedulerError>> {
        Box::pin(async move {
            self.client()
                .await
                .delete_schedule()
                .group_name(&self.group)
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::service_setting;

    #[test]
    fn a_services_own_endpoint_variable_comes_before_the_global_one() {
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let both = set(&[
            ("AWS_ENDPOINT_URL", "http://global"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://secrets"),
        ]);
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "Secrets Manager", both).as_deref(),
            Some("http://secrets")
        );
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "DynamoDB", both).as_deref(),
            Some("http://global")
        );
        let none = set(&[("AWS_ENDPOINT_URL_SCHEDULER", "http://timers")]);
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "Scheduler", none).as_deref(),
            Some("http://timers")
        );
        assert_eq!(service_setting("AWS_ENDPOINT_URL", "DynamoDB", none), None);
    }
}
