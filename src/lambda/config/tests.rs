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
fn the_default_local_cutoff_is_midnight_utc_at_the_start_of_the_date() {
    let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
    assert_eq!(config.policy.local, LocalCutoff::default());
    assert_eq!(config.policy.local.zone_name(), "UTC");
    assert_eq!(config.policy.local.cutoff, Cutoff::StartOfDay);
}

#[test]
fn the_default_local_cutoff_is_configured_by_zone_and_cutoff() {
    let config = Config::from_lookup(lookup(&[
        (SIGNATURE_KEY_VAR, "k"),
        (TERMINATION_TIME_ZONE_VAR, " America/New_York "),
        (TERMINATION_CUTOFF_VAR, "End_Of_Day"),
        (TERMINATION_OFFSET_HOURS_VAR, "2"),
    ]))
    .unwrap();
    assert_eq!(config.policy.local.zone_name(), "America/New_York");
    assert_eq!(config.policy.local.cutoff, Cutoff::EndOfDay);
    // The offset keeps working on top.
    assert_eq!(config.policy.effective_offset, TimeDelta::hours(2));
}

#[test]
fn a_zone_or_cutoff_that_cannot_be_read_fails_init_naming_the_variable() {
    for zone in ["Melbourne", "Australia/Melburne", "+10:00", "EST5EDT6"] {
        let error = with(TERMINATION_TIME_ZONE_VAR, zone).err();
        assert_eq!(
            error,
            Some(ConfigError::InvalidTerminationTimeZone),
            "{zone}"
        );
        assert!(
            error
                .unwrap()
                .to_string()
                .starts_with(TERMINATION_TIME_ZONE_VAR)
        );
    }
    let error = with(TERMINATION_CUTOFF_VAR, "midnight").err();
    assert_eq!(error, Some(ConfigError::InvalidTerminationCutoff));
    assert!(
        error
            .unwrap()
            .to_string()
            .starts_with(TERMINATION_CUTOFF_VAR)
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
    let config = Config::from_lookup(lookup(&[(SIGNATURE_SECRET_VAR, "merge/webhook")])).unwrap();
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

#[test]
fn the_access_removal_sla_is_a_day_unless_set() {
    let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
    assert_eq!(config.access_removal_sla, TimeDelta::hours(24));
}

#[test]
fn the_access_removal_sla_reads_seconds_minutes_hours_and_days_in_any_case() {
    for (text, expected) in [
        ("24h", TimeDelta::hours(24)),
        ("90m", TimeDelta::minutes(90)),
        ("1d", TimeDelta::days(1)),
        ("3600", TimeDelta::hours(1)),
        ("45s", TimeDelta::seconds(45)),
        ("8H", TimeDelta::hours(8)),
        (" 2d ", TimeDelta::days(2)),
        ("365d", TimeDelta::days(365)),
        ("1", TimeDelta::seconds(1)),
    ] {
        let config = with(ACCESS_REMOVAL_SLA_VAR, text).unwrap();
        assert_eq!(config.access_removal_sla, expected, "{text:?}");
    }
}

#[test]
fn an_access_removal_sla_that_is_no_duration_stops_init_naming_the_variable() {
    for text in [
        "0",
        "0h",
        "-1h",
        "+1h",
        "1.5h",
        "1h30m",
        "24 h",
        "h",
        "24x",
        "1w",
        "366d",
        "99999999999999999999",
        "9223372036854775807d",
    ] {
        assert_eq!(
            with(ACCESS_REMOVAL_SLA_VAR, text).err(),
            Some(ConfigError::InvalidAccessRemovalSla),
            "{text:?}"
        );
    }
    let message = ConfigError::InvalidAccessRemovalSla.to_string();
    assert!(message.starts_with(ACCESS_REMOVAL_SLA_VAR), "{message}");
    assert!(message.contains("24h"), "{message}");
}
