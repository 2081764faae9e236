//! HTTP glue for the Lambda function URL: request in, domain call, effects, JSON
//! response out. Also the timers Scheduler fires, which `lambda_http` passes through as
//! requests with a `PassThrough` context that no function URL request can have.

use crate::app::budget::Budget;
use crate::app::deprovision::{Deprovisioner, stream_work, warn_rehire};
use crate::app::keys::{KeyRing, Keys, Refresh};
use crate::app::settle::{Effects, Marked, Settled, TimerOutcome, Timers, Unsettled};
use crate::app::sweep::{
    Reconciliation, Requested, SweepEnd, fan_out, request_sweep, sweep_account,
};
use crate::aws::deprovisioning::SdkDeprovisionStore;
use crate::aws::ledger::{Ledger, SdkLedger};
use crate::aws::scheduler::{ScheduleTarget, SchedulerError, Schedules, SdkSchedules};
use crate::aws::secrets::SecretSource;
use crate::aws::stream::{Change as StreamChange, read_stream};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::{Decision, Reason, Verdict};
use crate::domain::deprovision::{Pass, is_release};
use crate::domain::employee::{Employee, RawDate};
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::error::RequestError;
use crate::domain::ledger::{Change, Entry, Observation, announcement_due};
use crate::domain::reconcile::{
    ReconcileDocument, ReconcileInputError, is_sync_completed, parse_merge_secret, read_reconcile,
};
use crate::domain::schedule::{Fired, TIMER_KIND, read_fired, timer_name};
use crate::domain::signature::delivery_id;
use crate::domain::webhook::{Decided, Outcome, Receiver};
use crate::lambda::config::{Config, KeySource, SIGNATURE_SECRET_VAR};
use crate::lambda::config::{MERGE_API_BASE_URL_VAR, MERGE_API_SECRET_VAR};
use crate::merge::client::MergeClient;
use crate::merge::pages::MergeError;
use crate::scim::client::HttpScim;
use crate::telemetry::metrics::{InvocationMetrics, Properties, ScheduleEvent, emf_line};
use crate::telemetry::metrics::{SweepMetrics, sweep_emf_line};
use crate::telemetry::record::{
    ALREADY_TERMINATED_MESSAGE, EXPIRY_MESSAGE, LEDGER_FAILED_MESSAGE, REPLAY_MESSAGE,
    RequestFacts, SCHEDULING_FAILED_MESSAGE, STALE_MESSAGE, Severity, TERMINATED_MESSAGE,
    TIMER_OUTDATED_MESSAGE, TIMER_REFUSED_MESSAGE, decision_message, log_decision, log_fired_no_op,
    log_outcome, log_rejection, log_secret_refresh_failure, log_timer_failure, log_unknown_event,
};
use crate::telemetry::record::{
    SWEEP_BUSY_MESSAGE, SWEEP_COMPLETED_MESSAGE, SWEEP_FAILED_MESSAGE, SWEEP_FAN_OUT_MESSAGE,
    SWEEP_INVALID_MESSAGE, SWEEP_PAUSED_MESSAGE, SWEEP_REQUESTED_MESSAGE,
    SWEEP_UNAUTHORIZED_MESSAGE, SWEEP_UNKNOWN_ACCOUNT_MESSAGE, SweepFields, log_sweep,
};
use chrono::{DateTime, Utc};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, tracing};
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The header Merge signs deliveries with. Function URLs lower-case header names.
pub const SIGNATURE_HEADER: &str = "x-merge-webhook-signature";

#[derive(Serialize)]
struct DecisionBody<'a> {
    decision: &'static str,
    reasons: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    termination_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_at: Option<String>,
    /// What the ledger did, when it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

/// The function's state, built once at init: the receiver, the telemetry settings,
/// the effects (ledger and timers), and whether the process has served an invocation yet.
pub struct App {
    receiver: Receiver,
    keys: Keys,
    service: String,
    metrics_namespace: String,
    first_invocation: AtomicBool,
    effects: Option<Effects>,
    deprovisioner: Option<Deprovisioner>,
    reconciliation: Option<Reconciliation>,
}

impl App {
    /// Builds the function's state from validated configuration whose keys come from
    /// the environment, with the AWS SDK behind the ledger and timers when they are
    /// configured. No AWS client is built until one is needed.
    ///
    /// # Panics
    /// If the keys come from a secret, which must be read first: see [`App::load`].
    pub fn new(config: &Config) -> Self {
        Self::with_effects(config, sdk_effects(config))
    }

    /// As [`App::new`], with `effects` instead of the SDK (the in-memory twins, in tests
    /// and the replay example).
    ///
    /// # Panics
    /// If the keys come from a secret: see [`App::load`].
    pub fn with_effects(config: &Config, effects: Option<Effects>) -> Self {
        let verifier = config
            .environment_verifier()
            .expect("keys from a secret are read by App::load");
        Self::build(config, Keys::Fixed(Arc::new(verifier.clone())), effects)
    }

    /// Builds the function's state, reading the keys from their secret through `source`
    /// when they come from one. Fails with a message naming the variable and the AWS
    /// error code, never the value.
    pub async fn load(
        config: &Config,
        source: Arc<dyn SecretSource>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let keys = match &config.keys {
            KeySource::Environment(verifier) => Keys::Fixed(Arc::new((**verifier).clone())),
            KeySource::Secret { id, refresh_after } => Keys::Secret(
                KeyRing::load(source.clone(), id, *refresh_after, now)
                    .await
                    .map_err(|error| format!("{SIGNATURE_SECRET_VAR}: {error}"))?,
            ),
        };
        let mut app = Self::build(config, keys, sdk_effects(config));
        if let Some(reconcile) = &config.reconciliation {
            let mut parts = Vec::with_capacity(reconcile.secret_ids.len());
            for id in &reconcile.secret_ids {
                let part = crate::app::cached_secret::CachedSecret::load(
                    source.clone(),
                    id,
                    reconcile.refresh_after,
                    now,
                    parse_merge_secret,
                )
                .await
                .map_err(|error| format!("{MERGE_API_SECRET_VAR}: {error}"))?;
                parts.push(part);
            }
            let secret = crate::app::sweep::MergeSecrets::new(parts);
            let client = crate::net::client()
                .map_err(|error| format!("{MERGE_API_BASE_URL_VAR}: {error}"))?;
            app.reconciliation = Some(Reconciliation {
                secret,
                pages: Arc::new(MergeClient::new(client, &reconcile.base_url)),
                policy: config.policy,
                page_limit: usize::MAX,
            });
        }
        if let (Some(settings), Some(table)) = (&config.deprovisioning, &config.ledger_table) {
            let deprovisioner = Deprovisioner::load(
                settings,
                source,
                Arc::new(HttpScim::new()),
                Arc::new(SdkDeprovisionStore::new(table)),
                now,
            )
            .await?;
            app = app.with_deprovisioner(deprovisioner);
        }
        Ok(app)
    }

    /// This state, deprovisioning through `deprovisioner` (the in-memory twins, in tests
    /// and the replay example).
    pub fn with_deprovisioner(mut self, deprovisioner: Deprovisioner) -> Self {
        let mut deprovisioner = deprovisioner;
        deprovisioner.namespace = self.metrics_namespace.clone();
        self.deprovisioner = Some(deprovisioner);
        self
    }

    /// This state, reconciling through `reconciliation` (a fake Merge API and a fixed
    /// secret, in tests and the replay example).
    pub fn with_reconciliation(mut self, reconciliation: Reconciliation) -> Self {
        self.reconciliation = Some(reconciliation);
        self
    }

    fn build(config: &Config, keys: Keys, effects: Option<Effects>) -> Self {
        App {
            reconciliation: None,
            receiver: config.receiver(),
            keys,
            service: config.service.clone(),
            metrics_namespace: config.metrics_namespace.clone(),
            first_invocation: AtomicBool::new(true),
            effects,
            deprovisioner: None,
        }
    }
}

/// The ledger and timers `config` asks for, over `ledger` and `schedules`: none without
/// a ledger table, no timers without scheduling.
pub fn effects_over(
    config: &Config,
    ledger: Arc<dyn Ledger>,
    schedules: Arc<dyn Schedules>,
) -> Option<Effects> {
    config.ledger_table.as_ref()?;
    Some(Effects {
        ledger,
        timers: config.scheduling.as_ref().map(|s| Timers {
            schedules,
            role_arn: s.role_arn.clone(),
            dead_letter_arn: s.dead_letter_arn.clone(),
        }),
    })
}

/// The AWS SDK behind the ledger and timers, when they are configured.
fn sdk_effects(config: &Config) -> Option<Effects> {
    let table = config.ledger_table.as_ref()?;
    let group = config.scheduling.as_ref().map_or("", |s| s.group.as_str());
    effects_over(
        config,
        Arc::new(SdkLedger::new(table)),
        Arc::new(SdkSchedules::new(group)),
    )
}

/// The answer to one request, and the metrics line it contributes.
#[derive(Debug)]
pub struct Answered {
    /// The HTTP response.
    pub response: Response<Body>,
    /// One CloudWatch Embedded Metric Format object, for stdout; none for an expiry.
    pub metrics: Option<String>,
}

/// A fired event that fails the invocation, after its ERROR record: Lambda retries it,
/// then hands it to the on-failure destination.
#[derive(Debug, thiserror::Error)]
pub enum FiredError {
    /// Neither a function URL request nor a schedule input of this function.
    #[error("{0}")]
    Unknown(crate::domain::schedule::UnknownInput),
    /// A timer fired, but the ledger is not configured, so it cannot be checked.
    #[error("a timer fired but EMPLOYEE_LEDGER_TABLE is not set")]
    NoLedger,
    /// The ledger or Scheduler could not be reached in time.
    #[error("the timer could not be settled: {kind}")]
    Unsettled {
        /// The failure's kind, as records name it.
        kind: &'static str,
        /// The invocation's metrics line: no answer carries it.
        metrics: Option<String>,
    },
    /// A reconcile document this function cannot read, or reconciliation is off.
    #[error(
        "a reconcile document arrived that is invalid, or reconciliation is off: it needs \
         MERGE_API_SECRET_ID, EMPLOYEE_LEDGER_TABLE and the schedule group"
    )]
    Reconcile,
    /// The answer could not be serialised.
    #[error("the answer could not be serialised")]
    Serialise(#[from] serde_json::Error),
}

/// The function's handler: answers one function URL request, or one event Scheduler
/// fired, at the current time, and writes its metrics line to stdout.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let answered = match answer_event(app, &request, Utc::now()).await {
        Ok(answered) => answered,
        Err(error) => {
            // A failed firing still counts its failure.
            if let Some(fired) = error.downcast_ref::<FiredError>()
                && let FiredError::Unsettled {
                    metrics: Some(line),
                    ..
                } = fired
            {
                write_metrics(line);
            }
            return Err(error);
        }
    };
    if let Some(metrics) = &answered.metrics {
        write_metrics(metrics);
    }
    Ok(answered.response)
}

/// Answers one event at time `now`: a fired timer through [`respond_to_fired`],
/// anything else as a function URL request through [`respond`].
pub async fn answer_event(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, Error> {
    if is_fired_event(request) {
        let body: &[u8] = request.body().as_ref();
        if let Some(changes) = read_stream(body) {
            return Ok(respond_to_stream(app, request, &changes, now).await?);
        }
        if is_release(body) {
            return Ok(respond_to_release(app, request, now).await?);
        }
        match read_reconcile(body) {
            Err(ReconcileInputError::OtherKind) => Ok(respond_to_fired(app, request, now).await?),
            document => Ok(respond_to_reconcile(app, request, document, now).await?),
        }
    } else {
        Ok(respond(app, request, now).await?)
    }
}

/// True for an event that is not an HTTP request: `lambda_http` passes it through with
/// a `PassThrough` context, which a function URL request, whatever its headers or body,
/// never has.
pub fn is_fired_event(request: &Request) -> bool {
    matches!(
        request.request_context_ref(),
        Some(RequestContext::PassThrough)
    )
}

/// Writes a metrics line to stdout, where Lambda hands it to CloudWatch.
pub fn write_metrics(line: &str) {
    // A lost metrics line must not fail the webhook.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The invocation's budget, from the deadline in its Lambda context.
fn budget_of(request: &Request) -> Budget {
    Budget::until_deadline(request.lambda_context_ref().map_or(0, |c| c.deadline))
}

/// Where timers deliver: this function, whose ARN comes from the invocation (putting it
/// in the function's environment through the template would make the function depend
/// on itself).
fn target_of(app: &App, request: &Request) -> Option<ScheduleTarget> {
    let timers = app.effects.as_ref()?.timers.as_ref()?;
    let function_arn = request
        .lambda_context_ref()
        .map(|c| c.invoked_function_arn.as_str())
        .filter(|arn| !arn.is_empty())?;
    Some(ScheduleTarget {
        function_arn: function_arn.to_owned(),
        role_arn: timers.role_arn.clone(),
        dead_letter_arn: timers.dead_letter_arn.clone(),
    })
}

/// What the ledger made of a decided delivery.
enum Ledgered {
    /// The ledger is off, or the delivery names no employee to key an entry by.
    Off,
    /// Applied.
    Settled(Box<Settled>),
    /// Not applied: answered 503.
    Unsettled(Unsettled),
}

/// Answers one request at time `now`: writes its log record and returns the response
/// with its metrics line.
///
/// Fails only if the response cannot be serialised, which is a fault of this function,
/// not the caller's.
pub async fn respond(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let body: &[u8] = request.body().as_ref();
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .map(HeaderValue::as_bytes);
    let delivery_id = signature.filter(|s| !s.is_empty()).map(delivery_id);
    let mut facts = RequestFacts {
        source_ip: source_ip(request),
        delivery_id: delivery_id.as_deref(),
        ..invocation_facts(app, request)
    };
    // A read of the key's secret is an outside call like any other: bounded by the
    // budget, and when time runs out the cached keys verify.
    let timed_out = || Refresh::Failed("TimedOut".to_owned());
    let (verifier, aged) = budget
        .run(app.keys.current(now))
        .await
        .unwrap_or_else(|_| (app.keys.cached(), Some(timed_out())));
    let mut refreshes: Vec<Refresh> = aged.into_iter().collect();
    let mut result = if request.method() == Method::POST {
        app.receiver.receive(&verifier, body, signature, now)
    } else {
        Err(RequestError::MethodNotAllowed)
    };
    if result == Err(RequestError::InvalidSignature) {
        // Perhaps the key was rotated: read the secret again (at most once a minute)
        // and check once more under the new keys.
        let (changed, refresh) = budget
            .run(app.keys.after_mismatch(now))
            .await
            .unwrap_or_else(|_| (None, Some(timed_out())));
        if let Some(verifier) = changed {
            result = app.receiver.receive(&verifier, body, signature, now);
        }
        refreshes.extend(refresh);
    }
    let refresh_failed = refreshes.iter().any(|r| matches!(r, Refresh::Failed(_)));
    for refresh in &refreshes {
        if let Refresh::Failed(code) = refresh {
            log_secret_refresh_failure(code, &facts);
        }
    }
    if let Ok(Outcome::Ignored {
        event: Some(event),
        linked_account,
        ..
    }) = &result
        && is_sync_completed(event)
        && let (Some(reconciliation), Some(effects), Some(account)) = (
            &app.reconciliation,
            &app.effects,
            linked_account.id.as_deref(),
        )
    {
        return answer_sync_completed(
            app,
            request,
            (reconciliation, effects, account),
            facts,
            &result,
            refresh_failed,
            &budget,
            now,
        )
        .await;
    }
    let Ok(outcome @ Outcome::Decided(decided)) = &result else {
        return answer(app, &facts, &result, None, refresh_failed, now);
    };
    let ledgered =
        settle_delivery(app, request, decided, delivery_id.as_deref(), &budget, now).await;
    let settled = match ledgered {
        Ledgered::Off => return answer(app, &facts, &result, None, refresh_failed, now),
        Ledgered::Unsettled(failure) => {
            let (message, error, event) = match &failure {
                Unsettled::Ledger(e) => {
                    facts.ledger_error = Some(e.kind());
                    (LEDGER_FAILED_MESSAGE, RequestError::LedgerUnavailable, None)
                }
                Unsettled::Timer(e) => {
                    facts.schedule_error = Some(e.kind());
                    (
                        SCHEDULING_FAILED_MESSAGE,
                        RequestError::SchedulingUnavailable,
                        Some(ScheduleEvent::Failed),
                    )
                }
            };
            log_decision(Severity::Error, message, decided, &facts);
            let metrics = InvocationMetrics {
                schedule: event,
                ledger_failure: matches!(failure, Unsettled::Ledger(_)),
                secret_refresh_failure: refresh_failed,
                ..decided_metrics(decided, &facts)
            };
            let response = error_response(&error)?;
            return Ok(finish(app, &facts, response, &metrics, now));
        }
        Ledgered::Settled(settled) => settled,
    };
    let terminated_at = settled
        .entry
        .as_ref()
        .and_then(|e| e.terminated_at)
        .map(to_rfc3339);
    let name = (settled.timer != TimerOutcome::Untouched || settled.timer_error.is_some())
        .then(|| settled.entry.as_ref().map(|e| timer_name(&e.key)))
        .flatten();
    facts.ledger = Some(settled.change().as_str());
    facts.ledger_decision = settled.entry.as_ref().map(|e| e.decision.as_str());
    facts.terminated_at = terminated_at.as_deref();
    facts.schedule = timer_field(settled.timer);
    facts.schedule_name = name.as_deref();
    facts.schedule_error = settled.timer_error.as_ref().map(SchedulerError::kind);
    let refused = settled
        .timer_error
        .as_ref()
        .is_some_and(SchedulerError::is_permanent);
    // Only a delivery that says terminated writes a record owed since.
    let eligible = decided.verdict.decision == Decision::Terminated;
    let (moved, claimed) = announcement(app, &settled, eligible, &budget, now).await;
    let announce = moved || claimed == Marked::Claimed;
    let (severity, message) = if settled.needs_retry() {
        (Severity::Error, SCHEDULING_FAILED_MESSAGE)
    } else if refused
        && settled
            .entry
            .as_ref()
            .is_some_and(|e| e.decision == Decision::Scheduled)
    {
        (Severity::Error, TIMER_REFUSED_MESSAGE)
    } else if announce {
        (Severity::Warn, TERMINATED_MESSAGE)
    } else {
        ledger_message(decided, &settled)
    };
    log_decision(severity, message, decided, &facts);
    warn_rehire(settled.stored.as_ref(), settled.own(), &facts);
    let marked = if moved {
        mark(app, &settled, &budget, now).await
    } else {
        claimed
    };
    let metrics = InvocationMetrics {
        schedule: schedule_event(&settled),
        termination: announce,
        ledger_failure: marked == Marked::Failed,
        secret_refresh_failure: refresh_failed,
        ..decided_metrics(decided, &facts)
    };
    let response = if settled.needs_retry() {
        error_response(&RequestError::SchedulingUnavailable)?
    } else {
        let mut body = outcome_body(outcome);
        body.ledger = Some(settled.change().as_str());
        json_response(StatusCode::OK, &body)?
    };
    Ok(finish(app, &facts, response, &metrics, now))
}
/// The facts every record of an invocation carries: the Lambda context's keys, the
/// body's size, and whether this is the process's first invocation.
fn invocation_facts<'a>(app: &'a App, request: &'a Request) -> RequestFacts<'a> {
    let context = request.lambda_context_ref();
    RequestFacts {
        body_bytes: request.body().len(),
        cold_start: app.first_invocation.swap(false, Ordering::Relaxed),
        function_request_id: context.map(|c| c.request_id.as_str()),
        xray_trace_id: context.and_then(|c| c.xray_trace_id.as_deref()),
        function_name: context.map(|c| c.env_config.function_name.as_str()),
        function_memory_size: context.map(|c| c.env_config.memory),
        service: &app.service,
        ..RequestFacts::default()
    }
}

/// Applies a decided delivery to the ledger and its timer, when the ledger is on.
async fn settle_delivery(
    app: &App,
    request: &Request,
    decided: &Decided,
    delivery_id: Option<&str>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Ledgered {
    let Some(effects) = &app.effects else {
        return Ledgered::Off;
    };
    let Some(observation) = Observation::from_decided(decided, delivery_id) else {
        return Ledgered::Off;
    };
    let target = target_of(app, request);
    if effects.timers.is_some() && target.is_none() {
        // No ARN to point a timer at: only a hand-built invocation lacks one.
        return Ledgered::Unsettled(Unsettled::Timer(SchedulerError::Rejected(
            "NoFunctionArn".into(),
        )));
    }
    match effects
        .settle_observation(&observation, target.as_ref(), budget, now)
        .await
    {
        Ok(settled) => Ledgered::Settled(Box::new(settled)),
        Err(failure) => Ledgered::Unsettled(failure),
    }
}

/// How long after a move into `terminated` its record may be taken as lost: longer than
/// any invocation of the function runs, so the invocation that made the move is gone.
fn grace(budget: &Budget) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(budget.granted()).unwrap_or(chrono::TimeDelta::MAX)
        + chrono::TimeDelta::seconds(1)
}

/// Whether this invocation writes the `terminated` record: it made the move (and marks it
/// after writing the record), or, when `eligible`, it found a termination whose record
/// was lost (its writer died, or lost the ledger's answer) and can no longer be written
/// by that writer, and claimed it first, so that two finding it at once write it once.
async fn announcement(
    app: &App,
    settled: &Settled,
    eligible: bool,
    budget: &Budget,
    now: DateTime<Utc>,
) -> (bool, Marked) {
    let moved = settled.entered_terminated();
    let owed = !moved
        && eligible
        && settled
            .own()
            .is_some_and(|e| announcement_due(e, now, grace(budget)));
    let claimed = if owed {
        mark(app, settled, budget, now).await
    } else {
        Marked::Elsewhere
    };
    (moved, claimed)
}

/// Marks the termination this invocation wrote or found as announced.
async fn mark(app: &App, settled: &Settled, budget: &Budget, now: DateTime<Utc>) -> Marked {
    match (&app.effects, settled.own()) {
        (Some(effects), Some(entry)) => effects.mark_announced(entry, budget, now).await,
        _ => Marked::Elsewhere,
    }
}

/// The level and message of a settled delivery's record when it announces nothing: a
/// repeat of a known termination, or an older delivery, says so at INFO; anything else
/// speaks as its decision does.
fn ledger_message(decided: &Decided, settled: &Settled) -> (Severity, &'static str) {
    let holds = settled.entry.as_ref().map(|e| e.decision);
    match settled.change() {
        Change::Stale => (Severity::Info, STALE_MESSAGE),
        _ if decided.verdict.decision == Decision::Terminated
            && holds == Some(Decision::Terminated) =>
        {
            (Severity::Info, ALREADY_TERMINATED_MESSAGE)
        }
        Change::Unchanged if holds != Some(decided.verdict.decision) => {
            (Severity::Info, REPLAY_MESSAGE)
        }
        _ => decision_message(decided),
    }
}

/// The `schedule` field of a record.
fn timer_field(outcome: TimerOutcome) -> Option<&'static str> {
    (outcome != TimerOutcome::Untouched).then(|| outcome.as_str())
}

/// The timer change a settled invocation counts.
fn schedule_event(settled: &Settled) -> Option<ScheduleEvent> {
    if settled.timer_error.is_some() {
        return Some(ScheduleEvent::Failed);
    }
    match settled.timer {
        TimerOutcome::Created => Some(ScheduleEvent::Created),
        // Setting the same timer again on a repeat is not a move.
        TimerOutcome::Updated if settled.transition.write.is_some() => Some(ScheduleEvent::Updated),
        TimerOutcome::Cancelled => Some(ScheduleEvent::Cancelled),
        _ => None,
    }
}

/// The decision record's view of a ledger entry a timer terminated: the identity comes
/// from the ledger, since the timer carries none.
fn fired_decided(entry: &Entry, now: DateTime<Utc>) -> Decided {
    let identity = entry.identity.clone();
    Decided {
        event: TIMER_KIND.to_owned(),
        action: Action::Changed,
        employee: Employee {
            id: Some(entry.key.employee_id.clone()),
            remote_id: identity.remote_id,
            employee_number: identity.employee_number,
            username: identity.username,
            work_email: identity.work_email,
            display_full_name: identity.display_full_name,
            modified_at: entry.version.map(|v| RawDate::Text(to_rfc3339(v))),
            ..Employee::default()
        },
        linked_account: LinkedAccount {
            id: entry.key.linked_account().map(str::to_owned),
            integration_slug: identity.integration,
            end_user_organization_name: identity.end_user_organization_name,
        },
        verdict: Verdict {
            decision: Decision::Terminated,
            reasons: vec![Reason::TerminationDateReached],
            termination_date: entry.termination_date,
            effective_at: entry.effective_at,
        },
        key: None,
        // Negative when the timer fired before its time: an early firing must show.
        termination_lag: entry.effective_at.map(|effective| now - effective),
        sync_lag: None,
    }
}

/// Answers an event Scheduler fired. A timer the ledger still holds moves the employee
/// into `terminated` and writes the `terminated` record; an outdated one writes an INFO
/// record; one that cannot be settled, or an unknown event, fails the invocation after
/// an ERROR record.
pub async fn respond_to_fired(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let budget = budget_of(request);
    let mut facts = invocation_facts(app, request);
    let timer = match read_fired(request.body().as_ref()) {
        Ok(Fired::Timer(timer)) => timer,
        Ok(Fired::LegacyExpiry(key)) => {
            facts.schedule = Some("expired");
            log_fired_no_op(EXPIRY_MESSAGE, &key, &facts);
            return Ok(Answered {
                response: json_response(StatusCode::OK, &serde_json::json!({"expired": true}))?,
                metrics: None,
            });
        }
        Err(error) => {
            log_unknown_event(&error, &facts);
            return Err(FiredError::Unknown(error));
        }
    };
    let name = timer_name(&timer.key);
    facts.schedule = Some("fired");
    facts.schedule_name = Some(&name);
    let Some(effects) = &app.effects else {
        log_timer_failure(&timer.key, &facts);
        return Err(FiredError::NoLedger);
    };
    let target = target_of(app, request);
    let settled = match effects
        .settle_timer(&timer, target.as_ref(), &budget, now)
        .await
    {
        Ok(settled) => settled,
        Err(failure) => {
            match &failure {
                Unsettled::Ledger(e) => facts.ledger_error = Some(e.kind()),
                Unsettled::Timer(e) => facts.schedule_error = Some(e.kind()),
            }
            log_timer_failure(&timer.key, &facts);
            let metrics = InvocationMetrics {
                decision: "ignored",
                schedule: matches!(failure, Unsettled::Timer(_)).then_some(ScheduleEvent::Failed),
                ledger_failure: matches!(failure, Unsettled::Ledger(_)),
                ..base_metrics(&facts)
            };
            let metrics = json_response(StatusCode::SERVICE_UNAVAILABLE, &())
                .ok()
                .and_then(|response| finish(app, &facts, response, &metrics, now).metrics);
            return Err(FiredError::Unsettled {
                kind: failure.kind(),
                metrics,
            });
        }
    };
    let terminated_at = settled
        .entry
        .as_ref()
        .and_then(|e| e.terminated_at)
        .map(to_rfc3339);
    facts.ledger = Some(settled.change().as_str());
    facts.ledger_decision = settled.entry.as_ref().map(|e| e.decision.as_str());
    facts.terminated_at = terminated_at.as_deref();
    // Any firing for the employee writes a record owed since (the retry of one whose
    // first invocation made the move and died, among others).
    let (moved, claimed) = announcement(app, &settled, true, &budget, now).await;
    let announce = moved || claimed == Marked::Claimed;
    let body = if announce {
        serde_json::json!({"decision": Decision::Terminated.as_str(),
            "reasons": [Reason::TerminationDateReached.as_str()],
            "ledger": settled.change().as_str()})
    } else {
        serde_json::json!({"decision": "outdated", "reasons": [], "ledger": settled.change().as_str()})
    };
    let response = json_response(StatusCode::OK, &body)?;
    match (settled.own(), announce) {
        (Some(entry), true) => {
            let decided = fired_decided(entry, now);
            log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, &facts);
            let marked = if moved {
                mark(app, &settled, &budget, now).await
            } else {
                claimed
            };
            let metrics = InvocationMetrics {
                schedule: Some(ScheduleEvent::Fired),
                termination: true,
                ledger_failure: marked == Marked::Failed,
                ..decided_metrics(&decided, &facts)
            };
            Ok(finish(app, &facts, response, &metrics, now))
        }
        _ => {
            facts.schedule = timer_field(settled.timer).or(Some("fired"));
            log_fired_no_op(TIMER_OUTDATED_MESSAGE, &timer.key, &facts);
            let metrics = InvocationMetrics {
                decision: "ignored",
                ..base_metrics(&facts)
            };
            Ok(finish(app, &facts, response, &metrics, now))
        }
    }
}

/// The smallest share of the budget worth starting an employee's deprovisioning with:
/// below it, the record is handed back to the stream for a retry.
const MIN_WORK: std::time::Duration = std::time::Duration::from_secs(1);

/// Answers a batch of the ledger's stream: each move into `terminated` is deprovisioned
/// in its targets, in order. The answer names the records to deliver again
/// (`batchItemFailures`): one whose work failed for a reason a retry can fix, and every
/// record after one the budget left no time for.
pub async fn respond_to_stream(
    app: &App,
    request: &Request,
    changes: &[StreamChange],
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let mut failures: Vec<serde_json::Value> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    if let (Some(effects), Some(deprovisioner)) = (&app.effects, &app.deprovisioner) {
        for (sequence_number, key) in stream_work(changes) {
            if budget.left() < MIN_WORK {
                failures.push(serde_json::json!({"itemIdentifier": sequence_number}));
                continue;
            }
            let (worked, written) = deprovisioner
                .work(effects, &key, Pass::Termination, &facts, &budget, now)
                .await;
            lines.extend(written);
            // The work notes the leaver as waiting before its SCIM calls, and keeps the
            // note while anything is owed.
            if worked.retry() {
                failures.push(serde_json::json!({"itemIdentifier": sequence_number}));
            }
        }
    } else {
        tracing::warn!(
            records = changes.len(),
            "ledger stream batch received but deprovisioning is off: nothing done"
        );
    }
    let response = json_response(
        StatusCode::OK,
        &serde_json::json!({"batchItemFailures": failures}),
    )?;
    Ok(Answered {
        response,
        metrics: (!lines.is_empty()).then(|| lines.join("\n")),
    })
}

/// Answers `{"kind": "merge-deprovision.release-held", "version": 1}`: every employee
/// whose deprovisioning waits (held by the brake, failed, or a dry run's finding) is
/// worked again, past the brake; an employee with nothing left waiting is taken off the
/// list. What the budget did not reach stays listed for the next release. Refused in a
/// dry run, which would settle that work as `would_*`.
pub async fn respond_to_release(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (Some(effects), Some(deprovisioner)) = (&app.effects, &app.deprovisioner) else {
        let body = serde_json::json!({"error": "deprovisioning_off",
            "message": "SCIM_TARGETS_SECRET_ID is not set: nothing is held"});
        return Ok(Answered {
            response: json_response(StatusCode::OK, &body)?,
            metrics: None,
        });
    };
    if deprovisioner.mode() == crate::domain::deprovision::Mode::DryRun {
        // A release in a dry run would settle held and failed work, and the dry run's
        // findings, as `would_*`: everything stays listed until the mode is `enforce`.
        let body = serde_json::json!({"error": "dry_run",
            "message": "DEPROVISION_MODE is dry-run: nothing is released; switch to enforce, then release"});
        return Ok(Answered {
            response: json_response(StatusCode::CONFLICT, &body)?,
            metrics: None,
        });
    }
    let waiting = match deprovisioner.waiting(&budget).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                "held deprovisionings could not be listed"
            );
            let body = serde_json::json!({"error": "ledger_unavailable",
                "message": "the list of held deprovisionings could not be read; invoke again"});
            return Ok(Answered {
                response: json_response(StatusCode::SERVICE_UNAVAILABLE, &body)?,
                metrics: None,
            });
        }
    };
    let mut outcomes: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let (mut released, mut remaining) = (0usize, 0usize);
    let mut lines = Vec::new();
    for (key, seen) in &waiting {
        if budget.left() < MIN_WORK {
            remaining += 1;
            continue;
        }
        let (worked, written) = deprovisioner
            .work(effects, key, Pass::Release, &facts, &budget, now)
            .await;
        lines.extend(written);
        for done in &worked.done {
            *outcomes.entry(done.outcome.as_str()).or_default() += 1;
        }
        if worked.waiting || worked.ledger_error.is_some() {
            remaining += 1;
        } else if deprovisioner.unnote(key, *seen, &budget).await.is_ok() {
            released += 1;
        } else {
            remaining += 1;
        }
    }
    tracing::info!(released, remaining, "held deprovisionings released");
    let body =
        serde_json::json!({"released": released, "remaining": remaining, "outcomes": outcomes});
    Ok(Answered {
        response: json_response(StatusCode::OK, &body)?,
        metrics: (!lines.is_empty()).then(|| lines.join("\n")),
    })
}

/// Answers an invocation whose event could not be turned into a request (the adapter
/// gave up on its headers or body encoding): a 400, logged and counted like any other
/// refusal.
pub fn refuse_unreadable(app: &App, now: DateTime<Utc>) -> Result<Answered, serde_json::Error> {
    let facts = RequestFacts {
        cold_start: app.first_invocation.swap(false, Ordering::Relaxed),
        service: &app.service,
        ..RequestFacts::default()
    };
    answer(
        app,
        &facts,
        &Err(RequestError::UnreadableRequest),
        None,
        false,
        now,
    )
}

fn answer(
    app: &App,
    facts: &RequestFacts<'_>,
    result: &Result<Outcome, RequestError>,
    schedule: Option<ScheduleEvent>,
    secret_refresh_failure: bool,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let response = match result {
        Ok(outcome) => {
            log_outcome(outcome, facts);
            json_response(StatusCode::OK, &outcome_body(outcome))?
        }
        Err(error) => {
            log_rejection(error, status_of(error).as_u16(), facts);
            error_response(error)?
        }
    };
    let metrics = InvocationMetrics {
        schedule,
        secret_refresh_failure,
        ..outcome_metrics(&result.as_ref().map_err(|e| *e), facts)
    };
    Ok(finish(app, facts, response, &metrics, now))
}

/// The JSON `{"error", "message"}` answer to a failure, with `Allow` for a 405.
fn error_response(error: &RequestError) -> Result<Response<Body>, serde_json::Error> {
    let mut response = json_response(
        status_of(error),
        &ErrorBody {
            error: error.code(),
            message: error.to_string(),
        },
    )?;
    if *error == RequestError::MethodNotAllowed {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
    }
    Ok(response)
}

/// The answer with its metrics line.
fn finish(
    app: &App,
    facts: &RequestFacts<'_>,
    response: Response<Body>,
    metrics: &InvocationMetrics<'_>,
    now: DateTime<Utc>,
) -> Answered {
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: facts.delivery_id,
    };
    let metrics = emf_line(&app.metrics_namespace, metrics, properties, now);
    Answered {
        response,
        metrics: Some(metrics),
    }
}

fn outcome_metrics<'a>(
    result: &Result<&'a Outcome, RequestError>,
    facts: &RequestFacts<'_>,
) -> InvocationMetrics<'a> {
    match result {
        Ok(Outcome::Decided(d)) => decided_metrics(d, facts),
        Ok(Outcome::Ignored { linked_account, .. }) => InvocationMetrics {
            decision: "ignored",
            integration: linked_account.integration_slug.as_deref(),
            ..base_metrics(facts)
        },
        Err(error) => InvocationMetrics {
            signature_failure: matches!(
                error,
                RequestError::MissingSignature | RequestError::InvalidSignature
            ),
            ..base_metrics(facts)
        },
    }
}

/// The metrics of a decided delivery or a fired timer: by decision and integration,
/// with its lags.
fn decided_metrics<'a>(d: &'a Decided, facts: &RequestFacts<'_>) -> InvocationMetrics<'a> {
    InvocationMetrics {
        decision: d.verdict.decision.as_str(),
        integration: d.linked_account.integration_slug.as_deref(),
        termination_lag: d.termination_lag,
        sync_lag: d.sync_lag,
        ..base_metrics(facts)
    }
}

/// What every invocation counts: a rejection unless said otherwise, and the cold start.
fn base_metrics(facts: &RequestFacts<'_>) -> InvocationMetrics<'static> {
    InvocationMetrics {
        decision: "rejected",
        integration: None,
        signature_failure: false,
        cold_start: facts.cold_start,
        termination_lag: None,
        sync_lag: None,
        schedule: None,
        secret_refresh_failure: false,
        termination: false,
        ledger_failure: false,
    }
}

/// The status each failure maps to. All but two are the client's doing, so 4xx; a
/// ledger or schedule that could not be changed is ours, and a retry can fix it, so 503.
pub fn status_of(error: &RequestError) -> StatusCode {
    match error {
        RequestError::SchedulingUnavailable | RequestError::LedgerUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        RequestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        RequestError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        RequestError::MissingSignature | RequestError::InvalidSignature => StatusCode::UNAUTHORIZED,
        RequestError::UnreadableRequest
        | RequestError::MalformedJson { .. }
        | RequestError::NotAnObject
        | RequestError::InvalidEnvelope { .. }
        | RequestError::InvalidEmployee
        | RequestError::UnreadableEmployee { .. } => StatusCode::BAD_REQUEST,
    }
}

fn outcome_body(outcome: &Outcome) -> DecisionBody<'_> {
    match outcome {
        Outcome::Decided(d) => DecisionBody {
            decision: d.verdict.decision.as_str(),
            reasons: d.verdict.reasons.iter().map(|r| r.as_str()).collect(),
            employee_id: d.employee.id.as_deref(),
            termination_date: d.verdict.termination_date.map(to_rfc3339),
            effective_at: d.verdict.effective_at.map(to_rfc3339),
            ledger: None,
        },
        Outcome::Ignored { reason, .. } => DecisionBody {
            decision: "ignored",
            reasons: vec![reason.as_str()],
            employee_id: None,
            termination_date: None,
            effective_at: None,
            ledger: None,
        },
    }
}

fn json_response(
    status: StatusCode,
    body: &impl Serialize,
) -> Result<Response<Body>, serde_json::Error> {
    let mut response = Response::new(Body::Text(serde_json::to_string(body)?));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Answers a signed `LinkedAccount.sync_completed` (or `synced`) webhook when
/// reconciliation is on: a one-time schedule starts the account's sweep in its own
/// invocation, so the webhook is answered at once whatever the account's size. A
/// schedule already pending takes this request; an account the secret does not hold is
/// a WARN and a 200, with no call; a Scheduler failure is a 503, for Merge to retry.
#[allow(clippy::too_many_arguments)]
async fn answer_sync_completed(
    app: &App,
    request: &Request,
    (reconciliation, effects, account): (&Reconciliation, &Effects, &str),
    mut facts: RequestFacts<'_>,
    result: &Result<Outcome, RequestError>,
    refresh_failed: bool,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let target = target_of(app, request);
    let requested = match &target {
        Some(target) => request_sweep(reconciliation, effects, target, account, budget, now).await,
        None => Requested::Failed(SchedulerError::Rejected("NoFunctionArn".into())),
    };
    let mut fields = SweepFields {
        linked_account_id: Some(account),
        ..SweepFields::default()
    };
    let name;
    match &requested {
        Requested::UnknownAccount => {
            fields.outcome = "unknown_account";
            log_sweep(
                Severity::Warn,
                SWEEP_UNKNOWN_ACCOUNT_MESSAGE,
                &fields,
                &facts,
            );
        }
        Requested::Scheduled(scheduled) | Requested::Pending(scheduled) => {
            name = scheduled.clone();
            fields.outcome = if matches!(requested, Requested::Scheduled(_)) {
                "requested"
            } else {
                "pending"
            };
            facts.schedule_name = Some(&name);
            log_sweep(Severity::Info, SWEEP_REQUESTED_MESSAGE, &fields, &facts);
        }
        Requested::Failed(error) => {
            fields.outcome = "failed";
            fields.error = Some(error.kind());
            facts.schedule_error = Some(error.kind());
            log_sweep(Severity::Error, SWEEP_FAILED_MESSAGE, &fields, &facts);
            let metrics = InvocationMetrics {
                decision: "ignored",
                schedule: Some(ScheduleEvent::Failed),
                secret_refresh_failure: refresh_failed,
                ..base_metrics(&facts)
            };
            let response = error_response(&RequestError::SchedulingUnavailable)?;
            return Ok(finish(app, &facts, response, &metrics, now));
        }
    }
    let metrics = InvocationMetrics {
        secret_refresh_failure: refresh_failed,
        ..outcome_metrics(&result.as_ref().map_err(|e| *e), &facts)
    };
    let body = serde_json::json!({"decision": "ignored", "sweep": fields.outcome});
    let response = json_response(StatusCode::OK, &body)?;
    Ok(finish(app, &facts, response, &metrics, now))
}

/// Answers a reconcile document, a direct invocation (the recurring schedule, a sweep's
/// own schedule, or by hand): without an account it fans out one sweep per account in
/// the secret; with one, it sweeps that account as far as the budget allows. A document
/// of the reconcile kind that this function cannot read, or reconciliation off, fails
/// the invocation after an ERROR record.
pub async fn respond_to_reconcile(
    app: &App,
    request: &Request,
    document: Result<ReconcileDocument, ReconcileInputError>,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let started = std::time::Instant::now();
    let mut fields = SweepFields::default();
    let (Ok(document), Some(reconciliation), Some(effects)) =
        (document, &app.reconciliation, &app.effects)
    else {
        fields.outcome = "invalid";
        log_sweep(Severity::Error, SWEEP_INVALID_MESSAGE, &fields, &facts);
        return Err(FiredError::Reconcile);
    };
    let target = target_of(app, request);
    let mut metrics = SweepMetrics {
        cold_start: facts.cold_start,
        ..SweepMetrics::default()
    };
    let body = match (document.linked_account_id.as_deref(), &target) {
        (_, None) => {
            fields.outcome = "failed";
            fields.error = Some("no_function_arn");
            log_sweep(Severity::Error, SWEEP_FAILED_MESSAGE, &fields, &facts);
            metrics.failures = 1;
            serde_json::json!({"reconciliation": "failed"})
        }
        (None, Some(target)) => {
            let fanned = fan_out(
                reconciliation,
                effects,
                target,
                document.full,
                document.resume_after.as_deref(),
                &budget,
                now,
            )
            .await;
            fields.outcome = "fanned_out";
            fields.accounts = Some(fanned.scheduled + fanned.pending);
            fields.duration_ms = Some(elapsed_ms(started));
            if fanned.failed > 0 {
                fields.error = Some("some_accounts_not_scheduled");
                metrics.failures = 1;
                log_sweep(Severity::Error, SWEEP_FAN_OUT_MESSAGE, &fields, &facts);
            } else {
                log_sweep(Severity::Info, SWEEP_FAN_OUT_MESSAGE, &fields, &facts);
            }
            serde_json::json!({"reconciliation": "fanned_out",
                "scheduled": fanned.scheduled, "pending": fanned.pending,
                "continued": fanned.continued, "failed": fanned.failed})
        }
        (Some(account), Some(target)) => {
            let report = sweep_account(
                reconciliation,
                effects,
                Some(target),
                account,
                document.full,
                &facts,
                &budget,
                now,
            )
            .await;
            let watermark = report.watermark.map(to_rfc3339);
            let totals = &report.totals;
            fields = SweepFields {
                linked_account_id: Some(account),
                outcome: report.end.as_str(),
                pages: Some(totals.pages),
                employees: Some(totals.employees),
                terminated: Some(totals.terminated),
                scheduled: Some(totals.scheduled),
                active: Some(totals.active),
                undetermined: Some(totals.undetermined),
                requests: Some(totals.requests),
                rate_limited: Some(totals.rate_limited),
                duration_ms: Some(elapsed_ms(started)),
                watermark: watermark.as_deref(),
                ..SweepFields::default()
            };
            let (severity, message) = match &report.end {
                SweepEnd::Completed => (Severity::Info, SWEEP_COMPLETED_MESSAGE),
                SweepEnd::Paused => (Severity::Info, SWEEP_PAUSED_MESSAGE),
                SweepEnd::Busy => (Severity::Info, SWEEP_BUSY_MESSAGE),
                SweepEnd::UnknownAccount => (Severity::Warn, SWEEP_UNKNOWN_ACCOUNT_MESSAGE),
                SweepEnd::Unauthorized(status) => {
                    fields.status = Some(*status);
                    fields.error = Some("unauthorized");
                    (Severity::Error, SWEEP_UNAUTHORIZED_MESSAGE)
                }
                SweepEnd::MergeUnavailable(error) => {
                    fields.error = Some(error.kind());
                    (Severity::Warn, SWEEP_PAUSED_MESSAGE)
                }
                SweepEnd::MergeDown(error, _) => {
                    fields.error = Some(error.kind());
                    (Severity::Error, SWEEP_FAILED_MESSAGE)
                }
                SweepEnd::MergeRejected(error) => {
                    if let MergeError::Rejected(status) = error {
                        fields.status = Some(*status);
                    }
                    fields.error = Some(error.kind());
                    (Severity::Error, SWEEP_FAILED_MESSAGE)
                }
                SweepEnd::Ledger(error) => {
                    fields.error = Some(error.kind());
                    (Severity::Error, SWEEP_FAILED_MESSAGE)
                }
                SweepEnd::Scheduling(error) => {
                    fields.error = Some(error.kind());
                    (Severity::Error, SWEEP_FAILED_MESSAGE)
                }
            };
            log_sweep(severity, message, &fields, &facts);
            metrics.sweeps = u64::from(report.end == SweepEnd::Completed);
            metrics.found = report.found;
            metrics.terminations = report.terminations;
            metrics.failures = u64::from(report.end.is_failure());
            serde_json::json!({"reconciliation": report.end.as_str(),
                "linked_account_id": account, "found": report.found,
                "pages": totals.pages, "employees": totals.employees})
        }
    };
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: None,
    };
    Ok(Answered {
        response: json_response(StatusCode::OK, &body)?,
        metrics: sweep_emf_line(&app.metrics_namespace, &metrics, properties, now),
    })
}

fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
