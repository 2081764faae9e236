use super::attempt::{Attempt, Brake, Located, Searched, locate};
use super::work::{
    End, Noted, Owed, Progress, Read, Recorded, Run, Standing, Still, ending, owed, read_entry,
    still_due,
};
use super::*;
use crate::app::settle::Effects;
use crate::aws::memory::{MemoryDeprovisionStore, MemoryLedger, MemorySecrets};
use crate::domain::decision::Decision;
use crate::domain::deprovision::{Pass, Target, brake_window, with_outcome};
use crate::domain::ledger::{Identity, Observation, Source, transition};
use crate::scim::memory::{Change, MemoryScim};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CRM: &str = "https://crm.example.com/scim/v2";
const TOKEN: &str = "TOKEN-chat";
const CRM_TOKEN: &str = "TOKEN-crm";
const SECRET: &str = "scim-targets";
const EMAIL: &str = "greg@merge.dev";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const EMPLOYEE: &str = "0958cbc6-6040-430a-848e-aafacbadf4ae";

fn now() -> DateTime<Utc> {
    "2026-11-26T05:00:00Z".parse().unwrap()
}

fn key() -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), EMPLOYEE)
}

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        service: "merge-deprovision",
        ..RequestFacts::default()
    }
}

fn budget() -> Budget {
    Budget::of(Duration::from_secs(10))
}

/// The leaver's entry as the ledger holds it, with `decision` and (maybe) a work e-mail.
fn entry(decision: Decision, email: Option<&str>) -> Entry {
    let observation = Observation {
        key: key(),
        decision,
        reasons: String::new(),
        termination_date: Some(now() - TimeDelta::days(1)),
        effective_at: Some(now() - TimeDelta::days(1)),
        effective_rule: None,
        version: None,
        removal: false,
        identity: Identity {
            work_email: email.map(str::to_owned),
            ..Identity::default()
        },
        source: Source::Webhook,
        delivery_id: None,
    };
    transition(None, &observation, now()).write.unwrap()
}

fn terminated() -> Entry {
    entry(Decision::Terminated, Some(EMAIL))
}

/// A deprovisioner over in-memory twins, and the twins.
struct Twins {
    deprovisioner: Deprovisioner,
    effects: Effects,
    ledger: Arc<MemoryLedger>,
    scim: MemoryScim,
    store: Arc<MemoryDeprovisionStore>,
    key: EmployeeKey,
}

/// `chat` (and `crm` when `both`) with `action`, enforcing, `max_per_hour` changes.
async fn twins(action: &str, both: bool, max_per_hour: u32) -> Twins {
    let mut targets = vec![serde_json::json!(
        {"name": "chat", "base_url": CHAT, "token": TOKEN, "action": action}
    )];
    if both {
        targets.push(serde_json::json!(
            {"name": "crm", "base_url": CRM, "token": CRM_TOKEN, "action": action}
        ));
    }
    let text = serde_json::json!({ "targets": targets }).to_string();
    let scim = MemoryScim::new();
    scim.serve(CHAT, TOKEN);
    scim.serve(CRM, CRM_TOKEN);
    let ledger = Arc::new(MemoryLedger::new());
    let store = Arc::new(MemoryDeprovisionStore::new());
    let config = DeprovisionConfig {
        secret_id: SECRET.to_owned(),
        refresh_after: None,
        mode: Mode::Enforce,
        max_per_hour,
    };
    let deprovisioner = Deprovisioner::load(
        &config,
        Arc::new(MemorySecrets::with(SECRET, &text)),
        Arc::new(scim.clone()),
        store.clone(),
        now(),
    )
    .await
    .expect("the targets read");
    Twins {
        deprovisioner,
        effects: Effects {
            note_terminations: false,
            baselines: Default::default(),
            ledger: ledger.clone(),
            timers: None,
        },
        ledger,
        scim,
        store,
        key: key(),
    }
}

impl Twins {
    async fn work(&self, pass: Pass) -> (Worked, Vec<String>) {
        let facts = facts();
        self.deprovisioner
            .work(&self.effects, &key(), pass, &facts, &budget(), now())
            .await
    }

    fn run<'a>(&'a self, facts: &'a RequestFacts<'a>, budget: &'a Budget) -> Run<'a> {
        Run {
            effects: &self.effects,
            key: &self.key,
            pass: Pass::Termination,
            by: None,
            facts,
            budget,
            now: now(),
        }
    }

    fn target(&self, index: usize) -> Target {
        self.deprovisioner.targets.cached().0[index].clone()
    }

    /// The first target's attempt for `leaver` in `pass`.
    async fn attempt(&self, leaver: &Entry, pass: Pass) -> Attempt {
        let target = self.target(0);
        self.deprovisioner
            .attempt(&target, leaver, pass, &budget(), now())
            .await
    }

    fn outcome(&self, target: &str) -> Option<Outcome> {
        self.ledger.entries()[&key()]
            .deprovisioning
            .get(target)
            .map(|d| d.outcome)
    }
}

// The driver over one employee.

#[tokio::test(flavor = "current_thread")]
async fn a_leaver_is_deactivated_and_the_work_ends_settled_with_its_note_taken_off() {
    let t = twins("deactivate", false, 10).await;
    let leaver = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked.done.len(), 1);
    assert_eq!(worked.done[0].outcome, Outcome::Deactivated);
    assert!(!worked.waiting && worked.ledger_error.is_none() && !worked.retry());
    assert_eq!(lines.len(), 1);
    assert_eq!(t.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(t.outcome("chat"), Some(Outcome::Deactivated));
    assert!(t.store.waiting_keys().is_empty(), "the note came off");
    let settled = Progress {
        done: Vec::new(),
        lines: Vec::new(),
        latest: t.ledger.entries()[&key()].clone(),
        ledger_error: None,
        obsolete: None,
    };
    let targets = t.deprovisioner.targets.cached();
    assert_eq!(ending(&settled, &targets), End::Settled);
}

#[tokio::test(flavor = "current_thread")]
async fn a_rehired_employee_is_no_longer_terminated_so_the_work_is_obsolete_and_calls_nobody() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let (facts, budget) = (facts(), budget());
    assert_eq!(
        read_entry(&t.run(&facts, &budget)).await,
        Read::NoLongerTerminated,
        "an employee the ledger does not hold"
    );
    t.ledger.insert(entry(Decision::Active, Some(EMAIL)));
    assert_eq!(
        read_entry(&t.run(&facts, &budget)).await,
        Read::NoLongerTerminated
    );
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked, Worked::default());
    assert!(lines.is_empty());
    assert!(t.scim.calls(CHAT).is_empty());
    assert!(t.store.waiting_keys().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn an_entry_the_ledger_cannot_read_fails_the_work_so_the_stream_retries() {
    let t = twins("deactivate", false, 10).await;
    t.ledger.insert(terminated());
    let (facts, budget) = (facts(), budget());
    t.ledger.fail_next([LedgerError::Unreachable]);
    assert_eq!(
        read_entry(&t.run(&facts, &budget)).await,
        Read::LedgerFailed(LedgerError::Unreachable)
    );
    t.ledger.fail_next([LedgerError::Unreachable]);
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked.ledger_error, Some(LedgerError::Unreachable));
    assert!(worked.retry() && worked.done.is_empty() && lines.is_empty());
    assert!(t.scim.calls(CHAT).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_termination_settled_in_every_target_owes_nothing_and_calls_nobody() {
    let t = twins("deactivate", false, 10).await;
    let settled = with_outcome(&terminated(), "chat", Outcome::Deactivated, now());
    t.ledger.insert(settled.clone());
    let targets = t.deprovisioner.targets.cached();
    assert!(matches!(
        owed(&settled, &targets, Pass::Termination, Mode::Enforce),
        Owed::Nothing
    ));
    assert!(matches!(
        owed(&terminated(), &targets, Pass::Termination, Mode::Enforce),
        Owed::Targets(owed) if owed.len() == 1 && owed[0].name == "chat"
    ));
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked, Worked::default());
    assert!(lines.is_empty());
    assert!(t.scim.calls(CHAT).is_empty());
    assert!(t.store.waiting_keys().is_empty(), "nothing was noted");
}

#[tokio::test(flavor = "current_thread")]
async fn a_note_that_cannot_be_made_fails_the_work_before_any_scim_call() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    let (facts, budget) = (facts(), budget());
    t.store.fail_next([LedgerError::Unreachable]);
    assert_eq!(
        t.deprovisioner.noting(&t.run(&facts, &budget)).await,
        Noted::Failed(LedgerError::Unreachable)
    );
    assert_eq!(
        t.deprovisioner.noting(&t.run(&facts, &budget)).await,
        Noted::Seen(1)
    );
    t.store.fail_next([LedgerError::Unreachable]);
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked.ledger_error, Some(LedgerError::Unreachable));
    assert!(worked.retry() && worked.done.is_empty() && lines.is_empty());
    assert!(t.scim.calls(CHAT).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_held_change_ends_still_waiting_and_keeps_its_note() {
    let t = twins("deactivate", false, 0).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    let (worked, lines) = t.work(Pass::Termination).await;
    assert_eq!(worked.done[0].outcome, Outcome::Held);
    assert!(worked.waiting && !worked.retry());
    assert_eq!(lines.len(), 1);
    assert!(t.scim.changes(CHAT).is_empty());
    assert_eq!(t.store.waiting_keys(), [key()]);
    let held = Progress {
        done: Vec::new(),
        lines: Vec::new(),
        latest: t.ledger.entries()[&key()].clone(),
        ledger_error: None,
        obsolete: None,
    };
    let targets = t.deprovisioner.targets.cached();
    assert_eq!(ending(&held, &targets), End::StillWaiting);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_change_ends_still_waiting_for_the_release() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    t.scim.script(CHAT, [None, Some(rejected())]);
    let (worked, _) = t.work(Pass::Termination).await;
    assert_eq!(worked.done[0].outcome, Outcome::Failed);
    assert_eq!(worked.done[0].error, Some(rejected()));
    assert!(worked.waiting, "a failure waits for the release");
    assert!(!worked.retry(), "no retry fixes a rejected call");
    assert_eq!(t.outcome("chat"), Some(Outcome::Failed));
    assert_eq!(t.store.waiting_keys(), [key()]);
}

#[test]
fn a_ledger_error_with_nothing_left_waiting_ends_on_the_ledger_error_and_keeps_the_note() {
    let targets = read_targets(&format!(
        r#"{{"targets": [{{"name": "chat", "base_url": "{CHAT}", "token": "t"}}]}}"#
    ))
    .unwrap();
    let progress = Progress {
        done: Vec::new(),
        lines: Vec::new(),
        latest: with_outcome(&terminated(), "chat", Outcome::Deactivated, now()),
        ledger_error: Some(LedgerError::Unreachable),
        obsolete: None,
    };
    assert_eq!(ending(&progress, &targets), End::LedgerFailed);
    let (worked, _) = progress.into_worked(End::LedgerFailed);
    assert!(!worked.waiting && worked.retry());
}

#[tokio::test(flavor = "current_thread")]
async fn an_outcome_that_cannot_be_written_keeps_the_leaver_listed_and_asks_for_a_retry() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    // The entry's read and the record's read answer; the record's write fails, and so
    // does the read that would find it landed after all.
    t.ledger.script([
        None,
        None,
        Some(LedgerError::Unreachable),
        Some(LedgerError::Unreachable),
    ]);
    let (worked, _) = t.work(Pass::Termination).await;
    assert_eq!(worked.ledger_error, Some(LedgerError::Unreachable));
    assert!(worked.retry());
    assert_eq!(
        t.store.waiting_keys(),
        [key()],
        "the note stays for the retry"
    );
    assert_eq!(t.outcome("chat"), None);
}

#[tokio::test(flavor = "current_thread")]
async fn an_outcome_is_not_recorded_over_a_rehire_and_a_ledger_failure_is_reported() {
    let t = twins("deactivate", false, 10).await;
    let worked_on = terminated();
    let mut rehired = worked_on.clone();
    rehired.decision = Decision::Active;
    t.ledger.insert(rehired);
    let (facts, budget) = (facts(), budget());
    let run = t.run(&facts, &budget);
    let record = |outcome| {
        t.deprovisioner
            .record(&run, &worked_on, "chat", outcome, (None, None))
    };
    assert!(matches!(
        record(Outcome::Deactivated).await,
        Recorded::Obsolete(Some(now_stands)) if now_stands.decision == Decision::Active
    ));
    t.ledger.insert(worked_on.clone());
    assert!(matches!(
        record(Outcome::Deactivated).await,
        Recorded::Written(entry) if entry.deprovisioning["chat"].outcome == Outcome::Deactivated
    ));
    t.ledger.fail_next([LedgerError::Unreachable]);
    assert_eq!(
        record(Outcome::Deactivated).await,
        Recorded::Failed(LedgerError::Unreachable)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_rehire_landing_while_the_first_target_is_worked_stops_the_second() {
    let t = twins("deactivate", true, 10).await;
    let chat_leaver = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.add(CRM, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    t.scim.slow(CHAT, Duration::from_millis(100));
    let rehire = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut rehired = terminated();
        rehired.decision = Decision::Active;
        t.ledger.insert(rehired);
    };
    let ((worked, _), ()) = tokio::join!(t.work(Pass::Termination), rehire);
    // The first target's change was under way when the rehire landed; the second is
    // never touched, and nothing waits for a release.
    assert_eq!(worked.done.len(), 1);
    assert_eq!(t.scim.changes(CHAT), [Change::Deactivated(chat_leaver)]);
    assert!(t.scim.changes(CRM).is_empty());
    assert!(!worked.waiting && worked.ledger_error.is_none());
    assert!(t.store.waiting_keys().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn the_entry_is_read_again_before_each_target_after_the_first() {
    let t = twins("deactivate", true, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.add(CRM, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    let (entry, run_facts, budget) = (terminated(), facts(), budget());
    let run = t.run(&run_facts, &budget);
    // HR corrects the address meanwhile: the next target searches for the new one.
    let mut corrected = terminated();
    corrected.identity.work_email = Some("greg.lastname@merge.dev".into());
    t.ledger.insert(corrected);
    let Still::Due(fresh) = still_due(&run, &entry).await else {
        panic!("the termination still stands");
    };
    assert_eq!(
        fresh.identity.work_email.as_deref(),
        Some("greg.lastname@merge.dev")
    );
    let mut rehired = terminated();
    rehired.decision = Decision::Active;
    t.ledger.insert(rehired);
    assert_eq!(
        still_due(&run, &entry).await,
        Still::Obsolete(Standing::NotTerminated)
    );
    let mut again = terminated();
    again.terminated_at = Some(now() + TimeDelta::hours(1));
    t.ledger.insert(again);
    assert_eq!(
        still_due(&run, &entry).await,
        Still::Obsolete(Standing::Terminated),
        "a second termination is not the one worked on"
    );
    t.ledger.fail_next([LedgerError::Throttled]);
    assert_eq!(
        still_due(&run, &entry).await,
        Still::Unknown(LedgerError::Throttled)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_termination_replaced_while_it_is_worked_leaves_the_new_ones_note_in_place() {
    use crate::aws::deprovisioning::DeprovisionStore;
    let t = twins("deactivate", true, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.add(CRM, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    // The note of a second termination whose move landed between this work's read of
    // the entry and its own note: the count this work sees includes it.
    t.store.wait(&key()).await.unwrap();
    t.scim.slow(CHAT, Duration::from_millis(100));
    let replace = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut again = terminated();
        again.terminated_at = Some(now() + TimeDelta::hours(1));
        t.ledger.insert(again);
    };
    let ((worked, _), ()) = tokio::join!(t.work(Pass::Termination), replace);
    assert!(!worked.waiting && worked.ledger_error.is_none());
    assert!(
        t.scim.changes(CRM).is_empty(),
        "the old termination stops there"
    );
    assert_eq!(
        t.store.waiting_keys(),
        [key()],
        "the new termination stays listed"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_ledger_that_cannot_be_read_between_targets_stops_the_work_for_a_retry() {
    let t = twins("deactivate", true, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.add(CRM, EMAIL, &[EMAIL], None, true);
    t.ledger.insert(terminated());
    // The entry's read, the first target's record (a read and a write), then the read
    // before the second fails.
    t.ledger
        .script([None, None, None, Some(LedgerError::Throttled)]);
    let (worked, _) = t.work(Pass::Termination).await;
    assert_eq!(worked.done.len(), 1);
    assert!(t.scim.changes(CRM).is_empty());
    assert_eq!(worked.ledger_error, Some(LedgerError::Throttled));
    assert!(worked.retry(), "the stream delivers it again");
    assert_eq!(t.store.waiting_keys(), [key()], "and the note stays");
}

// One target's steps.

#[tokio::test(flavor = "current_thread")]
async fn a_rule_without_a_value_for_the_leaver_locates_nobody_and_calls_nothing() {
    let t = twins("deactivate", false, 10).await;
    let nameless = entry(Decision::Terminated, None);
    assert!(matches!(locate(&t.target(0), &nameless), Located::NoValue));
    let attempt = t.attempt(&nameless, Pass::Termination).await;
    assert_eq!(attempt.outcome, Outcome::NotFound);
    assert!(!attempt.not_matching && attempt.error.is_none());
    assert!(t.scim.calls(CHAT).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_leaver_with_a_value_is_located_at_the_targets_endpoint_by_its_filter() {
    let t = twins("deactivate", false, 10).await;
    let leaver = terminated();
    let Located::At(search) = locate(&t.target(0), &leaver) else {
        panic!("the leaver has a work e-mail");
    };
    assert_eq!(search.endpoint.base.as_str(), CHAT);
    assert_eq!(search.filter, format!("userName eq \"{EMAIL}\""));
    assert_eq!(search.wanted, EMAIL);
}

#[tokio::test(flavor = "current_thread")]
async fn a_search_ends_with_a_user_to_change_nobody_someone_else_or_a_failure() {
    let t = twins("deactivate", false, 10).await;
    let leaver = terminated();
    let Located::At(search) = locate(&t.target(0), &leaver) else {
        panic!("the leaver has a work e-mail");
    };
    let searched = t.deprovisioner.search(&search, &budget()).await;
    assert_eq!(searched, Searched::Finished(Outcome::NotFound));
    t.scim.script(CHAT, [Some(rejected())]);
    let searched = t.deprovisioner.search(&search, &budget()).await;
    assert_eq!(searched, Searched::Failed(rejected()));
    t.scim.add(CHAT, "roman@merge.dev", &[], None, true);
    t.scim.ignore_filters(CHAT);
    let searched = t.deprovisioner.search(&search, &budget()).await;
    assert_eq!(searched, Searched::NotMatching);
    let attempt = t.attempt(&leaver, Pass::Termination).await;
    assert!(attempt.outcome == Outcome::NotFound && attempt.not_matching);
    let id = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let searched = t.deprovisioner.search(&search, &budget()).await;
    assert!(matches!(searched, Searched::Change(user) if user.id == id));
}

#[tokio::test(flavor = "current_thread")]
async fn the_brake_takes_a_slot_in_the_hours_window_then_holds_and_never_applies_to_a_release() {
    let t = twins("deactivate", false, 1).await;
    let b = budget();
    let brake = |pass| t.deprovisioner.brake(pass, &b, now());
    assert_eq!(brake(Pass::Release).await, Brake::NotApplied);
    assert_eq!(
        brake(Pass::Termination).await,
        Brake::Taken(brake_window(now()))
    );
    assert_eq!(brake(Pass::Termination).await, Brake::Held);
    assert_eq!(
        brake(Pass::Recheck).await,
        Brake::Held,
        "a recheck searches again on purpose, under the brake"
    );
    assert_eq!(brake(Pass::Release).await, Brake::NotApplied);
    t.store.fail_next([LedgerError::Unreachable]);
    assert_eq!(
        brake(Pass::Termination).await,
        Brake::Unreadable(LedgerError::Unreachable)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreadable_brake_changes_nothing_and_fails_for_a_retry() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.store.fail_next([LedgerError::Unreachable]);
    let attempt = t.attempt(&terminated(), Pass::Termination).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.brake_error, Some(LedgerError::Unreachable));
    assert!(attempt.error.is_none());
    assert_eq!(t.scim.calls(CHAT), ["GET"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_412_reads_the_user_again_and_deactivates_it_once_more() {
    let t = twins("deactivate", false, 10).await;
    let leaver = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim
        .script(CHAT, [None, Some(ScimError::PreconditionFailed)]);
    let attempt = t.attempt(&terminated(), Pass::Release).await;
    assert_eq!(attempt.outcome, Outcome::Deactivated);
    assert_eq!(t.scim.calls(CHAT), ["GET", "PATCH", "GET", "PATCH"]);
    assert_eq!(t.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_412_after_the_address_moved_to_a_successor_changes_nobody() {
    let t = twins("deactivate", false, 10).await;
    let leaver = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.slow(CHAT, Duration::from_millis(40));
    // While the PATCH is on its way, an administrator renames the leaver's account and
    // gives the address to the successor: the PATCH meets the changed version.
    let handover = async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        t.scim.rename(CHAT, &leaver, "greg.old@merge.dev");
        t.scim.add(CHAT, EMAIL, &[EMAIL], None, true)
    };
    t.scim
        .script(CHAT, [None, Some(ScimError::PreconditionFailed)]);
    let leaver_entry = terminated();
    let (attempt, successor) = tokio::join!(t.attempt(&leaver_entry, Pass::Release), handover);
    assert_eq!(attempt.outcome, Outcome::Ambiguous);
    assert!(
        t.scim.changes(CHAT).is_empty(),
        "neither account is changed"
    );
    assert!(t.scim.user(CHAT, &successor).unwrap().active);
    assert_eq!(t.scim.calls(CHAT), ["GET", "PATCH", "GET"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_second_412_fails_the_change() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let stale = Some(ScimError::PreconditionFailed);
    t.scim.script(CHAT, [None, stale.clone(), None, stale]);
    let attempt = t.attempt(&terminated(), Pass::Release).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.error, Some(ScimError::PreconditionFailed));
    assert_eq!(t.scim.calls(CHAT).len(), 4);
    assert!(t.scim.changes(CHAT).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_user_deleted_as_asked_is_deleted_and_one_gone_meanwhile_is_already_inactive() {
    let t = twins("delete", false, 10).await;
    let leaver = t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    t.scim.script(CHAT, [None, Some(ScimError::NotFound)]);
    let gone = t.attempt(&terminated(), Pass::Release).await;
    assert_eq!(gone.outcome, Outcome::AlreadyInactive);
    let deleted = t.attempt(&terminated(), Pass::Release).await;
    assert_eq!(deleted.outcome, Outcome::Deleted);
    assert_eq!(t.scim.changes(CHAT), [Change::Deleted(leaver)]);
}

#[tokio::test(flavor = "current_thread")]
async fn the_brakes_slot_goes_back_when_nothing_changed_and_stays_when_it_did() {
    let t = twins("deactivate", false, 10).await;
    t.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let window = brake_window(now());
    let leaver = terminated();
    let attempt = || t.attempt(&leaver, Pass::Termination);
    t.scim.script(CHAT, [None, Some(rejected())]);
    assert_eq!(attempt().await.outcome, Outcome::Failed);
    assert_eq!(
        t.store.taken(&window),
        0,
        "a failed change gives its slot back"
    );
    assert_eq!(attempt().await.outcome, Outcome::Deactivated);
    assert_eq!(t.store.taken(&window), 1, "a change keeps its slot");
    assert_eq!(attempt().await.outcome, Outcome::AlreadyInactive);
    assert_eq!(
        t.store.taken(&window),
        1,
        "nothing to change gives nothing back"
    );
}

fn rejected() -> ScimError {
    ScimError::Rejected {
        status: 400,
        scim_type: None,
    }
}

// The edge's helpers.

fn change(sequence: &str, new: Option<Decision>, old: Option<Decision>) -> StreamChange {
    let entry = |decision| {
        let observation = Observation {
            key: EmployeeKey::new(Some("acme"), sequence),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: None,
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, chrono::Utc::now())
            .write
            .unwrap()
    };
    StreamChange {
        sequence_number: sequence.to_owned(),
        key: Some(EmployeeKey::new(Some("acme"), sequence)),
        old: old.map(entry),
        new: new.map(entry),
    }
}

#[test]
fn a_batch_works_moves_into_terminated_and_images_it_cannot_read() {
    let changes = [
        change("1", Some(Decision::Terminated), None),
        change("2", Some(Decision::Terminated), Some(Decision::Terminated)),
        change("3", Some(Decision::Active), Some(Decision::Terminated)),
        change("4", None, Some(Decision::Active)),
    ];
    let keys: Vec<String> = stream_work(&changes).into_iter().map(|(s, _)| s).collect();
    assert_eq!(keys, ["1", "4"]);
}

#[test]
fn a_targets_secret_with_plain_http_to_a_remote_host_is_refused_naming_the_target() {
    let text = r#"{"targets": [{"name": "wiki", "base_url": "http://wiki.example.com/scim", "token": "t"}]}"#;
    let problem = read_targets(text).err().unwrap();
    assert!(
        problem.starts_with("target 1 (wiki): `base_url` must be https://"),
        "{problem}"
    );
    let loopback =
        r#"{"targets": [{"name": "wiki", "base_url": "http://127.0.0.1:8765/v2", "token": "t"}]}"#;
    assert!(read_targets(loopback).is_ok());
}
