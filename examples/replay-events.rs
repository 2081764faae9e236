//! Runs every sample event in `events/` through the function's real handler, in one
//! process, and checks each answer against `events/manifest.json`.
//!
//! The handler runs with the employee ledger and timers on, over in-memory twins of
//! DynamoDB and EventBridge Scheduler, so the output shows what the ledger did with each
//! delivery: a repeated `terminated` delivery is recognised, and the timer of the
//! scheduled sample terminates the employee when it fires. The replay fires it at its
//! time: the timer samples are answered as of their `effective_at`, the others now.
//!
//! Then it sweeps the samples' linked account once, as reconciliation does, from a fake of
//! Merge's API on loopback (the one the tests use), into the same ledger: the employees
//! the samples already told it about change nothing, and the leaver whose webhook never
//! came is found.
//!
//! `cargo run --example replay-events [-- --verbose]`. Each request gets a Lambda
//! invocation context and the runtime's span, as in Lambda. The policy variables
//! (`TERMINATION_OFFSET_HOURS`, `INACTIVE_WITHOUT_DATE`, `MAX_BODY_BYTES`) are read from
//! the environment, as the function reads them, and printed first; the manifest expects
//! the defaults. No other variable is read: the key is the local test key, and the
//! ledger and timers are the twins. `--verbose` also prints each log record and metrics
//! line (`AWS_LAMBDA_LOG_FORMAT=JSON` makes the records the JSON objects CloudWatch
//! receives). Exits non-zero if any answer differs.
//!
//! SCIM deprovisioning is on too, enforcing, into an in-memory SCIM target (`app`) that
//! holds the sample employee and a colleague: each move into `terminated` is handed to
//! the handler as the ledger's stream record, as Lambda's event source mapping does, and
//! the line under it says what deprovisioning did; the end shows who is still active.

use chrono::{DateTime, Utc};
use lambda_http::RequestExt;
use lambda_http::lambda_runtime::layers::trace::request_span;
use merge_deprovision::app::baseline::Baselines;
use merge_deprovision::app::deprovision::Deprovisioner;
use merge_deprovision::app::settle::{Effects, Timers};
use merge_deprovision::aws::ledger::Ledger;
use merge_deprovision::aws::memory::{
    MemoryDeprovisionStore, MemoryLedger, MemorySchedules, MemorySecrets,
};
use merge_deprovision::domain::baseline::{Baseline, SetBy};
use merge_deprovision::domain::dates::{parse_hr_date, to_rfc3339};
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::deprovision::Mode;
use merge_deprovision::lambda::config::DeprovisionConfig;
use merge_deprovision::lambda::config::{
    Config, INACTIVE_WITHOUT_DATE_VAR, MAX_BODY_BYTES_VAR, SIGNATURE_KEY_VAR,
    TERMINATION_OFFSET_HOURS_VAR,
};
use merge_deprovision::lambda::{handler, logging, state};
use merge_deprovision::scim::memory::MemoryScim;
use merge_deprovision_samples::{
    LOCAL_TEST_KEY, MANIFEST_FILE, lambda_context, read_manifest, ready,
};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[path = "../tests/support/fake_merge.rs"]
mod fake_merge;

/// The samples' linked account.
const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

/// The variables the replay reads from the environment.
const POLICY_VARS: [&str; 3] = [
    TERMINATION_OFFSET_HOURS_VAR,
    INACTIVE_WITHOUT_DATE_VAR,
    MAX_BODY_BYTES_VAR,
];

const USAGE: &str = "usage: cargo run --example replay-events [-- --verbose]";

fn main() -> ExitCode {
    let mut verbose = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--verbose" | "-v" => verbose = true,
            _ => {
                eprintln!("replay-events: unknown argument `{argument}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if verbose {
        logging::init();
    }
    let config = match Config::from_lookup(|name| {
        if name == SIGNATURE_KEY_VAR {
            Some(LOCAL_TEST_KEY.to_owned())
        } else if POLICY_VARS.contains(&name) {
            std::env::var(name).ok()
        } else {
            None
        }
    }) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration invalid: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    match replay(&config, verbose, &mut out) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        // Piped into `head`: the reader has what it wanted.
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("replay-events: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The policy in force, and where each value came from. An empty variable counts as
/// unset, as the function reads it.
fn print_policy(config: &Config, out: &mut impl Write) -> std::io::Result<()> {
    let origin = |var: &str| match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => "from the environment",
        _ => "default",
    };
    let hours = config.policy.effective_offset.num_hours();
    writeln!(out, "policy in force (the manifest expects the defaults):")?;
    for (var, value) in [
        (TERMINATION_OFFSET_HOURS_VAR, hours.to_string()),
        (
            INACTIVE_WITHOUT_DATE_VAR,
            config.policy.inactive.as_str().to_owned(),
        ),
        (MAX_BODY_BYTES_VAR, config.max_body_bytes.to_string()),
    ] {
        writeln!(out, "  {var}={value} ({})", origin(var))?;
    }
    writeln!(out)
}

/// When an event is answered: a timer at its time (Scheduler fires it then), anything
/// else now.
fn answered_at(event: &str, timer: bool) -> DateTime<Utc> {
    let effective_at = serde_json::from_str::<Value>(event)
        .ok()
        .and_then(|v| v["effective_at"].as_str().and_then(parse_hr_date));
    match effective_at {
        Some(at) if timer => at + chrono::TimeDelta::seconds(20),
        _ => Utc::now(),
    }
}

/// Replays every sample, printing one line each and what the ledger holds at the end;
/// returns the failures.
fn replay(
    config: &Config,
    verbose: bool,
    out: &mut impl Write,
) -> Result<usize, lambda_http::Error> {
    print_policy(config, out)?;
    writeln!(
        out,
        "ledger and timers: in memory (DynamoDB and EventBridge Scheduler twins)\n"
    )?;
    let ledger = Arc::new(MemoryLedger::new());
    // The samples' account was linked years ago (its employee was created in 2021), so
    // their past dates are current terminations whatever today's date: an operator's
    // baseline, as `merge-deprovision.baseline` sets one.
    let linked = Baseline {
        linked_account_id: ACCOUNT.to_owned(),
        at: parse_hr_date("2021-09-15T00:00:00Z").expect("a date"),
        set_by: SetBy::Operator,
    };
    ready(ledger.put_baseline(&linked, true))?;
    let schedules = Arc::new(MemorySchedules::new());
    let effects = Effects {
        note_terminations: false,
        baselines: Baselines::with_lookback(config.historical_lookback),
        ledger: ledger.clone(),
        timers: Some(Timers {
            schedules: schedules.clone(),
            role_arn: "arn:aws:iam::123456789012:role/merge-deprovision-scheduler".to_owned(),
            dead_letter_arn: None,
        }),
    };
    // One SCIM target in memory, holding the sample employee and a colleague.
    let scim = MemoryScim::new();
    scim.serve(SCIM_BASE, "replay-token");
    scim.add(SCIM_BASE, "greg@merge.dev", &["greg@merge.dev"], None, true);
    scim.add(
        SCIM_BASE,
        "roman@merge.dev",
        &["roman@merge.dev"],
        None,
        true,
    );
    scim.add(
        SCIM_BASE,
        "missed.leaver@example.com",
        &["missed.leaver@example.com"],
        None,
        true,
    );
    let targets = serde_json::json!({"targets": [
        {"name": "app", "base_url": SCIM_BASE, "token": "replay-token"}]});
    let deprovisioner = ready(Deprovisioner::load(
        &DeprovisionConfig {
            secret_id: "scim-targets".into(),
            refresh_after: None,
            mode: Mode::Enforce,
            max_per_hour: 25,
        },
        Arc::new(MemorySecrets::with("scim-targets", &targets.to_string())),
        Arc::new(scim.clone()),
        Arc::new(MemoryDeprovisionStore::in_table_of(&ledger)),
        Utc::now(),
    ))?;
    writeln!(
        out,
        "deprovisioning: enforce, into an in-memory SCIM target `app` at {SCIM_BASE}\n"
    )?;
    let app = state::App::with_effects(config, Some(effects)).with_deprovisioner(deprovisioner);
    let merge = fake_merge::FakeMerge::start();
    let app = app.with_reconciliation(reconciliation(&merge)?);
    merge.set_account("replay-account-token", account_in_merge());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let entries = read_manifest(&std::fs::read_to_string(dir.join(MANIFEST_FILE))?)?;
    // The samples' people are in Melbourne: the account's local cutoff, set as an
    // operator would, before any delivery.
    let mut failures = set_the_samples_cutoff(&app, &dir, out)?;
    let width = entries.iter().map(|e| e.file.len()).max().unwrap_or(0);
    writeln!(
        out,
        "{:<width$}  {:>6}  {:<18}  {:<10}  {:<44}  result",
        "event", "status", "answer", "ledger", "reasons"
    )?;

    for (n, entry) in entries.iter().enumerate() {
        let event = std::fs::read_to_string(dir.join(&entry.file))?;
        let context = lambda_context(&format!("replay-{:04}", n + 1), "merge-deprovision");
        let span = request_span(&context);
        if entry.needs_ledger {
            // Scheduler deletes a one-time schedule once it has fired it.
            let fired = schedules.schedules().into_iter().find(|(_, s)| {
                serde_json::to_value(&s.document).ok() == serde_json::from_str(&event).ok()
            });
            if let Some((name, _)) = fired {
                schedules.fire(&name);
            }
        }
        let now = answered_at(&event, entry.needs_ledger);
        let request = lambda_http::request::from_str(&event)?.with_lambda_context(context);
        let answered = span.in_scope(|| ready(handler::answer_event(&app, &request, now)))?;
        if let Some(metrics) = answered.metrics.as_deref().filter(|_| verbose) {
            writeln!(out, "{metrics}")?;
        }
        let status = answered.response.status().as_u16();
        let body = String::from_utf8_lossy(answered.response.body().as_ref()).into_owned();
        let check = entry.check(status, &body);
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
        let reasons = json
            .get("reasons")
            .and_then(Value::as_array)
            .map(|list| {
                let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                names.join(",")
            })
            .unwrap_or_default();
        writeln!(
            out,
            "{:<width$}  {status:>6}  {:<18}  {:<10}  {:<44}  {}",
            entry.file,
            text("decision").or(text("error")).unwrap_or_default(),
            text("ledger").unwrap_or_else(|| "-".to_owned()),
            reasons,
            if check.is_ok() { "ok" } else { "FAIL" }
        )?;
        if let Err(difference) = check {
            failures += 1;
            writeln!(out, "  {difference}")?;
        }
        deprovision(&app, &ledger, now, verbose, out)?;
    }
    failures += check_the_local_date(config, &ledger, out)?;
    failures += sweep_the_samples_account(&app, verbose, out)?;
    // The leaver the sweep found is deprovisioned like any other.
    deprovision(&app, &ledger, Utc::now(), verbose, out)?;
    writeln!(
        out,
        "\nwhat the ledger holds: {} employees, {} terminations, each announced once; {} \
         timers pending",
        ledger.entries().len(),
        ledger.moves_into_terminated(),
        schedules.schedules().len()
    )?;
    for entry in ledger.entries().values() {
        writeln!(
            out,
            "  {:<38}  {:<12}  terminated_at {:<22}  announced {}",
            entry.key.employee_id,
            entry.decision.as_str(),
            entry
                .terminated_at
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| "-".into()),
            entry.announced
        )?;
    }
    let users = scim.users(SCIM_BASE);
    writeln!(out, "\nthe SCIM target `app` afterwards:")?;
    for user in &users {
        writeln!(
            out,
            "  {:<26}  {}",
            user.user_name,
            if user.active { "active" } else { "inactive" }
        )?;
    }
    writeln!(
        out,
        "{} passed, {failures} failed",
        entries.len() - failures
    )?;
    Ok(failures)
}

/// Sends `events/cutoff/set.json` to the handler, as `aws lambda invoke` would, and
/// prints what it answered; returns the failures.
fn set_the_samples_cutoff(
    app: &state::App,
    dir: &Path,
    out: &mut impl Write,
) -> Result<usize, lambda_http::Error> {
    let document = std::fs::read_to_string(dir.join("cutoff/set.json"))?;
    let context = lambda_context("replay-cutoff", "merge-deprovision");
    let request = lambda_http::request::from_str(&document)?.with_lambda_context(context);
    let answered = ready(handler::answer_event(app, &request, Utc::now()))?;
    let status = answered.response.status().as_u16();
    let body: Value = serde_json::from_slice(answered.response.body().as_ref())?;
    let ok = status == 200 && body["source"] == "account";
    writeln!(
        out,
        "local cutoff of the samples' account (cutoff/set.json): {status} {} {}  {}\n",
        body["time_zone"].as_str().unwrap_or("-"),
        body["cutoff"].as_str().unwrap_or("-"),
        if ok { "ok" } else { "FAIL" }
    )?;
    Ok(usize::from(!ok))
}

/// Prints when the date-only termination of `employee-scheduled-local-date` takes
/// effect, as the ledger recorded it: the end of that day in Melbourne, plus any offset.
fn check_the_local_date(
    config: &Config,
    ledger: &MemoryLedger,
    out: &mut impl Write,
) -> Result<usize, lambda_http::Error> {
    use merge_deprovision::domain::cutoff::{Cutoff, LocalCutoff, parse_zone, takes_effect};
    use merge_deprovision_samples::{LOCAL_DATE, LOCAL_DATE_EMPLOYEE};
    let melbourne = LocalCutoff {
        zone: parse_zone("Australia/Melbourne").ok_or("the zone is known")?,
        cutoff: Cutoff::EndOfDay,
    };
    let date = chrono::NaiveDate::parse_from_str(LOCAL_DATE, "%Y-%m-%d")?;
    let expected = takes_effect(date, melbourne) + config.policy.effective_offset;
    let key =
        merge_deprovision::domain::ledger::EmployeeKey::new(Some(ACCOUNT), LOCAL_DATE_EMPLOYEE);
    let recorded = ledger.entries().get(&key).and_then(|e| e.effective_at);
    let ok = recorded == Some(expected);
    writeln!(
        out,
        "\nthe date-only termination {LOCAL_DATE} (employee-scheduled-local-date) takes effect \
         at {} in the ledger: the end of that day in Australia/Melbourne  {}",
        recorded.map_or_else(|| "-".to_owned(), to_rfc3339),
        if ok { "ok" } else { "FAIL" }
    )?;
    Ok(usize::from(!ok))
}

/// The in-memory SCIM target's base URL.
const SCIM_BASE: &str = "https://app.example.com/scim/v2";

/// Hands the ledger's stream since the last event to the handler, as the event source
/// mapping would (moves into `terminated` only), and prints each target's outcome.
fn deprovision(
    app: &state::App,
    ledger: &MemoryLedger,
    now: DateTime<Utc>,
    verbose: bool,
    out: &mut impl Write,
) -> Result<(), lambda_http::Error> {
    let moves: Vec<Value> = ledger
        .drain_stream()
        .iter()
        .filter(|(old, new)| {
            new.decision == Decision::Terminated
                && old
                    .as_ref()
                    .is_none_or(|o| o.decision != Decision::Terminated)
        })
        .enumerate()
        .map(|(n, (old, new))| {
            merge_deprovision::aws::stream::record_of(old.as_ref(), new, &n.to_string())
        })
        .collect();
    if moves.is_empty() {
        return Ok(());
    }
    let batch = serde_json::json!({ "Records": moves }).to_string();
    let context = lambda_context("replay-stream", "merge-deprovision");
    let request = lambda_http::request::from_str(&batch)?.with_lambda_context(context);
    let answered = ready(handler::answer_event(app, &request, now))?;
    if let Some(metrics) = answered.metrics.as_deref().filter(|_| verbose) {
        writeln!(out, "{metrics}")?;
    }
    for entry in ledger.entries().values() {
        for (target, done) in &entry.deprovisioning {
            if done.termination == entry.terminated_at && done.at == now {
                writeln!(
                    out,
                    "  -> ledger stream: {} deprovisioned in `{target}`: {}",
                    entry.key.employee_id,
                    done.outcome.as_str()
                )?;
            }
        }
    }
    Ok(())
}

/// What Merge holds for the samples' account: two of the samples' employees as the
/// samples left them, and a leaver whose webhook never came.
fn account_in_merge() -> Vec<Value> {
    let modified = "2026-11-26T04:12:09Z";
    let mut known = fake_merge::employee(1, modified);
    known["id"] = serde_json::json!("0958cbc6-6040-430a-848e-000000000003");
    let mut missed = fake_merge::employee(2, modified);
    missed["id"] = serde_json::json!("0958cbc6-6040-430a-848e-0000000000ff");
    missed["work_email"] = serde_json::json!("missed.leaver@example.com");
    missed["employment_status"] = serde_json::json!("INACTIVE");
    missed["termination_date"] = serde_json::json!("2026-11-24T00:00:00Z");
    vec![known, missed]
}

/// Reconciliation over the fake, with a secret held in memory.
fn reconciliation(
    merge: &fake_merge::FakeMerge,
) -> Result<merge_deprovision::app::sweep::Reconciliation, lambda_http::Error> {
    use merge_deprovision::aws::memory::MemorySecrets;
    let secret = serde_json::json!({"api_key": fake_merge::API_KEY,
        "account_tokens": {ACCOUNT: "replay-account-token"}});
    let store = Arc::new(MemorySecrets::with("merge/api", &secret.to_string()));
    let secret = ready(merge_deprovision::app::cached_secret::CachedSecret::load(
        store,
        "merge/api",
        None,
        Utc::now(),
        merge_deprovision::domain::reconcile::parse_merge_secret,
    ))
    .map_err(|e| e.to_string())?;
    let base = merge_deprovision::net::base_url(&merge.base_url()).map_err(|e| e.to_string())?;
    Ok(merge_deprovision::app::sweep::Reconciliation {
        secret: secret.into(),
        pages: Arc::new(merge_deprovision::merge::client::MergeClient::new(
            merge_deprovision::net::client()?,
            &base,
        )),
        policy: Default::default(),
        page_limit: usize::MAX,
    })
}

/// Sweeps the samples' account once and prints what the sweep found; returns 1 if it
/// did not find exactly the missed leaver.
fn sweep_the_samples_account(
    app: &state::App,
    verbose: bool,
    out: &mut impl Write,
) -> Result<usize, lambda_http::Error> {
    writeln!(
        out,
        "\nreconciliation: a sweep of the samples' linked account from a fake Merge API on loopback"
    )?;
    let document = serde_json::json!({"kind": "merge-deprovision.reconcile", "version": 1,
        "linked_account_id": ACCOUNT});
    let mut context = lambda_context("replay-sweep", "merge-deprovision");
    context.invoked_function_arn =
        "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision".to_owned();
    let span = request_span(&context);
    let request =
        lambda_http::request::from_str(&document.to_string())?.with_lambda_context(context);
    // The sweep calls the fake over loopback: a runtime with I/O.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answered =
        span.in_scope(|| runtime.block_on(handler::answer_event(app, &request, Utc::now())))?;
    if let Some(metrics) = answered.metrics.as_deref().filter(|_| verbose) {
        writeln!(out, "{metrics}")?;
    }
    let body: Value = serde_json::from_slice(answered.response.body().as_ref())?;
    let ok = body["reconciliation"] == "completed" && body["found"] == 1;
    writeln!(
        out,
        "  sweep {}: {} page, {} employees read, {} found that no webhook said  {}",
        body["reconciliation"].as_str().unwrap_or("?"),
        body["pages"],
        body["employees"],
        body["found"],
        if ok { "ok" } else { "FAIL" }
    )?;
    Ok(usize::from(!ok))
}
