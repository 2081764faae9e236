//! EventBridge Scheduler: the one-time schedules that make future-dated terminations take
//! effect. [`Schedules`] is the narrow interface; [`apply`] carries out the domain's plan
//! through it; [`SdkSchedules`] is the AWS SDK behind it.

use crate::domain::schedule::{Call, Change, Desired, EXPIRY_KIND, ScheduleDocument, plan};
use crate::domain::webhook::Decided;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::error::SdkError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, ScheduleState, Target,
};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A boxed future, so that [`Schedules`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a schedule delivers when it fires.
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

/// Why a Scheduler call failed, as records name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// A schedule of that name exists.
    #[error("conflict")]
    Conflict,
    /// No schedule of that name.
    #[error("not_found")]
    NotFound,
    /// Throttled or over a quota.
    #[error("throttled")]
    Throttled,
    /// The function's role may not do this.
    #[error("denied")]
    Denied,
    /// No answer: timeout, connection failure, or a server error.
    #[error("unreachable")]
    Unreachable,
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
            SchedulerError::Denied => "denied",
            SchedulerError::Unreachable => "unreachable",
            SchedulerError::Rejected(_) => "rejected",
        }
    }
}

/// The calls scheduling needs: read, create and replace one schedule of the group.
pub trait Schedules: Send + Sync {
    /// The input stored under `name`, or `None` when no schedule has that name. A
    /// schedule whose input is not this function's document reads as an empty one.
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ScheduleDocument>, SchedulerError>>;
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
}

/// A schedule input that is not this function's document: it sorts before every
/// version, so any decision replaces it.
pub fn foreign_document() -> ScheduleDocument {
    ScheduleDocument {
        kind: EXPIRY_KIND.to_owned(),
        ..ScheduleDocument::default()
    }
}

/// Brings the employee's schedule in line with a decided delivery: reads what is stored,
/// plans, and makes at most one create or update. A create that meets a schedule made
/// meanwhile, or an update of one that fired meanwhile, is planned again once against
/// what is then stored.
pub async fn apply(
    schedules: &dyn Schedules,
    decided: &Decided,
    target: &ScheduleTarget,
    now: DateTime<Utc>,
) -> Result<Change, SchedulerError> {
    let name = match crate::domain::schedule::lookup_name(decided) {
        Ok(name) => name,
        Err(change) => return Ok(change),
    };
    let mut stored = schedules.get(&name).await?;
    for attempt in 0..2 {
        let planned = plan(decided, stored.as_ref(), now);
        let result = match &planned.call {
            Call::None => return Ok(planned.change),
            Call::Create(desired) => schedules.create(desired, target).await,
            Call::Update(desired) => schedules.update(desired, target).await,
        };
        match result {
            Ok(()) => return Ok(planned.change),
            Err(SchedulerError::Conflict | SchedulerError::NotFound) if attempt == 0 => {
                stored = schedules.get(&name).await?;
            }
            Err(error) => return Err(error),
        }
    }
    Err(SchedulerError::Conflict)
}

/// How long one Scheduler call may take, retries included, and each attempt. Two calls
/// per delivery fit twice over in the function's 10 s timeout.
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

/// The shared AWS SDK configuration: TLS through rustls with ring, standard retries,
/// and timeouts that fit the function's. Endpoints, Region and credentials come from the
/// standard variables (`AWS_ENDPOINT_URL_SCHEDULER`, `AWS_REGION`, ...).
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
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
        .load()
        .await
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

fn classify<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> SchedulerError {
    match &error {
        SdkError::ServiceError(_) => {}
        _ => return SchedulerError::Unreachable,
    }
    match error.code() {
        Some("ConflictException") => SchedulerError::Conflict,
        Some("ResourceNotFoundException") => SchedulerError::NotFound,
        Some(
            "ThrottlingException" | "ServiceQuotaExceededException" | "TooManyRequestsException",
        ) => SchedulerError::Throttled,
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

/// The schedule's description: its purpose, never a name or e-mail.
fn description(schedule: &Desired) -> String {
    if schedule.document.is_termination() {
        "merge-deprovision: scheduled termination".to_owned()
    } else {
        "merge-deprovision: remembers a newer decision until it expires".to_owned()
    }
}

// CreateSchedule and UpdateSchedule take the same fields through builders of different
// types; UpdateSchedule resets whatever it is not sent, so both send every field.
macro_rules! every_field {
    ($call:expr, $sdk:expr, $schedule:expr, $target:expr) => {
        $call
            .group_name(&$sdk.group)
            .name(&$schedule.name)
            .description(description($schedule))
            .schedule_expression($schedule.expression())
            .schedule_expression_timezone("UTC")
            .flexible_time_window(off()?)
            .action_after_completion(ActionAfterCompletion::Delete)
            .state(ScheduleState::Enabled)
            .target($target)
    };
}

impl Schedules for SdkSchedules {
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ScheduleDocument>, SchedulerError>> {
        Box::pin(async move {
            let answer = self
                .client()
                .await
                .get_schedule()
                .group_name(&self.group)
                .name(name)
                .send()
                .await;
            match answer {
                Ok(schedule) => {
                    let input = schedule.target().map(|t| t.input().unwrap_or_default());
                    Ok(Some(
                        input
                            .and_then(|text| serde_json::from_str(text).ok())
                            .unwrap_or_else(foreign_document),
                    ))
                }
                Err(error) => match classify(error) {
                    SchedulerError::NotFound => Ok(None),
                    other => Err(other),
                },
            }
        })
    }

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
}
