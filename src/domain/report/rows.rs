//! The report's rows and summary as values: one row per leaver's termination per target
//! from the evidence trail up to an instant, its status, when access ended, the lag from
//! the effective time and the verdict against the SLA.

use super::period::Period;
use crate::domain::evidence::{Evidence, Fact, Trigger};
use crate::domain::ledger::{EmployeeKey, Identity};
use crate::domain::outcome::Outcome;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// `ACCESS_REMOVAL_SLA`'s default, in hours.
pub const DEFAULT_SLA_HOURS: i64 = 24;

/// Where a row's target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The latest outcome recorded for the target.
    Target(Outcome),
    /// No target was worked: a historical leaver, never deprovisioned but by a backfill.
    Historical,
    /// No target was worked yet.
    NotWorked,
    /// Rehired (or the termination corrected) before access ended anywhere it was owed.
    Rehired,
}

impl Status {
    /// The name the forms print.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Target(outcome) => outcome.as_str(),
            Status::Historical => "historical",
            Status::NotWorked => "not_worked",
            Status::Rehired => "rehired",
        }
    }
}

/// True when `outcome` means the leaver's access in the target ended.
pub fn ends_access(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Deactivated | Outcome::Deleted | Outcome::AlreadyInactive
    )
}

/// A row against the SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Access ended within the SLA of the effective time.
    Met,
    /// Access ended later, or has not ended and the SLA has passed at the report's instant.
    Missed,
    /// Access has not ended, and the SLA has not passed yet.
    Open,
    /// Not measured: a historical leaver, or rehired within the SLA before access ended.
    Exempt,
}

impl Verdict {
    /// The name the forms print.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::Open => "open",
            Verdict::Exempt => "exempt",
        }
    }
}

/// One leaver's termination in one target (or, with no target worked, one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Whose.
    pub key: EmployeeKey,
    /// Who, as the termination's fact carries it.
    pub identity: Identity,
    /// The HR system's termination date, when read.
    pub termination_date: Option<DateTime<Utc>>,
    /// When the termination took effect here: its identity, and what places it in a period.
    pub terminated_at: DateTime<Utc>,
    /// When it was due: the fact's effective time, or, without one, `terminated_at`.
    pub effective_at: DateTime<Utc>,
    /// The rule that made the effective time, when recorded.
    pub rule: Option<String>,
    /// When the function first learned of the termination.
    pub learned_at: DateTime<Utc>,
    /// How.
    pub learned_by: Trigger,
    /// What moved the entry into `terminated`.
    pub terminated_by: Trigger,
    /// A historical leaver.
    pub historical: bool,
    /// The target's name; `None` when no target was worked.
    pub target: Option<String>,
    /// The target's user id, the latest recorded.
    pub target_user: Option<String>,
    /// Where the target stands.
    pub status: Status,
    /// When the latest target outcome was recorded.
    pub status_at: Option<DateTime<Utc>>,
    /// What started the latest target outcome.
    pub started_by: Option<Trigger>,
    /// When access first ended in the target, kept after an undo.
    pub access_ended_at: Option<DateTime<Utc>>,
    /// What started the change that ended it.
    pub ended_by: Option<Trigger>,
    /// When an undo gave access back, after it ended.
    pub undone_at: Option<DateTime<Utc>>,
    /// When the employee was rehired (the termination ended), if so.
    pub rehired_at: Option<DateTime<Utc>>,
    /// From the effective time to the end of access; zero when access ended first.
    pub lag: Option<TimeDelta>,
    /// Against the SLA.
    pub verdict: Verdict,
}

/// What the report is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The period terminations took effect in.
    pub period: Period,
    /// One linked account, or every account.
    pub linked_account_id: Option<String>,
    /// `ACCESS_REMOVAL_SLA`.
    pub sla: TimeDelta,
    /// Every fact up to this instant, and no later one, made the report.
    pub as_of: DateTime<Utc>,
}

/// The report's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Terminations (a rehire and a second termination are two).
    pub leavers: usize,
    /// Distinct targets named.
    pub targets: usize,
    /// Rows.
    pub rows: usize,
    /// Rows [`Verdict::Met`].
    pub met: usize,
    /// Rows [`Verdict::Missed`].
    pub missed: usize,
    /// Rows [`Verdict::Open`].
    pub open: usize,
    /// Rows [`Verdict::Exempt`].
    pub exempt: usize,
    /// Rows whose access ended and an undo gave back.
    pub undone: usize,
    /// Rows still owed: access not ended, not exempt (open or missed).
    pub open_items: usize,
    /// The median lag of the rows measured whose access ended.
    pub median_lag: Option<TimeDelta>,
    /// The longest.
    pub worst_lag: Option<TimeDelta>,
}

/// The histogram's fixed buckets of lag, each including its upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Up to 1 h.
    Hour,
    /// Over 1 h, up to 4 h.
    FourHours,
    /// Over 4 h, up to 24 h.
    Day,
    /// Over 1 d, up to 3 d.
    ThreeDays,
    /// Over 3 d.
    Longer,
    /// Not ended, not exempt.
    Open,
}

impl Bucket {
    /// Every bucket, in order.
    pub const ALL: [Bucket; 6] = [
        Bucket::Hour,
        Bucket::FourHours,
        Bucket::Day,
        Bucket::ThreeDays,
        Bucket::Longer,
        Bucket::Open,
    ];

    /// The stable name (`data-bucket` in the page, the key in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Hour => "le_1h",
            Bucket::FourHours => "le_4h",
            Bucket::Day => "le_24h",
            Bucket::ThreeDays => "le_3d",
            Bucket::Longer => "gt_3d",
            Bucket::Open => "open",
        }
    }

    /// The label printed.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Hour => "up to 1 h",
            Bucket::FourHours => "1 h to 4 h",
            Bucket::Day => "4 h to 24 h",
            Bucket::ThreeDays => "1 d to 3 d",
            Bucket::Longer => "over 3 d",
            Bucket::Open => "not ended",
        }
    }

    /// The bucket of a lag.
    pub fn of(lag: TimeDelta) -> Bucket {
        let hours = [(1, Bucket::Hour), (4, Bucket::FourHours), (24, Bucket::Day)];
        hours
            .into_iter()
            .chain([(72, Bucket::ThreeDays)])
            .find(|(h, _)| lag <= TimeDelta::hours(*h))
            .map_or(Bucket::Longer, |(_, b)| b)
    }
}

/// The access-removal report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What it is of.
    pub header: Header,
    /// Its totals.
    pub summary: Summary,
    /// Sorted by account, employee, termination and target.
    pub rows: Vec<Row>,
}

impl Report {
    /// How many measured rows fall in each bucket (exempt rows in none).
    pub fn histogram(&self) -> [(Bucket, usize); 6] {
        let mut counts = Bucket::ALL.map(|b| (b, 0));
        for row in self.rows.iter().filter(|r| r.verdict != Verdict::Exempt) {
            let bucket = row.lag.map_or(Bucket::Open, Bucket::of);
            if let Some(slot) = counts.iter_mut().find(|(b, _)| *b == bucket) {
                slot.1 += 1;
            }
        }
        counts
    }
}

/// One target fact, as a row reads it.
struct Step<'a> {
    at: DateTime<Utc>,
    outcome: Outcome,
    user: Option<&'a str>,
    by: Trigger,
}

type Termination<'a> = (&'a EmployeeKey, DateTime<Utc>);

/// The trail up to `as_of`, grouped: each termination's fact, each rehire, each target's
/// steps in order.
struct Trail<'a> {
    terminations: BTreeMap<Termination<'a>, &'a Evidence>,
    rehires: BTreeMap<Termination<'a>, DateTime<Utc>>,
    steps: BTreeMap<Termination<'a>, BTreeMap<&'a str, Vec<Step<'a>>>>,
}

impl<'a> Trail<'a> {
    fn of(facts: &'a [Evidence], account: Option<&str>, as_of: DateTime<Utc>) -> Self {
        let kept: Vec<&Evidence> = facts
            .iter()
            .filter(|e| e.at <= as_of)
            .filter(|e| account.is_none_or(|a| e.key.linked_account_id == a))
            .collect();
        let mut terminations = BTreeMap::new();
        for e in &kept {
            if let Fact::Terminated { .. } = e.fact {
                // The trail holds one fact per termination; a duplicate keeps the first.
                terminations.entry((&e.key, e.at)).or_insert(*e);
            }
        }
        let mut trail = Trail {
            terminations,
            rehires: BTreeMap::new(),
            steps: BTreeMap::new(),
        };
        for e in &kept {
            trail.add(e);
        }
        for targets in trail.steps.values_mut() {
            for steps in targets.values_mut() {
                // By time, then by outcome and user: the same facts in any order give
                // the same rows.
                steps.sort_by(|a, b| (a.at, a.outcome, a.user).cmp(&(b.at, b.outcome, b.user)));
            }
        }
        trail
    }

    fn add(&mut self, e: &'a Evidence) {
        match &e.fact {
            Fact::Rehired { termination, .. } => {
                let at = self.rehires.entry((&e.key, *termination)).or_insert(e.at);
                *at = (*at).min(e.at);
            }
            Fact::Target {
                target,
                termination,
                outcome,
                user,
                by,
                ..
            } => {
                // An outcome recorded without its termination is the latest one's then.
                let Some(of) = termination.or_else(|| self.latest(&e.key, e.at)) else {
                    return;
                };
                if !self.terminations.contains_key(&(&e.key, of)) {
                    return;
                }
                let step = Step {
                    at: e.at,
                    outcome: *outcome,
                    user: user.as_deref(),
                    by: *by,
                };
                let targets = self.steps.entry((&e.key, of)).or_default();
                targets.entry(target.as_str()).or_default().push(step);
            }
            Fact::Terminated { .. } | Fact::Operator { .. } => {}
        }
    }

    /// `key`'s latest termination at or before `at`.
    fn latest(&self, key: &'a EmployeeKey, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.terminations
            .range((key, DateTime::<Utc>::MIN_UTC)..=(key, at))
            .next_back()
            .map(|((_, t), _)| *t)
    }
}

/// The report of the terminations that took effect in `period` (of `account`, or every
/// account), from every fact up to `as_of`: the same facts and `as_of` give the same
/// report, whenever it is made.
pub fn build(
    facts: &[Evidence],
    period: &Period,
    account: Option<&str>,
    sla: TimeDelta,
    as_of: DateTime<Utc>,
) -> Report {
    let trail = Trail::of(facts, account, as_of);
    let mut rows = Vec::new();
    for (&(key, at), evidence) in &trail.terminations {
        if !period.contains(at) {
            continue;
        }
        let base = base_row(key, evidence);
        let rehired = trail.rehires.get(&(key, at)).copied();
        match trail.steps.get(&(key, at)) {
            None => rows.push(finish(base, None, &[], rehired, sla, as_of)),
            Some(targets) => rows.extend(
                targets
                    .iter()
                    .map(|(t, steps)| finish(base.clone(), Some(t), steps, rehired, sla, as_of)),
            ),
        }
    }
    rows.sort_by(|a, b| {
        (&a.key, a.terminated_at, &a.target).cmp(&(&b.key, b.terminated_at, &b.target))
    });
    Report {
        summary: summary(&rows),
        header: Header {
            period: *period,
            linked_account_id: account.map(str::to_owned),
            sla,
            as_of,
        },
        rows,
    }
}

/// The row's columns a termination's fact gives, before any target.
fn base_row(key: &EmployeeKey, evidence: &Evidence) -> Row {
    let Fact::Terminated {
        termination_date,
        effective_at,
        rule,
        by,
        learned_at,
        learned_by,
        historical,
        identity,
    } = &evidence.fact
    else {
        unreachable!("only a termination's fact is kept as one");
    };
    Row {
        key: key.clone(),
        identity: identity.clone(),
        termination_date: *termination_date,
        terminated_at: evidence.at,
        effective_at: effective_at.unwrap_or(evidence.at),
        rule: rule.clone(),
        learned_at: *learned_at,
        learned_by: *learned_by,
        terminated_by: *by,
        historical: *historical,
        target: None,
        target_user: None,
        status: Status::NotWorked,
        status_at: None,
        started_by: None,
        access_ended_at: None,
        ended_by: None,
        undone_at: None,
        rehired_at: None,
        lag: None,
        verdict: Verdict::Open,
    }
}

/// `row` for `target` after `steps` (in order), the rehire and the SLA at `as_of`.
fn finish(
    mut row: Row,
    target: Option<&str>,
    steps: &[Step<'_>],
    rehired: Option<DateTime<Utc>>,
    sla: TimeDelta,
    as_of: DateTime<Utc>,
) -> Row {
    row.target = target.map(str::to_owned);
    row.rehired_at = rehired;
    let ended = steps.iter().find(|s| ends_access(s.outcome));
    if let Some(latest) = steps.last() {
        row.status = Status::Target(latest.outcome);
        row.status_at = Some(latest.at);
        row.started_by = Some(latest.by);
    } else if row.historical {
        row.status = Status::Historical;
    }
    row.target_user = steps.iter().rev().find_map(|s| s.user).map(str::to_owned);
    if let Some(ended) = ended {
        row.access_ended_at = Some(ended.at);
        row.ended_by = Some(ended.by);
        row.lag = Some((ended.at - row.effective_at).max(TimeDelta::zero()));
        row.undone_at = steps
            .iter()
            .find(|s| s.outcome == Outcome::Reactivated && s.at >= ended.at)
            .map(|s| s.at);
    } else if rehired.is_some() {
        row.status = Status::Rehired;
    }
    row.verdict = verdict(&row, sla, as_of);
    row
}

fn verdict(row: &Row, sla: TimeDelta, as_of: DateTime<Utc>) -> Verdict {
    if row.historical {
        return Verdict::Exempt;
    }
    match (row.lag, row.rehired_at) {
        (Some(lag), _) if lag <= sla => Verdict::Met,
        (Some(_), _) => Verdict::Missed,
        // Rehired before access ended: not owed once rehired, so measured only when the
        // rehire came after the SLA had passed.
        (None, Some(rehired)) if rehired - row.effective_at <= sla => Verdict::Exempt,
        (None, Some(_)) => Verdict::Missed,
        (None, None) if as_of - row.effective_at <= sla => Verdict::Open,
        (None, None) => Verdict::Missed,
    }
}

fn summary(rows: &[Row]) -> Summary {
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let leavers: BTreeSet<_> = rows.iter().map(|r| (&r.key, r.terminated_at)).collect();
    let targets: BTreeSet<_> = rows.iter().filter_map(|r| r.target.as_deref()).collect();
    let mut lags: Vec<TimeDelta> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Exempt)
        .filter_map(|r| r.lag)
        .collect();
    lags.sort();
    Summary {
        leavers: leavers.len(),
        targets: targets.len(),
        rows: rows.len(),
        met: count(Verdict::Met),
        missed: count(Verdict::Missed),
        open: count(Verdict::Open),
        exempt: count(Verdict::Exempt),
        undone: rows.iter().filter(|r| r.undone_at.is_some()).count(),
        open_items: rows
            .iter()
            .filter(|r| r.access_ended_at.is_none() && r.verdict != Verdict::Exempt)
            .filter(|r| r.status != Status::Rehired)
            .count(),
        median_lag: median(&lags),
        worst_lag: lags.last().copied(),
    }
}

/// The middle of `sorted`; of an even count, the mean of the two middle ones, to the
/// second below.
fn median(sorted: &[TimeDelta]) -> Option<TimeDelta> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => {
            let sum = sorted[n / 2 - 1].num_seconds() + sorted[n / 2].num_seconds();
            Some(TimeDelta::seconds(sum / 2))
        }
    }
}
