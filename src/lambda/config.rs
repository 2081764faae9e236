//! The function's configuration, read once from the environment and validated at init.

pub use crate::app::deprovision::DeprovisionConfig;
use crate::domain::baseline::{DEFAULT_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS, MIN_LOOKBACK_DAYS};
use crate::domain::cutoff::{Cutoff, LocalCutoff, parse_zone};
use crate::domain::decision::{InactiveMeaning, Policy};
use crate::domain::deprovision::{DEFAULT_MAX_PER_HOUR, Mode};
use crate::domain::signature::Verifier;
use crate::domain::webhook::Receiver;
use chrono::TimeDelta;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use std::str::FromStr;

mod report;
pub use report::REPORT_BUCKET_VAR;
mod sla;
pub use sla::{
    ACCESS_REMOVAL_SLA_VAR, DEFAULT_ACCESS_REMOVAL_SLA_HOURS, MAX_ACCESS_REMOVAL_SLA_DAYS,
};

/// Environment variable holding the current webhook signature key.
pub const SIGNATURE_KEY_VAR: &str = "MERGE_WEBHOOK_SIGNATURE_KEY";
/// Environment variable holding the previous key, accepted during a rotation.
pub const PREVIOUS_SIGNATURE_KEY_VAR: &str = "MERGE_WEBHOOK_SIGNATURE_KEY_PREVIOUS";
/// Environment variable naming the Secrets Manager secret that holds the key instead.
pub const SIGNATURE_SECRET_VAR: &str = "MERGE_WEBHOOK_SIGNATURE_SECRET_ID";
/// Environment variable holding how old the key read from the secret may get, in
/// seconds, before it is read again; 0 never reads it again on age alone.
pub const KEY_REFRESH_SECONDS_VAR: &str = "SIGNATURE_KEY_REFRESH_SECONDS";
/// The default age at which the key is read again: five minutes.
pub const DEFAULT_KEY_REFRESH_SECONDS: i64 = 300;
/// Environment variable holding the largest accepted body, in bytes.
pub const MAX_BODY_BYTES_VAR: &str = "MAX_BODY_BYTES";

/// Environment variable holding the hours added to a termination date before it takes
/// effect.
pub const TERMINATION_OFFSET_HOURS_VAR: &str = "TERMINATION_OFFSET_HOURS";
/// Environment variable saying what `INACTIVE` without a termination date means.
pub const INACTIVE_WITHOUT_DATE_VAR: &str = "INACTIVE_WITHOUT_DATE";
/// The IANA time zone whose days date-only terminations are, for an account with none
/// of its own (default `UTC`).
pub const TERMINATION_TIME_ZONE_VAR: &str = "TERMINATION_TIME_ZONE";
/// `start_of_day` or `end_of_day`: when in its day a date-only termination takes
/// effect, for an account with no cutoff of its own (default `start_of_day`).
pub const TERMINATION_CUTOFF_VAR: &str = "TERMINATION_CUTOFF";
/// The largest offset, either way: a week.
pub const MAX_TERMINATION_OFFSET_HOURS: i64 = 168;
/// Environment variable: how many days before an account's baseline a termination may
/// have taken effect and still be current (not historical).
pub const HISTORICAL_LOOKBACK_DAYS_VAR: &str = "HISTORICAL_LOOKBACK_DAYS";

/// Environment variable naming the service in every record (as AWS Powertools does).
pub const SERVICE_NAME_VAR: &str = "POWERTOOLS_SERVICE_NAME";
/// Environment variable naming the CloudWatch namespace of the metrics.
pub const METRICS_NAMESPACE_VAR: &str = "POWERTOOLS_METRICS_NAMESPACE";
/// The service name when none is configured.
pub const DEFAULT_SERVICE_NAME: &str = "merge-deprovision";
/// The metrics namespace when none is configured.
pub use crate::telemetry::metrics::DEFAULT_METRICS_NAMESPACE;

/// Environment variable naming the schedule group for scheduled terminations.
pub const SCHEDULE_GROUP_VAR: &str = "TERMINATION_SCHEDULE_GROUP";
/// Environment variable naming the role Scheduler assumes to invoke the function.
pub const SCHEDULE_ROLE_VAR: &str = "TERMINATION_SCHEDULE_ROLE_ARN";
/// Environment variable naming the SQS queue for firings Scheduler cannot deliver.
pub const SCHEDULE_DLQ_VAR: &str = "TERMINATION_SCHEDULE_DLQ_ARN";
/// Environment variable naming the DynamoDB table of the employee ledger.
pub const LEDGER_TABLE_VAR: &str = "EMPLOYEE_LEDGER_TABLE";

/// Environment variable naming the Secrets Manager secret that holds the SCIM targets;
/// setting it turns deprovisioning on.
pub use crate::app::deprovision::SCIM_TARGETS_SECRET_VAR;
/// Environment variable: `dry-run` (find and record, change nothing) or `enforce`.
pub const DEPROVISION_MODE_VAR: &str = "DEPROVISION_MODE";
/// Environment variable: changes allowed per hour before the brake holds the rest.
pub const DEPROVISION_MAX_PER_HOUR_VAR: &str = "DEPROVISION_MAX_PER_HOUR";
/// The largest accepted `DEPROVISION_MAX_PER_HOUR`.
pub const MAX_DEPROVISION_PER_HOUR_CEILING: u32 = 100_000;
/// Environment variable naming the Secrets Manager secret with Merge's API key and the
/// account tokens (or several, comma-separated); setting it turns reconciliation on.
pub const MERGE_API_SECRET_VAR: &str = "MERGE_API_SECRET_ID";
/// Environment variable holding Merge's API base URL (the EU or APAC host, or a local
/// fake).
pub const MERGE_API_BASE_URL_VAR: &str = "MERGE_API_BASE_URL";

/// Lambda's log level variable, which `logging` reads; validated here so that a value
/// the logger would not understand stops init instead of falling back to INFO unseen.
pub const LOG_LEVEL_VAR: &str = "AWS_LAMBDA_LOG_LEVEL";

/// Default body limit: 1 MiB, several times a typical Employee with `remote_data`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// A function URL cannot carry more than 6 MB, so a larger limit is a mistake.
pub const MAX_BODY_BYTES_CEILING: usize = 6 * 1024 * 1024;

/// Where the signature keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `MERGE_WEBHOOK_SIGNATURE_KEY` (and `_PREVIOUS`), fixed for the process's life.
    Environment(Box<Verifier>),
    /// A Secrets Manager secret, read at init and again as it ages or when a signature
    /// fails under every cached key.
    Secret {
        /// The secret's name or ARN.
        id: String,
        /// How old the keys may get before the next invocation reads them again.
        refresh_after: Option<TimeDelta>,
    },
}

/// Validated configuration.
pub struct Config {
    /// Where the signature keys come from.
    pub keys: KeySource,
    /// Bodies larger than this are rejected before hashing or parsing.
    pub max_body_bytes: usize,
    /// True while a previous key is still accepted.
    pub rotation_in_progress: bool,
    /// How the organisation's HR data is read.
    pub policy: Policy,
    /// The `service` key of every record.
    pub service: String,
    /// The CloudWatch namespace the metrics go to.
    pub metrics_namespace: String,
    /// Where scheduled terminations go; `None` when scheduling is off.
    pub scheduling: Option<SchedulingConfig>,
    /// The employee ledger's table; `None` runs log-only, with no memory.
    pub ledger_table: Option<String>,
    /// SCIM deprovisioning; `None` when no targets secret is set.
    pub deprovisioning: Option<DeprovisionConfig>,
    /// Variables that are set but have no effect in this configuration, to be logged
    /// at WARN at init.
    pub ignored: Vec<ConfigWarning>,
    /// Reconciliation with Merge's API; `None` when it is off.
    pub reconciliation: Option<ReconcileConfig>,
    /// How long before an account's baseline a termination may have taken effect and
    /// still be current.
    pub historical_lookback: TimeDelta,
    /// How long after a termination takes effect its access must be gone
    /// (`ACCESS_REMOVAL_SLA`): what each removal is measured against.
    pub access_removal_sla: TimeDelta,
    /// The bucket the access-removal reports are written to (`REPORT_BUCKET`); `None`
    /// when reports are off.
    pub report_bucket: Option<String>,
}

/// Where reconciliation reads Merge's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// The secrets holding the API key and account tokens (names or ARNs): one, or
    /// several, comma-separated in the variable, when the tokens outgrow one secret.
    pub secret_ids: Vec<String>,
    /// Merge's API base URL, checked by `net::base_url`.
    pub base_url: crate::net::Url,
    /// How old the secret may get before it is read again (the signature key's rule).
    pub refresh_after: Option<TimeDelta>,
}

/// A variable that is set, valid, and ignored: worth a WARN at init, not a refusal.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum ConfigWarning {
    /// The key refresh age only applies to a key read from a secret.
    #[error(
        "{KEY_REFRESH_SECONDS_VAR} is ignored: it applies only to a key read from \
         {SIGNATURE_SECRET_VAR}, and the key comes from {SIGNATURE_KEY_VAR}"
    )]
    KeyRefreshWithoutSecret,
    /// The deprovisioning settings apply only with a targets secret.
    #[error(
        "{DEPROVISION_MODE_VAR} and {DEPROVISION_MAX_PER_HOUR_VAR} are ignored: \
         deprovisioning is off until {SCIM_TARGETS_SECRET_VAR} is set"
    )]
    DeprovisionWithoutTargets,
}

/// Where scheduled terminations go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulingConfig {
    /// The schedule group.
    pub group: String,
    /// The role Scheduler assumes to invoke the function.
    pub role_arn: String,
    /// The dead-letter queue for undeliverable firings.
    pub dead_letter_arn: Option<String>,
}

/// Why the function cannot start. Messages name variables, never their values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No signature key: every request would be unauthenticated.
    #[error(
        "{SIGNATURE_KEY_VAR} is not set (nor {SIGNATURE_SECRET_VAR}). The function URL has \
         no other authentication, so the function refuses to start without the Merge \
         webhook signature key (Merge dashboard: Webhooks, Security)"
    )]
    MissingSignatureKey,
    /// Both a key and a secret: which one is meant is unclear.
    #[error(
        "{SIGNATURE_KEY_VAR} and {SIGNATURE_SECRET_VAR} are both set: set exactly one, the \
         key itself or the secret that holds it"
    )]
    KeyAndSecret,
    /// A previous key in the environment beside a secret, which would never be read.
    #[error(
        "{PREVIOUS_SIGNATURE_KEY_VAR} and {SIGNATURE_SECRET_VAR} are both set: with a \
         secret, put the previous key in the secret as {{\"current\": ..., \"previous\": ...}} \
         and unset {PREVIOUS_SIGNATURE_KEY_VAR}"
    )]
    PreviousKeyWithSecret,
    /// `SIGNATURE_KEY_REFRESH_SECONDS` is not a whole number in range.
    #[error("{KEY_REFRESH_SECONDS_VAR} must be a whole number of seconds from 0 to 86400")]
    InvalidKeyRefresh,
    /// `MAX_BODY_BYTES` is not a whole number in range.
    #[error(
        "{MAX_BODY_BYTES_VAR} must be a whole number of bytes from 1 to {MAX_BODY_BYTES_CEILING}"
    )]
    InvalidMaxBodyBytes,
    /// `TERMINATION_OFFSET_HOURS` is not a whole number in range.
    #[error(
        "{TERMINATION_OFFSET_HOURS_VAR} must be a whole number of hours from \
         -{MAX_TERMINATION_OFFSET_HOURS} to {MAX_TERMINATION_OFFSET_HOURS}"
    )]
    InvalidTerminationOffset,
    /// `HISTORICAL_LOOKBACK_DAYS` is not a whole number in range.
    #[error(
        "{HISTORICAL_LOOKBACK_DAYS_VAR} must be a whole number of days from \
         {MIN_LOOKBACK_DAYS} to {MAX_LOOKBACK_DAYS}"
    )]
    InvalidHistoricalLookback,
    /// `ACCESS_REMOVAL_SLA` is no duration from a second to a year.
    #[error(
        "{ACCESS_REMOVAL_SLA_VAR} must be a whole number of seconds, minutes, hours or days \
         (as 3600, 90m, 24h or 1d), from 1 second to {MAX_ACCESS_REMOVAL_SLA_DAYS} days"
    )]
    InvalidAccessRemovalSla,
    /// `REPORT_BUCKET` is not an S3 bucket name.
    #[error(
        "{REPORT_BUCKET_VAR} must be an S3 bucket's name: 3 to 63 lower-case letters, digits, \
         . and -, starting and ending with a letter or digit"
    )]
    InvalidReportBucket,
    /// `POWERTOOLS_METRICS_NAMESPACE` is not a valid CloudWatch namespace.
    #[error(
        "{METRICS_NAMESPACE_VAR} must be 1 to 255 letters, digits or . - _ / # : and \
         must not start with AWS/"
    )]
    InvalidMetricsNamespace,
    /// `POWERTOOLS_SERVICE_NAME` is too long or holds control characters.
    #[error("{SERVICE_NAME_VAR} must be 1 to 128 printable characters")]
    InvalidServiceName,
    /// `TERMINATION_TIME_ZONE` is no IANA time zone name.
    #[error(
        "{TERMINATION_TIME_ZONE_VAR} must be an IANA time zone name, as Australia/Melbourne \
         or UTC (the default)"
    )]
    InvalidTerminationTimeZone,
    /// `TERMINATION_CUTOFF` is neither `start_of_day` nor `end_of_day`.
    #[error("{TERMINATION_CUTOFF_VAR} must be `start_of_day` (the default) or `end_of_day`")]
    InvalidTerminationCutoff,
    /// `INACTIVE_WITHOUT_DATE` is neither `terminated` nor `undetermined`.
    #[error("{INACTIVE_WITHOUT_DATE_VAR} must be `terminated` or `undetermined`")]
    InvalidInactiveMeaning,
    /// One of the two scheduling variables without the other.
    #[error(
        "{missing} is not set: scheduled terminations need both {SCHEDULE_GROUP_VAR} and \
         {SCHEDULE_ROLE_VAR}, or neither to turn scheduling off"
    )]
    IncompleteScheduling {
        /// The variable that is missing.
        missing: &'static str,
    },
    /// The schedule group's name is not 1 to 64 of `[0-9a-zA-Z-_.]`.
    #[error("{SCHEDULE_GROUP_VAR} must be 1 to 64 letters, digits or - _ .")]
    InvalidScheduleGroup,
    /// Scheduling without the ledger, which is what timers check when they fire.
    #[error(
        "{LEDGER_TABLE_VAR} is not set: scheduled terminations need the employee ledger; \
         set it, or unset {SCHEDULE_GROUP_VAR} and {SCHEDULE_ROLE_VAR} to run log-only"
    )]
    SchedulingWithoutLedger,
    /// The table name is not 3 to 255 of `[a-zA-Z0-9_.-]`, DynamoDB's rule.
    #[error("{LEDGER_TABLE_VAR} must be 3 to 255 letters, digits or _ . -")]
    InvalidLedgerTable,
    /// The role Scheduler assumes is not an IAM role ARN.
    #[error(
        "{SCHEDULE_ROLE_VAR} must be an IAM role ARN: arn:<partition>:iam::<account>:role/<name>"
    )]
    InvalidScheduleRole,
    /// The dead-letter queue is not an SQS queue ARN.
    #[error(
        "{SCHEDULE_DLQ_VAR} must be an SQS queue ARN: arn:<partition>:sqs:<region>:<account>:<name>"
    )]
    InvalidScheduleDeadLetter,
    /// A dead-letter queue with scheduling off, where nothing would ever use it.
    #[error(
        "{SCHEDULE_DLQ_VAR} is set but scheduled terminations are off: set \
         {SCHEDULE_GROUP_VAR} and {SCHEDULE_ROLE_VAR} too, or unset {SCHEDULE_DLQ_VAR}"
    )]
    DeadLetterWithoutScheduling,
    /// The deprovisioning mode is neither value.
    #[error("{DEPROVISION_MODE_VAR} must be `dry-run` or `enforce`")]
    InvalidDeprovisionMode,
    /// The brake's limit is not a whole number in range.
    #[error(
        "{DEPROVISION_MAX_PER_HOUR_VAR} must be a whole number from 1 to {MAX_DEPROVISION_PER_HOUR_CEILING}"
    )]
    InvalidDeprovisionLimit,
    /// Deprovisioning needs the ledger: it is where the work comes from.
    #[error(
        "{LEDGER_TABLE_VAR} is not set: deprovisioning ({SCIM_TARGETS_SECRET_VAR}) needs \
         the employee ledger, whose stream carries each termination to it"
    )]
    DeprovisioningWithoutLedger,
    /// Reconciliation without the ledger, which a sweep writes through.
    #[error(
        "{LEDGER_TABLE_VAR} is not set: reconciliation ({MERGE_API_SECRET_VAR}) writes \
         through the employee ledger; set it, or unset {MERGE_API_SECRET_VAR}"
    )]
    ReconciliationWithoutLedger,
    /// Reconciliation without scheduling, which starts sweeps in their own invocations.
    #[error(
        "{SCHEDULE_GROUP_VAR} is not set: reconciliation ({MERGE_API_SECRET_VAR}) starts \
         and continues sweeps through one-time schedules; set {SCHEDULE_GROUP_VAR} and \
         {SCHEDULE_ROLE_VAR}, or unset {MERGE_API_SECRET_VAR}"
    )]
    ReconciliationWithoutScheduling,
    /// `MERGE_API_BASE_URL` is not an acceptable base URL.
    #[error("{MERGE_API_BASE_URL_VAR} {0}")]
    InvalidMergeBaseUrl(crate::net::BaseUrlError),
    /// `AWS_LAMBDA_LOG_LEVEL` is a level the logger cannot read.
    #[error("{LOG_LEVEL_VAR} must be one of TRACE, DEBUG, INFO, WARN, ERROR or OFF")]
    InvalidLogLevel,
}

impl Config {
    /// The domain's receiver of deliveries, as configured.
    pub fn receiver(&self) -> Receiver {
        Receiver::new(self.max_body_bytes, self.policy)
    }

    /// The keys from the environment, when they come from there.
    pub fn environment_verifier(&self) -> Option<&Verifier> {
        match &self.keys {
            KeySource::Environment(verifier) => Some(verifier),
            KeySource::Secret { .. } => None,
        }
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment. The checks run in a fixed order, so that of several mistakes the
    /// same one is always reported first.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars { lookup: &lookup };
        let refresh_after = key_refresh(&vars)?;
        let keys = key_source(&vars, refresh_after)?;
        let max_body_bytes = max_body_bytes(&vars)?;
        let policy = policy(&vars)?;
        let historical_lookback = historical_lookback(&vars)?;
        let access_removal_sla = sla::access_removal_sla(&vars)?;
        let report_bucket = report::report_bucket(&vars)?;
        let names = telemetry_names(&vars)?;
        let scheduling = scheduling(&vars)?;
        let ledger_table = ledger_table(&vars, scheduling.is_some())?;
        let deprovisioning = deprovisioning(&vars, refresh_after, ledger_table.is_some())?;
        let reconciliation = reconciliation(
            &vars,
            refresh_after,
            ledger_table.is_some(),
            scheduling.is_some(),
        )?;
        check_log_level(&vars)?;
        let ignored = warnings(
            &vars,
            &keys,
            deprovisioning.is_some() || reconciliation.is_some(),
        );
        Ok(Config {
            reconciliation,
            ledger_table,
            deprovisioning,
            ignored,
            scheduling,
            policy,
            service: names.service,
            metrics_namespace: names.metrics_namespace,
            rotation_in_progress: vars.is_set(PREVIOUS_SIGNATURE_KEY_VAR)
                && matches!(keys, KeySource::Environment(_)),
            keys,
            max_body_bytes,
            historical_lookback,
            access_removal_sla,
            report_bucket,
        })
    }
}

/// The environment as the configuration reads it.
struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Vars<'_> {
    /// The variable's value, trimmed; `None` when unset or blank.
    fn present(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// True when the variable holds more than whitespace.
    fn is_set(&self, name: &str) -> bool {
        self.present(name).is_some()
    }

    /// The variable's value exactly as set, for readers that do not trim.
    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }
}

/// How old a key (and the other secrets) may get before it is read again; `None` never
/// on age alone. Validated whichever way the key comes, so a typo is caught before the
/// day the key moves into a secret.
fn key_refresh(vars: &Vars) -> Result<Option<TimeDelta>, ConfigError> {
    match vars.present(KEY_REFRESH_SECONDS_VAR) {
        None => Ok(Some(TimeDelta::seconds(DEFAULT_KEY_REFRESH_SECONDS))),
        Some(text) => match text.parse::<i64>() {
            Ok(0) => Ok(None),
            Ok(seconds) if (1..=86_400).contains(&seconds) => Ok(Some(TimeDelta::seconds(seconds))),
            _ => Err(ConfigError::InvalidKeyRefresh),
        },
    }
}

/// Where the signature keys come from: exactly one of the key and the secret, and no
/// previous key in the environment beside a secret.
fn key_source(vars: &Vars, refresh_after: Option<TimeDelta>) -> Result<KeySource, ConfigError> {
    let previous = vars.present(PREVIOUS_SIGNATURE_KEY_VAR);
    match (
        vars.present(SIGNATURE_KEY_VAR),
        vars.present(SIGNATURE_SECRET_VAR),
    ) {
        (Some(_), Some(_)) => Err(ConfigError::KeyAndSecret),
        (None, None) => Err(ConfigError::MissingSignatureKey),
        (Some(current), None) => Ok(KeySource::Environment(Box::new(Verifier::new(
            current.as_bytes(),
            previous.as_deref().map(str::as_bytes),
        )))),
        (None, Some(_)) if previous.is_some() => Err(ConfigError::PreviousKeyWithSecret),
        (None, Some(id)) => Ok(KeySource::Secret { id, refresh_after }),
    }
}

/// The largest accepted body.
fn max_body_bytes(vars: &Vars) -> Result<usize, ConfigError> {
    match vars.present(MAX_BODY_BYTES_VAR) {
        None => Ok(DEFAULT_MAX_BODY_BYTES),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_BODY_BYTES_CEILING).contains(n))
            .ok_or(ConfigError::InvalidMaxBodyBytes),
    }
}

/// How the organisation's HR data is read: the termination offset, what `INACTIVE`
/// without a date means, then the default local cutoff of date-only terminations.
fn policy(vars: &Vars) -> Result<Policy, ConfigError> {
    let effective_offset = match vars.present(TERMINATION_OFFSET_HOURS_VAR) {
        None => TimeDelta::zero(),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|h| h.abs() <= MAX_TERMINATION_OFFSET_HOURS)
            .map(TimeDelta::hours)
            .ok_or(ConfigError::InvalidTerminationOffset)?,
    };
    let inactive = match vars.present(INACTIVE_WITHOUT_DATE_VAR) {
        None => InactiveMeaning::default(),
        Some(text) if text.eq_ignore_ascii_case("terminated") => InactiveMeaning::Terminated,
        Some(text) if text.eq_ignore_ascii_case("undetermined") => InactiveMeaning::Undetermined,
        Some(_) => return Err(ConfigError::InvalidInactiveMeaning),
    };
    Ok(Policy {
        effective_offset,
        inactive,
        local: local_cutoff(vars)?,
    })
}

/// The local cutoff of an account with none of its own: the zone, then the cutoff.
fn local_cutoff(vars: &Vars) -> Result<LocalCutoff, ConfigError> {
    let default = LocalCutoff::default();
    let zone = match vars.present(TERMINATION_TIME_ZONE_VAR) {
        None => default.zone,
        Some(text) => parse_zone(&text).ok_or(ConfigError::InvalidTerminationTimeZone)?,
    };
    let cutoff = match vars.present(TERMINATION_CUTOFF_VAR) {
        None => default.cutoff,
        Some(text) => Cutoff::parse(&text.to_ascii_lowercase())
            .ok_or(ConfigError::InvalidTerminationCutoff)?,
    };
    Ok(LocalCutoff { zone, cutoff })
}

/// The lookback that, with each account's baseline, tells a historical termination.
fn historical_lookback(vars: &Vars) -> Result<TimeDelta, ConfigError> {
    let days = match vars.present(HISTORICAL_LOOKBACK_DAYS_VAR) {
        None => DEFAULT_LOOKBACK_DAYS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|d| (MIN_LOOKBACK_DAYS..=MAX_LOOKBACK_DAYS).contains(d))
            .ok_or(ConfigError::InvalidHistoricalLookback)?,
    };
    Ok(TimeDelta::days(i64::from(days)))
}

/// The names records and metrics carry.
struct TelemetryNames {
    service: String,
    metrics_namespace: String,
}

/// The metrics namespace, then the service name, each defaulted when unset.
fn telemetry_names(vars: &Vars) -> Result<TelemetryNames, ConfigError> {
    let metrics_namespace = vars
        .present(METRICS_NAMESPACE_VAR)
        .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
    if !valid_namespace(&metrics_namespace) {
        return Err(ConfigError::InvalidMetricsNamespace);
    }
    let service = vars
        .present(SERVICE_NAME_VAR)
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
    if service.chars().count() > 128 || service.chars().any(char::is_control) {
        return Err(ConfigError::InvalidServiceName);
    }
    Ok(TelemetryNames {
        service,
        metrics_namespace,
    })
}

/// Where scheduled terminations go: both the group and the role, or neither; the
/// dead-letter queue is checked first, and refused without scheduling.
fn scheduling(vars: &Vars) -> Result<Option<SchedulingConfig>, ConfigError> {
    let dead_letter_arn = vars.present(SCHEDULE_DLQ_VAR);
    if dead_letter_arn
        .as_deref()
        .is_some_and(|arn| !valid_queue_arn(arn))
    {
        return Err(ConfigError::InvalidScheduleDeadLetter);
    }
    match (
        vars.present(SCHEDULE_GROUP_VAR),
        vars.present(SCHEDULE_ROLE_VAR),
    ) {
        (None, None) if dead_letter_arn.is_some() => Err(ConfigError::DeadLetterWithoutScheduling),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::IncompleteScheduling {
            missing: SCHEDULE_ROLE_VAR,
        }),
        (None, Some(_)) => Err(ConfigError::IncompleteScheduling {
            missing: SCHEDULE_GROUP_VAR,
        }),
        (Some(group), Some(role_arn)) => {
            if !valid_group_name(&group) {
                return Err(ConfigError::InvalidScheduleGroup);
            }
            if !valid_role_arn(&role_arn) {
                return Err(ConfigError::InvalidScheduleRole);
            }
            Ok(Some(SchedulingConfig {
                group,
                role_arn,
                dead_letter_arn,
            }))
        }
    }
}

/// The employee ledger's table, which scheduling requires: timers check it when they
/// fire.
fn ledger_table(vars: &Vars, scheduling: bool) -> Result<Option<String>, ConfigError> {
    let table = match vars.present(LEDGER_TABLE_VAR) {
        Some(table) if valid_table_name(&table) => Some(table),
        Some(_) => return Err(ConfigError::InvalidLedgerTable),
        None => None,
    };
    if scheduling && table.is_none() {
        return Err(ConfigError::SchedulingWithoutLedger);
    }
    Ok(table)
}

/// SCIM deprovisioning, on with a targets secret and the ledger. The mode and the limit
/// are validated whether or not it is on, so a typo is caught before the day the targets
/// secret is set.
fn deprovisioning(
    vars: &Vars,
    refresh_after: Option<TimeDelta>,
    ledger: bool,
) -> Result<Option<DeprovisionConfig>, ConfigError> {
    let mode = match vars.present(DEPROVISION_MODE_VAR) {
        None => Mode::default(),
        Some(text) => Mode::parse(&text).ok_or(ConfigError::InvalidDeprovisionMode)?,
    };
    let max_per_hour = match vars.present(DEPROVISION_MAX_PER_HOUR_VAR) {
        None => DEFAULT_MAX_PER_HOUR,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_DEPROVISION_PER_HOUR_CEILING).contains(n))
            .ok_or(ConfigError::InvalidDeprovisionLimit)?,
    };
    match vars.present(SCIM_TARGETS_SECRET_VAR) {
        None => Ok(None),
        Some(_) if !ledger => Err(ConfigError::DeprovisioningWithoutLedger),
        Some(secret_id) => Ok(Some(DeprovisionConfig {
            secret_id,
            refresh_after,
            mode,
            max_per_hour,
        })),
    }
}

/// Reconciliation with Merge's API, on with its secret, the ledger and scheduling. The
/// base URL is validated whether or not it is on.
fn reconciliation(
    vars: &Vars,
    refresh_after: Option<TimeDelta>,
    ledger: bool,
    scheduling: bool,
) -> Result<Option<ReconcileConfig>, ConfigError> {
    let base_url = crate::net::base_url(
        vars.present(MERGE_API_BASE_URL_VAR)
            .as_deref()
            .unwrap_or(crate::merge::client::DEFAULT_BASE_URL),
    )
    .map_err(ConfigError::InvalidMergeBaseUrl)?;
    match vars.present(MERGE_API_SECRET_VAR) {
        None => Ok(None),
        Some(_) if !ledger => Err(ConfigError::ReconciliationWithoutLedger),
        Some(_) if !scheduling => Err(ConfigError::ReconciliationWithoutScheduling),
        Some(ids) => Ok(Some(ReconcileConfig {
            secret_ids: ids
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect(),
            base_url,
            refresh_after,
        })),
    }
}

/// Refuses a log level the logger would not understand. Read raw, as the logger reads
/// it: it does not trim, and reads an empty value as ERROR, which would drop every INFO
/// and WARN record.
fn check_log_level(vars: &Vars) -> Result<(), ConfigError> {
    if vars
        .raw(LOG_LEVEL_VAR)
        .is_some_and(|level| level.is_empty() || LevelFilter::from_str(&level).is_err())
    {
        return Err(ConfigError::InvalidLogLevel);
    }
    Ok(())
}

/// The variables that are set, valid and without effect, in the order they are logged.
/// `uses_secrets`: deprovisioning or reconciliation is on, whose secrets the refresh
/// age applies to as well.
fn warnings(vars: &Vars, keys: &KeySource, uses_secrets: bool) -> Vec<ConfigWarning> {
    let mut ignored = Vec::new();
    let targets = vars.is_set(SCIM_TARGETS_SECRET_VAR);
    if matches!(keys, KeySource::Environment(_))
        && vars.is_set(KEY_REFRESH_SECONDS_VAR)
        && !targets
        && !uses_secrets
    {
        ignored.push(ConfigWarning::KeyRefreshWithoutSecret);
    }
    if !targets && (vars.is_set(DEPROVISION_MODE_VAR) || vars.is_set(DEPROVISION_MAX_PER_HOUR_VAR))
    {
        ignored.push(ConfigWarning::DeprovisionWithoutTargets);
    }
    ignored
}

/// The schedule group's rule: 1 to 64 of `[0-9a-zA-Z-_.]`.
fn valid_group_name(group: &str) -> bool {
    (1..=64).contains(&group.len())
        && group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// DynamoDB's rule for table names.
fn valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path and name>`, the shape
/// Scheduler's CreateSchedule requires of a target's role.
fn valid_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let fields: [Option<&str>; 6] = std::array::from_fn(|_| parts.next());
    let [
        Some("arn"),
        Some(partition),
        Some("iam"),
        Some(""),
        Some(account),
        Some(resource),
    ] = fields
    else {
        return false;
    };
    let Some(name) = resource.strip_prefix("role/") else {
        return false;
    };
    valid_partition(partition)
        && valid_account(account)
        && (1..=512).contains(&name.len())
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// An SQS queue ARN: `arn:<partition>:sqs:<region>:<12 digits>:<queue name>`.
fn valid_queue_arn(arn: &str) -> bool {
    let fields: Vec<&str> = arn.split(':').collect();
    let [arn_prefix, partition, service, region, account, name] = fields[..] else {
        return false;
    };
    arn_prefix == "arn"
        && valid_partition(partition)
        && service == "sqs"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && valid_account(account)
        && (1..=80).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `aws`, `aws-cn`, `aws-us-gov` and the other partitions' names.
fn valid_partition(partition: &str) -> bool {
    partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
}

/// An AWS account id: exactly 12 digits.
fn valid_account(account: &str) -> bool {
    account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
}

/// CloudWatch's rule for namespaces.
fn valid_namespace(namespace: &str) -> bool {
    (1..=255).contains(&namespace.len())
        && !namespace.starts_with("AWS/")
        && namespace.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#' | ':' | ' ')
        })
}

#[cfg(test)]
mod tests;
