//! The function's configuration, read once from the environment and validated at init.

pub use crate::app::deprovision::DeprovisionConfig;
use crate::domain::decision::{InactiveMeaning, Policy};
use crate::domain::deprovision::{DEFAULT_MAX_PER_HOUR, Mode};
use crate::domain::signature::Verifier;
use crate::domain::webhook::Receiver;
use chrono::TimeDelta;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use std::str::FromStr;

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
/// The largest offset, either way: a week.
pub const MAX_TERMINATION_OFFSET_HOURS: i64 = 168;

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
    /// `POWERTOOLS_METRICS_NAMESPACE` is not a valid CloudWatch namespace.
    #[error(
        "{METRICS_NAMESPACE_VAR} must be 1 to 255 letters, digits or . - _ / # : and \
         must not start with AWS/"
    )]
    InvalidMetricsNamespace,
    /// `POWERTOOLS_SERVICE_NAME` is too long or holds control characters.
    #[error("{SERVICE_NAME_VAR} must be 1 to 128 printable characters")]
    InvalidServiceName,
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
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let present = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut ignored = Vec::new();
        let current = present(SIGNATURE_KEY_VAR);
        let previous = present(PREVIOUS_SIGNATURE_KEY_VAR);
        // Validated whichever way the key comes, so a typo is caught before the day the
        // key moves into a secret.
        let refresh_after = match present(KEY_REFRESH_SECONDS_VAR) {
            None => Some(TimeDelta::seconds(DEFAULT_KEY_REFRESH_SECONDS)),
            Some(text) => match text.parse::<i64>() {
                Ok(0) => None,
                Ok(seconds) if (1..=86_400).contains(&seconds) => Some(TimeDelta::seconds(seconds)),
                _ => return Err(ConfigError::InvalidKeyRefresh),
            },
        };
        let keys = match (current, present(SIGNATURE_SECRET_VAR)) {
            (Some(_), Some(_)) => return Err(ConfigError::KeyAndSecret),
            (None, None) => return Err(ConfigError::MissingSignatureKey),
            (Some(current), None) => {
                if present(KEY_REFRESH_SECONDS_VAR).is_some()
                    && present(SCIM_TARGETS_SECRET_VAR).is_none()
                {
                    ignored.push(ConfigWarning::KeyRefreshWithoutSecret);
                }
                KeySource::Environment(Box::new(Verifier::new(
                    current.as_bytes(),
                    previous.as_deref().map(str::as_bytes),
                )))
            }
            (None, Some(_)) if previous.is_some() => {
                return Err(ConfigError::PreviousKeyWithSecret);
            }
            (None, Some(id)) => KeySource::Secret { id, refresh_after },
        };
        let max_body_bytes = match present(MAX_BODY_BYTES_VAR) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_BODY_BYTES_CEILING).contains(n))
                .ok_or(ConfigError::InvalidMaxBodyBytes)?,
        };
        let effective_offset = match present(TERMINATION_OFFSET_HOURS_VAR) {
            None => TimeDelta::zero(),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|h| h.abs() <= MAX_TERMINATION_OFFSET_HOURS)
                .map(TimeDelta::hours)
                .ok_or(ConfigError::InvalidTerminationOffset)?,
        };
        let inactive = match present(INACTIVE_WITHOUT_DATE_VAR) {
            None => InactiveMeaning::default(),
            Some(text) if text.eq_ignore_ascii_case("terminated") => InactiveMeaning::Terminated,
            Some(text) if text.eq_ignore_ascii_case("undetermined") => {
                InactiveMeaning::Undetermined
            }
            Some(_) => return Err(ConfigError::InvalidInactiveMeaning),
        };
        let metrics_namespace =
            present(METRICS_NAMESPACE_VAR).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        if !valid_namespace(&metrics_namespace) {
            return Err(ConfigError::InvalidMetricsNamespace);
        }
        let service = present(SERVICE_NAME_VAR).unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        if service.chars().count() > 128 || service.chars().any(char::is_control) {
            return Err(ConfigError::InvalidServiceName);
        }
        let dead_letter_arn = present(SCHEDULE_DLQ_VAR);
        if dead_letter_arn
            .as_deref()
            .is_some_and(|arn| !valid_queue_arn(arn))
        {
            return Err(ConfigError::InvalidScheduleDeadLetter);
        }
        let scheduling = match (present(SCHEDULE_GROUP_VAR), present(SCHEDULE_ROLE_VAR)) {
            (None, None) if dead_letter_arn.is_some() => {
                return Err(ConfigError::DeadLetterWithoutScheduling);
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::IncompleteScheduling {
                    missing: SCHEDULE_ROLE_VAR,
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::IncompleteScheduling {
                    missing: SCHEDULE_GROUP_VAR,
                });
            }
            (Some(group), Some(role_arn)) => {
                let valid = (1..=64).contains(&group.len())
                    && group
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if !valid {
                    return Err(ConfigError::InvalidScheduleGroup);
                }
                if !valid_role_arn(&role_arn) {
                    return Err(ConfigError::InvalidScheduleRole);
                }
                Some(SchedulingConfig {
                    group,
                    role_arn,
                    dead_letter_arn,
                })
            }
        };
        let ledger_table = match present(LEDGER_TABLE_VAR) {
            Some(table) if valid_table_name(&table) => Some(table),
            Some(_) => return Err(ConfigError::InvalidLedgerTable),
            None => None,
        };
        if scheduling.is_some() && ledger_table.is_none() {
            return Err(ConfigError::SchedulingWithoutLedger);
        }
        // Validated whether or not deprovisioning is on, so a typo is caught before the
        // day the targets secret is set.
        let mode = match present(DEPROVISION_MODE_VAR) {
            None => Mode::default(),
            Some(text) => Mode::parse(&text).ok_or(ConfigError::InvalidDeprovisionMode)?,
        };
        let max_per_hour = match present(DEPROVISION_MAX_PER_HOUR_VAR) {
            None => DEFAULT_MAX_PER_HOUR,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_DEPROVISION_PER_HOUR_CEILING).contains(n))
                .ok_or(ConfigError::InvalidDeprovisionLimit)?,
        };
        let deprovisioning = match present(SCIM_TARGETS_SECRET_VAR) {
            None => {
                if present(DEPROVISION_MODE_VAR).is_some()
                    || present(DEPROVISION_MAX_PER_HOUR_VAR).is_some()
                {
                    ignored.push(ConfigWarning::DeprovisionWithoutTargets);
                }
                None
            }
            Some(_) if ledger_table.is_none() => {
                return Err(ConfigError::DeprovisioningWithoutLedger);
            }
            Some(secret_id) => Some(DeprovisionConfig {
                secret_id,
                refresh_after,
                mode,
                max_per_hour,
            }),
        };
        let base_url = crate::net::base_url(
            present(MERGE_API_BASE_URL_VAR)
                .as_deref()
                .unwrap_or(crate::merge::client::DEFAULT_BASE_URL),
        )
        .map_err(ConfigError::InvalidMergeBaseUrl)?;
        let reconciliation = match present(MERGE_API_SECRET_VAR) {
            None => None,
            Some(_) if ledger_table.is_none() => {
                return Err(ConfigError::ReconciliationWithoutLedger);
            }
            Some(_) if scheduling.is_none() => {
                return Err(ConfigError::ReconciliationWithoutScheduling);
            }
            Some(ids) => Some(ReconcileConfig {
                secret_ids: ids
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect(),
                base_url,
                refresh_after,
            }),
        };
        // Read raw, as the logger reads it: it does not trim, and reads an empty value
        // as ERROR, which would drop every INFO and WARN record.
        if lookup(LOG_LEVEL_VAR)
            .is_some_and(|level| level.is_empty() || LevelFilter::from_str(&level).is_err())
        {
            return Err(ConfigError::InvalidLogLevel);
        }
        if reconciliation.is_some() || deprovisioning.is_some() {
            // The refresh age applies to the Merge API secret and the SCIM targets too.
            ignored.retain(|w| *w != ConfigWarning::KeyRefreshWithoutSecret);
        }
        Ok(Config {
            reconciliation,
            ledger_table,
            deprovisioning,
            ignored,
            scheduling,
            policy: Policy {
                effective_offset,
                inactive,
            },
            service,
            metrics_namespace,
            rotation_in_progress: previous.is_some() && matches!(keys, KeySource::Environment(_)),
            keys,
            max_body_bytes,
        })
    }
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
mod tests {
    use super::*;
    use crate::domain::signature::{KeyUsed, sign};

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn refuses_to_start_without_a_signature_key() {
        assert_eq!(
            Config::from_lookup(lookup(&[])).err(),
            Some(ConfigError::MissingSignatureKey)
        );
    }

    #[test]
    fn a_blank_signature_key_counts_as_missing() {
        let result = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "  \n")]));
        assert_eq!(result.err(), Some(ConfigError::MissingSignatureKey));
    }

    #[test]
    fn the_missing_key_message_names_the_variable_and_why() {
        let message = ConfigError::MissingSignatureKey.to_string();
        assert!(message.contains(SIGNATURE_KEY_VAR));
        assert!(message.contains("refuses to start"));
    }

    #[test]
    fn defaults_apply_with_only_a_key() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(!config.rotation_in_progress);
    }

    #[test]
    fn surrounding_whitespace_in_keys_is_trimmed() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, " k\n")])).unwrap();
        let signature = sign(b"k", b"{}");
        assert_eq!(
            config
                .environment_verifier()
                .unwrap()
                .verify(b"{}", Some(signature.as_bytes())),
            Ok(KeyUsed::Current)
        );
    }

    #[test]
    fn the_previous_key_is_accepted_when_configured() {
        let config = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "new"),
            (PREVIOUS_SIGNATURE_KEY_VAR, "old"),
        ]))
        .unwrap();
        assert!(config.rotation_in_progress);
        let signature = sign(b"old", b"{}");
        assert_eq!(
            config
                .environment_verifier()
                .unwrap()
                .verify(b"{}", Some(signature.as_bytes())),
            Ok(KeyUsed::Previous)
        );
    }

    fn with(name: &'static str, value: &'static str) -> Result<Config, ConfigError> {
        Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k"), (name, value)]))
    }

    #[test]
    fn the_default_policy_is_the_documented_behaviour() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
        assert_eq!(config.policy, Policy::default());
        assert_eq!(config.policy.effective_offset, TimeDelta::zero());
        assert_eq!(config.policy.inactive, InactiveMeaning::Terminated);
    }

    #[test]
    fn the_termination_offset_accepts_its_bounds() {
        for (value, hours) in [("-168", -168), ("0", 0), ("24", 24), ("168", 168)] {
            let config = with(TERMINATION_OFFSET_HOURS_VAR, value).unwrap();
            assert_eq!(
                config.policy.effective_offset,
                TimeDelta::hours(hours),
                "{value}"
            );
        }
    }

    #[test]
    fn the_termination_offset_rejects_values_outside_its_bounds() {
        for value in ["169", "-169", "1.5", "24h", "one"] {
            assert_eq!(
                with(TERMINATION_OFFSET_HOURS_VAR, value).err(),
                Some(ConfigError::InvalidTerminationOffset),
                "{value}"
            );
        }
    }

    #[test]
    fn inactive_without_date_takes_either_meaning_in_any_case() {
        let undetermined = with(INACTIVE_WITHOUT_DATE_VAR, "Undetermined").unwrap();
        assert_eq!(undetermined.policy.inactive, InactiveMeaning::Undetermined);
        let terminated = with(INACTIVE_WITHOUT_DATE_VAR, "TERMINATED").unwrap();
        assert_eq!(terminated.policy.inactive, InactiveMeaning::Terminated);
        assert_eq!(
            with(INACTIVE_WITHOUT_DATE_VAR, "ignore").err(),
            Some(ConfigError::InvalidInactiveMeaning)
        );
    }

    #[test]
    fn service_and_namespace_have_defaults_and_can_be_set() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
        assert_eq!(
            (config.service.as_str(), config.metrics_namespace.as_str()),
            ("merge-deprovision", "MergeDeprovision")
        );
        let config = with(METRICS_NAMESPACE_VAR, "Security/Offboarding").unwrap();
        assert_eq!(config.metrics_namespace, "Security/Offboarding");
        assert_eq!(
            with(SERVICE_NAME_VAR, "offboarding").unwrap().service,
            "offboarding"
        );
    }

    #[test]
    fn an_invalid_namespace_or_service_fails_init() {
        for namespace in ["AWS/Lambda", "bad\"quote", &"n".repeat(256)] {
            let leaked: &'static str = Box::leak(namespace.to_owned().into_boxed_str());
            assert_eq!(
                with(METRICS_NAMESPACE_VAR, leaked).err(),
                Some(ConfigError::InvalidMetricsNamespace),
                "{namespace}"
            );
        }
        assert_eq!(
            with(SERVICE_NAME_VAR, "a\u{7}b").err(),
            Some(ConfigError::InvalidServiceName)
        );
    }

    #[test]
    fn a_secret_is_the_alternative_to_the_key_and_not_both() {
        let config =
            Config::from_lookup(lookup(&[(SIGNATURE_SECRET_VAR, "merge/webhook")])).unwrap();
        let KeySource::Secret { id, refresh_after } = config.keys else {
            panic!("keys from the secret");
        };
        assert_eq!(id, "merge/webhook");
        assert_eq!(refresh_after, Some(TimeDelta::seconds(300)));
        let both = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "k"),
            (SIGNATURE_SECRET_VAR, "merge/webhook"),
        ]));
        let error = both.err().unwrap();
        assert_eq!(error, ConfigError::KeyAndSecret);
        let message = error.to_string();
        assert!(message.contains(SIGNATURE_KEY_VAR) && message.contains(SIGNATURE_SECRET_VAR));
    }

    #[test]
    fn the_key_refresh_age_is_validated_and_zero_turns_it_off() {
        let refresh = |value: &'static str| {
            Config::from_lookup(lookup(&[
                (SIGNATURE_SECRET_VAR, "s"),
                (KEY_REFRESH_SECONDS_VAR, value),
            ]))
            .map(|c| match c.keys {
                KeySource::Secret { refresh_after, .. } => refresh_after,
                KeySource::Environment(_) => unreachable!(),
            })
        };
        assert_eq!(refresh("0"), Ok(None));
        assert_eq!(refresh("60"), Ok(Some(TimeDelta::seconds(60))));
        assert_eq!(refresh("86400"), Ok(Some(TimeDelta::seconds(86_400))));
        for bad in ["-1", "86401", "5m", "x"] {
            assert_eq!(
                refresh(bad).err(),
                Some(ConfigError::InvalidKeyRefresh),
                "{bad}"
            );
        }
    }

    #[test]
    fn scheduling_is_off_without_its_variables_and_on_with_both() {
        assert_eq!(
            with(INACTIVE_WITHOUT_DATE_VAR, "terminated")
                .unwrap()
                .scheduling,
            None
        );
        let config = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "k"),
            (SCHEDULE_GROUP_VAR, "merge-deprovision"),
            (
                SCHEDULE_ROLE_VAR,
                "arn:aws:iam::123456789012:role/scheduler",
            ),
            (LEDGER_TABLE_VAR, "merge-deprovision-ledger"),
        ]))
        .unwrap();
        assert_eq!(
            config.ledger_table.as_deref(),
            Some("merge-deprovision-ledger")
        );
        let scheduling = config.scheduling.unwrap();
        assert_eq!(scheduling.group, "merge-deprovision");
        assert_eq!(scheduling.dead_letter_arn, None);
    }

    #[test]
    fn one_scheduling_variable_without_the_other_names_the_missing_one() {
        assert_eq!(
            with(SCHEDULE_GROUP_VAR, "g").err(),
            Some(ConfigError::IncompleteScheduling {
                missing: SCHEDULE_ROLE_VAR
            })
        );
        let error = with(SCHEDULE_ROLE_VAR, "arn:aws:iam::123456789012:role/r")
            .err()
            .unwrap();
        assert_eq!(
            error,
            ConfigError::IncompleteScheduling {
                missing: SCHEDULE_GROUP_VAR
            }
        );
        assert!(error.to_string().starts_with(SCHEDULE_GROUP_VAR));
    }

    #[test]
    fn a_schedule_group_name_outside_schedulers_pattern_fails_init() {
        for group in ["has space", "slash/y", &"g".repeat(65)] {
            let group: &'static str = Box::leak(group.to_owned().into_boxed_str());
            let result = Config::from_lookup(lookup(&[
                (SIGNATURE_KEY_VAR, "k"),
                (SCHEDULE_GROUP_VAR, group),
                (SCHEDULE_ROLE_VAR, "arn:aws:iam::123456789012:role/r"),
                (LEDGER_TABLE_VAR, "ledger"),
            ]));
            assert_eq!(
                result.err(),
                Some(ConfigError::InvalidScheduleGroup),
                "{group}"
            );
        }
    }

    #[test]
    fn scheduling_without_the_ledger_fails_init_naming_the_ledger_variable() {
        let error = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "k"),
            (SCHEDULE_GROUP_VAR, "g"),
            (SCHEDULE_ROLE_VAR, ROLE),
        ]))
        .err()
        .unwrap();
        assert_eq!(error, ConfigError::SchedulingWithoutLedger);
        assert!(error.to_string().starts_with(LEDGER_TABLE_VAR));
    }

    #[test]
    fn the_ledger_alone_is_accepted_and_a_table_name_outside_dynamodbs_rule_fails_init() {
        let config = with(LEDGER_TABLE_VAR, "ledger.v1_x-y").unwrap();
        assert_eq!(config.ledger_table.as_deref(), Some("ledger.v1_x-y"));
        assert_eq!(config.scheduling, None);
        for table in ["ab", "has space", "slash/y"] {
            assert_eq!(
                with(LEDGER_TABLE_VAR, table).err(),
                Some(ConfigError::InvalidLedgerTable),
                "{table}"
            );
        }
    }

    #[test]
    fn max_body_bytes_accepts_its_bounds() {
        for value in ["1", "6291456"] {
            let config = Config::from_lookup(lookup(&[
                (SIGNATURE_KEY_VAR, "k"),
                (MAX_BODY_BYTES_VAR, value),
            ]))
            .unwrap();
            assert_eq!(config.max_body_bytes.to_string(), value);
        }
    }

    #[test]
    fn max_body_bytes_rejects_values_outside_its_bounds() {
        for value in ["0", "6291457", "-1", "1MB", "1.5"] {
            let result = Config::from_lookup(lookup(&[
                (SIGNATURE_KEY_VAR, "k"),
                (MAX_BODY_BYTES_VAR, value),
            ]));
            assert_eq!(
                result.err(),
                Some(ConfigError::InvalidMaxBodyBytes),
                "{value}"
            );
        }
    }

    /// The message of the error `vars` stop init with, when they do.
    fn refusal(vars: &[(&str, &str)]) -> Option<String> {
        Config::from_lookup(lookup(vars))
            .err()
            .map(|e| e.to_string())
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/merge-deprovision-scheduler";
    const QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:merge-deprovision-dlq";

    #[test]
    fn an_unreadable_key_refresh_age_stops_init_even_with_the_key_in_the_environment() {
        for bad in ["-1", "abc", "86401"] {
            let message = refusal(&[(SIGNATURE_KEY_VAR, "k"), (KEY_REFRESH_SECONDS_VAR, bad)]);
            assert!(
                message
                    .as_deref()
                    .is_some_and(|m| m.starts_with(KEY_REFRESH_SECONDS_VAR)),
                "{bad}: {message:?}"
            );
        }
    }

    #[test]
    fn a_valid_key_refresh_age_with_the_key_in_the_environment_is_ignored_with_a_warning() {
        let config = with(KEY_REFRESH_SECONDS_VAR, "60").unwrap();
        assert!(matches!(config.keys, KeySource::Environment(_)));
        assert_eq!(config.ignored, vec![ConfigWarning::KeyRefreshWithoutSecret]);
        assert!(
            config.ignored[0]
                .to_string()
                .starts_with(KEY_REFRESH_SECONDS_VAR)
        );
        assert!(with(MAX_BODY_BYTES_VAR, "10").unwrap().ignored.is_empty());
    }

    #[test]
    fn a_previous_key_in_the_environment_beside_a_secret_stops_init_naming_both() {
        let message = refusal(&[
            (SIGNATURE_SECRET_VAR, "merge/webhook"),
            (PREVIOUS_SIGNATURE_KEY_VAR, "old"),
        ])
        .expect("refused");
        assert!(
            message.contains(PREVIOUS_SIGNATURE_KEY_VAR) && message.contains(SIGNATURE_SECRET_VAR),
            "{message}"
        );
    }

    #[test]
    fn a_dead_letter_queue_without_scheduling_stops_init_naming_it() {
        let message = refusal(&[(SIGNATURE_KEY_VAR, "k"), (SCHEDULE_DLQ_VAR, QUEUE)]);
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.starts_with(SCHEDULE_DLQ_VAR)),
            "{message:?}"
        );
    }

    #[test]
    fn the_schedule_role_must_be_an_iam_role_arn() {
        let scheduling = |role: &str| {
            let vars = [
                (SIGNATURE_KEY_VAR, "k"),
                (SCHEDULE_GROUP_VAR, "g"),
                (SCHEDULE_ROLE_VAR, role),
                (SCHEDULE_DLQ_VAR, QUEUE),
                (LEDGER_TABLE_VAR, "ledger"),
            ];
            Config::from_lookup(lookup(&vars)).map(|c| c.scheduling.unwrap().role_arn)
        };
        for good in [
            ROLE,
            "arn:aws-cn:iam::123456789012:role/service-role/scheduler",
            "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h",
        ] {
            assert_eq!(scheduling(good).as_deref(), Ok(good));
        }
        for bad in [
            "notanarn",
            "arn:aws:lambda:eu-west-1:123456789012:function:SchedulerInvokeRole",
            "arn:aws:iam::123456789012:user/scheduler",
            "arn:aws:iam::1:role/scheduler",
            "arn:aws:iam:eu-west-1:123456789012:role/scheduler",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/has space",
            "arn:gcp:iam::123456789012:role/scheduler",
        ] {
            let error = scheduling(bad).err();
            assert_eq!(error, Some(ConfigError::InvalidScheduleRole), "{bad}");
            assert!(error.unwrap().to_string().starts_with(SCHEDULE_ROLE_VAR));
        }
    }

    #[test]
    fn the_dead_letter_queue_must_be_an_sqs_queue_arn() {
        let dead_letter = |queue: &str| {
            let vars = [
                (SIGNATURE_KEY_VAR, "k"),
                (SCHEDULE_GROUP_VAR, "g"),
                (SCHEDULE_ROLE_VAR, ROLE),
                (SCHEDULE_DLQ_VAR, queue),
                (LEDGER_TABLE_VAR, "ledger"),
            ];
            Config::from_lookup(lookup(&vars)).map(|c| c.scheduling.unwrap().dead_letter_arn)
        };
        assert_eq!(dead_letter(QUEUE), Ok(Some(QUEUE.to_owned())));
        for bad in [
            "notanarn",
            "arn:aws:sns:eu-west-1:123456789012:topic",
            "arn:aws:sqs:eu-west-1:12345:queue",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/queue",
        ] {
            assert_eq!(
                dead_letter(bad).err(),
                Some(ConfigError::InvalidScheduleDeadLetter),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_log_level_the_logger_cannot_read_stops_init_naming_the_variable() {
        for level in ["TRACE", "debug", "INFO", "Warn", "ERROR", "off"] {
            assert!(with(LOG_LEVEL_VAR, level).is_ok(), "{level}");
        }
        // FATAL is one of Lambda's levels, but the logger has no such level and would
        // fall back to INFO; an empty value it would read as ERROR.
        for level in ["LOUD", "FATAL", "", " info", "info,hyper=warn"] {
            let message = refusal(&[(SIGNATURE_KEY_VAR, "k"), (LOG_LEVEL_VAR, level)]);
            assert!(
                message
                    .as_deref()
                    .is_some_and(|m| m.starts_with(LOG_LEVEL_VAR)),
                "{level:?}: {message:?}"
            );
        }
    }

    #[test]
    fn every_level_this_function_accepts_is_one_the_logger_honours() {
        use crate::lambda::logging::LogSettings;
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"] {
            let settings =
                LogSettings::from_lookup(|name| (name == LOG_LEVEL_VAR).then(|| level.to_owned()));
            assert_eq!(
                settings.level.to_string().to_ascii_uppercase(),
                level,
                "the logger reads {level} as itself"
            );
        }
    }

    #[test]
    fn deprovisioning_needs_the_ledger_and_defaults_to_a_dry_run_under_the_brake() {
        let without = with(SCIM_TARGETS_SECRET_VAR, "scim/targets").err();
        assert_eq!(without, Some(ConfigError::DeprovisioningWithoutLedger));
        let config = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "k"),
            (LEDGER_TABLE_VAR, "ledger"),
            (SCIM_TARGETS_SECRET_VAR, "scim/targets"),
        ]))
        .unwrap();
        let deprovisioning = config.deprovisioning.unwrap();
        assert_eq!(deprovisioning.mode, Mode::DryRun);
        assert_eq!(deprovisioning.max_per_hour, 25);
        assert!(config.ignored.is_empty());
    }

    #[test]
    fn a_bad_mode_or_limit_fails_init_and_unused_settings_are_said() {
        assert_eq!(
            with(DEPROVISION_MODE_VAR, "yes").err(),
            Some(ConfigError::InvalidDeprovisionMode)
        );
        for limit in ["0", "-1", "many", "100001"] {
            assert_eq!(
                with(DEPROVISION_MAX_PER_HOUR_VAR, limit).err(),
                Some(ConfigError::InvalidDeprovisionLimit)
            );
        }
        let config = with(DEPROVISION_MODE_VAR, "enforce").unwrap();
        assert_eq!(config.ignored, [ConfigWarning::DeprovisionWithoutTargets]);
    }
}
