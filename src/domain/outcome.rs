//! What deprovisioning a termination came to in each SCIM target, as the employee
//! ledger's entry keeps it: the outcome, when, and for which termination.
//!
//! The ledger holds these values and the deprovisioning rules read them, so they live
//! apart from both.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What deprovisioning in one target came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// The user was set `active` false.
    Deactivated,
    /// The user was deleted.
    Deleted,
    /// The user was already inactive (or gone by the time of the change).
    AlreadyInactive,
    /// No user matched.
    NotFound,
    /// More than one user matched: nothing changed.
    Ambiguous,
    /// The account is protected (the targets secret's `protected` list, or the user
    /// owning the target's token): never changed automatically.
    Protected,
    /// Another employee of the linked account who is not terminated holds the leaver's
    /// match value (a rehire under a new id, a new hire given a freed address): nothing
    /// changed, a person decides.
    Conflict,
    /// The brake held it: released by a direct invocation.
    Held,
    /// Deprovisioning was paused (`merge-deprovision.pause`): nothing was searched or
    /// changed, and resuming works it, under the brake.
    Paused,
    /// Dry run: the user would be deactivated.
    WouldDeactivate,
    /// Dry run: the user would be deleted.
    WouldDelete,
    /// The endpoint refused or failed: see the record.
    Failed,
    /// An undo (`merge-deprovision.undo`) re-activated the user this function had
    /// deactivated: final for this termination, never deactivated again for it.
    Reactivated,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 13] = [
        Outcome::Deactivated,
        Outcome::Deleted,
        Outcome::AlreadyInactive,
        Outcome::NotFound,
        Outcome::Ambiguous,
        Outcome::Protected,
        Outcome::Conflict,
        Outcome::Held,
        Outcome::Paused,
        Outcome::WouldDeactivate,
        Outcome::WouldDelete,
        Outcome::Failed,
        Outcome::Reactivated,
    ];

    /// The name in records, metrics and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deactivated => "deactivated",
            Outcome::Deleted => "deleted",
            Outcome::AlreadyInactive => "already_inactive",
            Outcome::NotFound => "not_found",
            Outcome::Ambiguous => "ambiguous",
            Outcome::Protected => "protected",
            Outcome::Conflict => "conflict",
            Outcome::Held => "held",
            Outcome::Paused => "paused",
            Outcome::WouldDeactivate => "would_deactivate",
            Outcome::WouldDelete => "would_delete",
            Outcome::Failed => "failed",
            Outcome::Reactivated => "reactivated",
        }
    }

    /// The outcome a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// True when this invocation changed the user.
    pub fn changed(self) -> bool {
        matches!(self, Outcome::Deactivated | Outcome::Deleted)
    }

    /// True when the leaver's access in the target is gone (changed by this function, or
    /// found inactive or gone), or an undo gave it back: settled for good, never worked
    /// again for this termination, by a redelivery, a release, a recheck or a backfill.
    pub fn is_final_change(self) -> bool {
        matches!(
            self,
            Outcome::Deactivated
                | Outcome::Deleted
                | Outcome::AlreadyInactive
                | Outcome::Reactivated
        )
    }

    /// True when nothing changed because a person must look first: no user matched, more
    /// than one did, the account is protected, or another live employee shares the
    /// leaver's match value. Not final: the employee stays listed
    /// for the release, which works the target again (after the `match` rule, the
    /// application's users, the protected list or the ledger's identities were fixed); a stream redelivery does
    /// not.
    pub fn needs_person(self) -> bool {
        matches!(
            self,
            Outcome::NotFound | Outcome::Ambiguous | Outcome::Protected | Outcome::Conflict
        )
    }
}

/// What started a target's change: how the work reached the function. Defined here,
/// beside the outcome that records it, and named by the evidence trail
/// (as `evidence::Trigger`), which also maps a ledger source to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// A Merge webhook delivery.
    Webhook,
    /// A timer that fired at a scheduled termination's effective time.
    Timer,
    /// A sweep of Merge's API (reconciliation).
    Sweep,
    /// A person, by hand (`merge-deprovision.deprovision-now`).
    ByHand,
    /// The release of held work (`merge-deprovision.release`, a recheck included).
    Release,
    /// A backfill (`merge-deprovision.backfill`).
    Backfill,
    /// An undo (`merge-deprovision.undo`).
    Undo,
    /// A resume (`merge-deprovision.resume`) working the waiting list.
    Resume,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 8] = [
        Trigger::Webhook,
        Trigger::Timer,
        Trigger::Sweep,
        Trigger::ByHand,
        Trigger::Release,
        Trigger::Backfill,
        Trigger::Undo,
        Trigger::Resume,
    ];

    /// The name stored, reported and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Webhook => "webhook",
            Trigger::Timer => "timer",
            Trigger::Sweep => "sweep",
            Trigger::ByHand => "by_hand",
            Trigger::Release => "release",
            Trigger::Backfill => "backfill",
            Trigger::Undo => "undo",
            Trigger::Resume => "resume",
        }
    }

    /// The trigger a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// One target's deprovisioning of one termination, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprovisioning {
    /// What it came to.
    pub outcome: Outcome,
    /// When.
    pub at: DateTime<Utc>,
    /// The termination it was for (the entry's `terminated_at`): a later termination,
    /// after a rehire, is deprovisioned again.
    pub termination: Option<DateTime<Utc>>,
    /// Attempts made that failed, for `failed`.
    pub attempts: u32,
    /// The SCIM id of the user changed (`deactivated`, `deleted`, `reactivated`): what
    /// an undo re-activates. `None` for an outcome recorded before it was kept.
    pub user: Option<String>,
    /// The invocation that made the change (its Lambda request id): what an undo of
    /// one run selects by.
    pub run: Option<String>,
    /// What started this outcome (a webhook's termination, a release, an undo...): the
    /// evidence trail's answer to "why then". `None` for an outcome recorded before it
    /// was kept.
    pub by: Option<Trigger>,
}

/// Per target name.
pub type DeprovisioningMap = BTreeMap<String, Deprovisioning>;
