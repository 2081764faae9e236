//! Never the wrong person: one property over a whole linked account, driven through the
//! real handler. Deliveries, sweeps (the first and later ones), a rehire under a new id
//! that reuses an address, a timer, the stream's redeliveries, releases, and ledger and
//! SCIM faults, in any order, deprovision exactly the leavers that are terminated, not
//! historical and not protected, at most once each, and change no live employee's
//! account. Who owns each SCIM account is the ground truth the outcome is checked on.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use merge_deprovision::aws::ledger::LedgerError;
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::deprovision::Outcome;
use merge_deprovision::domain::ledger::{EmployeeKey, Entry};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::scim::client::ScimError;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use support::fake_merge::FakeMerge;
use support::{
    DeprovisionApp, direct, employee_delivery, fired_event, now, stream_batch,
    sweeping_deprovision_app,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
/// The linked account every delivery comes from (the typical envelope's).
const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const MERGE_TOKEN: &str = "SENTINEL-ACCOUNT-TOKEN-1";
/// When every record not changed by a step was last changed in Merge.
const UNCHANGED_SINCE: &str = "2026-11-20T08:00:00Z";
/// The recent termination date: a week before the test's clock.
const RECENTLY: &str = "2026-11-20";
/// The old record's termination date: years before the ledger saw the account.
const YEARS_AGO: &str = "2023-03-31";
/// Minutes between steps: 17 is prime to 60, so no two changes of a case, each stamped
/// some whole hours before its step, share a `modified_at`.
const STEP_MINUTES: i64 = 17;

/// S's termination: two hours after the test's clock starts.
fn s_due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 14, 0, 0).unwrap()
}

/// Everyone in the linked account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// A leaver whose record goes back and forth between terminated and active.
    L,
    /// Given a termination date after the clock (or none), reached by a timer.
    S,
    /// An old record: terminated years ago under N's address, never active here.
    H,
    /// Active: a rehire under a new id, or a new hire given H's freed address.
    N,
    /// Active, in the ledger before anything else happens, under G's address.
    R,
    /// Terminated recently under R's address: only the identity check spares R.
    G,
    /// Terminated, but on the protected list.
    P,
    /// An active bystander.
    B,
}

const EVERYONE: [Who; 8] = [
    Who::L,
    Who::S,
    Who::H,
    Who::N,
    Who::R,
    Who::G,
    Who::P,
    Who::B,
];

impl Who {
    /// Ids in this order, the order a sweep reads them in: H before N.
    fn index(self) -> usize {
        EVERYONE.iter().position(|w| *w == self).unwrap() + 1
    }

    fn id(self) -> String {
        format!("00000000-0000-4000-8000-{:012}", self.index())
    }

    fn key(self) -> EmployeeKey {
        EmployeeKey::new(Some(ACCOUNT), &self.id())
    }

    fn email(self) -> &'static str {
        match self {
            Who::L => "leaver@example.com",
            Who::S => "s@example.com",
            Who::H | Who::N => "alex@example.com",
            Who::R | Who::G => "sam@example.com",
            Who::P => "boss@example.com",
            Who::B => "bob@example.com",
        }
    }

    /// The record as Merge holds it: `on` is L's termination and S's date, and says
    /// nothing for the others, whose records never change.
    fn record(self, on: bool, modified_at: DateTime<Utc>) -> Value {
        let (status, date) = match self {
            Who::L if on => ("INACTIVE", json!(RECENTLY)),
            Who::S if on => ("ACTIVE", json!(s_due().to_rfc3339())),
            Who::H => ("INACTIVE", json!(YEARS_AGO)),
            Who::G | Who::P => ("INACTIVE", json!(RECENTLY)),
            _ => ("ACTIVE", Value::Null),
        };
        let mut record = support::fake_merge::employee(self.index(), &modified_at.to_rfc3339());
        record["work_email"] = json!(self.email());
        record["employment_status"] = json!(status);
        record["termination_date"] = date;
        record
    }
}

/// A record Merge holds for L or S: the newest change wins, whatever order the
/// webhooks arrive in.
#[derive(Debug, Clone, Copy)]
struct Held {
    on: bool,
    modified_at: DateTime<Utc>,
}

impl Held {
    fn unchanged() -> Self {
        Held {
            on: false,
            modified_at: unchanged_since(),
        }
    }

    fn offer(&mut self, on: bool, modified_at: DateTime<Utc>) {
        if modified_at > self.modified_at {
            *self = Held { on, modified_at };
        }
    }
}

fn unchanged_since() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(UNCHANGED_SINCE)
        .unwrap()
        .with_timezone(&Utc)
}

/// One thing that happens to the account, the stream, a timer or an endpoint.
#[derive(Debug, Clone)]
enum Step {
    /// L's record changes (to terminated or active), stamped `hours_ago` before the
    /// clock, and its webhook arrives: a stamp older than Merge's newest is a late one.
    Leaver { terminated: bool, hours_ago: u32 },
    /// S's termination date is set (or taken off), stamped and delivered the same way.
    Schedule { set: bool, hours_ago: u32 },
    /// A webhook for someone else, as Merge holds the record.
    Deliver(Who),
    /// A sweep of the account: the first reads everything, later ones what changed.
    Sweep,
    /// The stream delivers what the ledger wrote since.
    Stream,
    /// The stream delivers its last batch again.
    Redeliver,
    /// The ledger fails its next call.
    LedgerFails,
    /// The endpoint answers 503 to its next call.
    ScimDown,
    /// The endpoint refuses its next call (a permanent failure).
    ScimRefuse,
    /// Scheduler fires S's timer, at or after its time.
    Fire,
    /// The release invocation.
    Release,
    /// A backfill of the account, acting: H's old termination is worked on purpose, and
    /// must still change nobody (N holds the address once a sweep has read N).
    Backfill,
}

fn step() -> impl Strategy<Value = Step> {
    let other = prop_oneof![
        Just(Who::H),
        Just(Who::N),
        Just(Who::R),
        Just(Who::G),
        Just(Who::P),
        Just(Who::B),
    ];
    prop_oneof![
        3 => (any::<bool>(), 0u32..4)
            .prop_map(|(terminated, hours_ago)| Step::Leaver { terminated, hours_ago }),
        2 => (any::<bool>(), 0u32..4).prop_map(|(set, hours_ago)| Step::Schedule { set, hours_ago }),
        3 => other.prop_map(Step::Deliver),
        2 => Just(Step::Sweep),
        3 => Just(Step::Stream),
        1 => Just(Step::Redeliver),
        1 => Just(Step::LedgerFails),
        1 => Just(Step::ScimDown),
        1 => Just(Step::ScimRefuse),
        2 => Just(Step::Fire),
        1 => Just(Step::Release),
        1 => Just(Step::Backfill),
    ]
}

/// Runs a future on this thread's runtime, with the I/O a sweep's calls to Merge need.
fn block<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// One fake Merge for every case: each case replaces the account's records.
fn merge() -> &'static FakeMerge {
    static MERGE: OnceLock<FakeMerge> = OnceLock::new();
    MERGE.get_or_init(FakeMerge::start)
}

/// Each SCIM account, by whose it is.
struct Accounts {
    owned: BTreeMap<Who, String>,
    /// Near misses of the leavers' addresses: a filter that is not exact finds them.
    near_misses: Vec<String>,
}

impl Accounts {
    fn in_directory(scim: &MemoryScim) -> Self {
        let add = |address: &str| scim.add(CHAT, address, &[address], None, true);
        let owned = [Who::L, Who::S, Who::N, Who::R, Who::P, Who::B]
            .into_iter()
            .map(|who| (who, add(who.email())))
            .collect();
        let near_misses = [
            "leaver@example.com.example",
            "xleaver@example.com",
            "s@example.com.example",
            "xs@example.com",
        ]
        .into_iter()
        .map(add)
        .collect();
        Accounts { owned, near_misses }
    }
}

/// The account, the function and Merge as one case leaves them.
struct World {
    d: DeprovisionApp,
    accounts: Accounts,
    clock: DateTime<Utc>,
    leaver: Held,
    scheduled: Held,
    last_batch: Option<lambda_http::Request>,
    /// A firing that failed: Scheduler delivers it again.
    failed_firing: Option<String>,
    /// Who the ledger has held as terminated after any step.
    ever_terminated: BTreeSet<Who>,
}

impl World {
    /// The account with R already in the ledger, and nobody else yet: R is whom the
    /// identity check finds for G, and R's delivery is when the ledger first sees the
    /// account, long after H's termination.
    fn new() -> Self {
        let scim = MemoryScim::new();
        scim.serve(CHAT, CHAT_TOKEN);
        let accounts = Accounts::in_directory(&scim);
        let targets = json!({
            "targets": [{"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN}],
            "protected": [Who::P.email()],
        });
        merge().clear_requests();
        let d = sweeping_deprovision_app(&targets, scim, merge(), ACCOUNT, MERGE_TOKEN);
        let world = World {
            d,
            accounts,
            clock: now(),
            leaver: Held::unchanged(),
            scheduled: Held::unchanged(),
            last_batch: None,
            failed_firing: None,
            ever_terminated: BTreeSet::new(),
        };
        world.deliver(Who::R.record(false, unchanged_since()));
        assert_eq!(
            world.entry(Who::R).map(|e| e.decision),
            Some(Decision::Active)
        );
        world
    }

    fn entry(&self, who: Who) -> Option<Entry> {
        self.d.ledger.entries().get(&who.key()).cloned()
    }

    /// Answers `request` at the clock. `None` when the invocation failed (a firing the
    /// ledger could not take).
    fn invoke(&self, request: &lambda_http::Request) -> Option<Value> {
        let answered = block(answer_event(&self.d.app, request, self.clock)).ok()?;
        serde_json::from_slice(answered.response.body().as_ref()).ok()
    }

    fn deliver(&self, record: Value) {
        self.invoke(&employee_delivery("Employee.changed", record));
    }

    /// Every record as Merge holds it now.
    fn merge_records(&self) -> Vec<Value> {
        EVERYONE
            .into_iter()
            .map(|who| match who {
                Who::L => who.record(self.leaver.on, self.leaver.modified_at),
                Who::S => who.record(self.scheduled.on, self.scheduled.modified_at),
                _ => who.record(false, unchanged_since()),
            })
            .collect()
    }

    fn sweep(&self) {
        merge().set_account(MERGE_TOKEN, self.merge_records());
        let document = json!({"kind": "merge-deprovision.reconcile", "version": 1,
                              "linked_account_id": ACCOUNT});
        self.invoke(&fired_event(&document.to_string()));
    }

    fn stream(&mut self) {
        if let Some(batch) = stream_batch(&self.d.ledger) {
            self.invoke(&batch);
            self.last_batch = Some(batch);
        }
    }

    fn redeliver(&self) {
        if let Some(batch) = &self.last_batch {
            self.invoke(batch);
        }
    }

    fn release(&self) {
        self.invoke(&direct(
            &json!({"kind": "merge-deprovision.release-held", "version": 1}),
        ));
    }

    /// Fires S's timer (or delivers a failed firing again) at its time, or now if that
    /// has passed.
    fn fire(&mut self) {
        let input = self.failed_firing.take().or_else(|| {
            let name = self.d.schedules.schedules().into_keys().next()?;
            let document = self.d.schedules.fire(&name)?;
            Some(serde_json::to_string(&document).unwrap())
        });
        if let Some(input) = input {
            self.clock = self.clock.max(s_due());
            if self.invoke(&fired_event(&input)).is_none() {
                self.failed_firing = Some(input);
            }
        }
    }

    fn run(&mut self, step: &Step) {
        self.clock += TimeDelta::minutes(STEP_MINUTES);
        match step {
            Step::Leaver {
                terminated,
                hours_ago,
            } => {
                let stamped = self.clock - TimeDelta::hours(i64::from(*hours_ago));
                self.leaver.offer(*terminated, stamped);
                self.deliver(Who::L.record(*terminated, stamped));
            }
            Step::Schedule { set, hours_ago } => {
                let stamped = self.clock - TimeDelta::hours(i64::from(*hours_ago));
                self.scheduled.offer(*set, stamped);
                self.deliver(Who::S.record(*set, stamped));
            }
            Step::Deliver(who) => self.deliver(who.record(false, unchanged_since())),
            Step::Sweep => self.sweep(),
            Step::Stream => self.stream(),
            Step::Redeliver => self.redeliver(),
            Step::LedgerFails => self.d.ledger.fail_next([LedgerError::Unreachable]),
            Step::ScimDown => self.d.scim.fail_next(CHAT, [ScimError::Server(503)]),
            Step::ScimRefuse => self.d.scim.fail_next(
                CHAT,
                [ScimError::Rejected {
                    status: 400,
                    scim_type: None,
                }],
            ),
            Step::Fire => self.fire(),
            Step::Release => self.release(),
            Step::Backfill => {
                self.invoke(&direct(&json!({"kind": "merge-deprovision.backfill",
                    "version": 1, "linked_account_id": ACCOUNT, "dry_run": false})));
            }
        }
        self.observe();
    }

    /// Notes who the ledger holds as terminated now.
    fn observe(&mut self) {
        for who in [Who::L, Who::S] {
            if self
                .entry(who)
                .is_some_and(|e| e.decision == Decision::Terminated)
            {
                self.ever_terminated.insert(who);
            }
        }
    }

    /// Whatever happened, the stream's retries and the release get through once the
    /// scripted faults are spent.
    fn drain(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.stream();
            self.redeliver();
            self.release();
        }
    }

    /// Each employee the ledger holds: its decision and what `chat` came to.
    fn ledger_summary(&self) -> Vec<(Who, Decision, Option<Outcome>)> {
        EVERYONE
            .into_iter()
            .filter_map(|who| {
                let entry = self.entry(who)?;
                let outcome = entry.deprovisioning.get("chat").map(|o| o.outcome);
                Some((who, entry.decision, outcome))
            })
            .collect()
    }

    /// Every change the directory made, by account.
    fn changes(&self) -> BTreeMap<String, Vec<Change>> {
        let mut by_account: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for change in self.d.scim.changes(CHAT) {
            let (Change::Deactivated(id)
            | Change::Repeated(id)
            | Change::Deleted(id)
            | Change::Reactivated(id)) = &change;
            by_account.entry(id.clone()).or_default().push(change);
        }
        by_account
    }
}

/// No account changed twice, and none but L's and S's changed at all: not R's (which G's
/// address is), N's (which H's old one is), P's (protected), B's or a near miss.
fn check_nobody_else_changed(w: &World) -> Result<(), TestCaseError> {
    let changes = w.changes();
    for (account, made) in &changes {
        prop_assert!(
            made.len() <= 1,
            "{account} changed more than once: {made:?}"
        );
    }
    for who in [Who::R, Who::N, Who::P, Who::B] {
        let account = &w.accounts.owned[&who];
        prop_assert!(
            !changes.contains_key(account),
            "{who:?}'s account ({}) changed: {:?}; the ledger holds {:?}",
            who.email(),
            changes[account],
            w.ledger_summary()
        );
        prop_assert!(w.d.scim.user(CHAT, account).unwrap().active);
    }
    for near_miss in &w.accounts.near_misses {
        prop_assert!(!changes.contains_key(near_miss), "a near miss changed");
    }
    Ok(())
}

/// A leaver's account is deactivated when the leaver ends terminated, and changed only
/// if the ledger held the leaver as terminated at some point (a deactivation followed
/// by a rehire stands: nothing is reactivated).
fn check_leaver(w: &World, who: Who) -> Result<(), TestCaseError> {
    let account = &w.accounts.owned[&who];
    let changed = w.changes().contains_key(account);
    let entry = w.entry(who);
    if entry
        .as_ref()
        .is_some_and(|e| e.decision == Decision::Terminated)
    {
        let settled = entry
            .as_ref()
            .and_then(|e| e.deprovisioning.get("chat"))
            .map(|o| o.outcome);
        prop_assert!(
            matches!(
                settled,
                Some(Outcome::Deactivated | Outcome::AlreadyInactive)
            ),
            "{who:?} ends terminated, deprovisioned: {settled:?}"
        );
        prop_assert!(!w.d.scim.user(CHAT, account).unwrap().active);
    } else {
        prop_assert!(
            !changed || w.ever_terminated.contains(&who),
            "{who:?}'s account changed, yet the ledger never held {who:?} as terminated"
        );
    }
    Ok(())
}

/// H's termination is historical: marked so when the ledger holds it; nothing is
/// recorded for it but what a backfill found, and that is never a change (N holds the
/// address: a conflict).
fn check_history_untouched(w: &World) -> Result<(), TestCaseError> {
    if let Some(entry) = w.entry(Who::H) {
        prop_assert!(entry.historical, "H's termination is historical: {entry:?}");
    }
    let recorded = w
        .entry(Who::H)
        .and_then(|e| e.deprovisioning.get("chat").map(|o| o.outcome));
    prop_assert!(
        matches!(recorded, None | Some(Outcome::Conflict | Outcome::Failed)),
        "H's old termination came to {recorded:?}; the ledger holds {:?}",
        w.ledger_summary()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn any_interleaving_deprovisions_exactly_the_terminated_leavers_once_and_no_live_employee(
        steps in proptest::collection::vec(step(), 1..14)
    ) {
        let mut w = World::new();
        for step in &steps {
            w.run(step);
        }
        w.drain(steps.len() + 2);
        check_nobody_else_changed(&w)?;
        check_leaver(&w, Who::L)?;
        check_leaver(&w, Who::S)?;
        check_history_untouched(&w)?;
    }
}
