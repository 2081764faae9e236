//! The operator's pause as deprovisioning reads it: from the ledger's table before each
//! target is worked, kept by the process for at most [`PAUSE_FRESH`], so a pause stops a
//! backlog within seconds without a read per target. A pause this process wrote itself
//! is kept at once.

use super::Deprovisioner;
use crate::app::budget::Budget;
use crate::aws::ledger::LedgerError;
use crate::domain::control::Pause;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a read pause serves before it is read again.
pub const PAUSE_FRESH: Duration = Duration::from_secs(5);

/// The last pause read, and when (the process's clock, not the decision's `now`: an
/// invocation's `now` stands still while its backlog is worked).
#[derive(Debug, Default)]
pub(super) struct PauseCache(Mutex<Option<(Instant, Arc<Pause>)>>);

impl PauseCache {
    fn fresh(&self) -> Option<Arc<Pause>> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(at, _)| at.elapsed() < PAUSE_FRESH)
            .map(|(_, pause)| Arc::clone(pause))
    }

    fn keep(&self, pause: Pause) -> Arc<Pause> {
        let pause = Arc::new(pause);
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *kept = Some((Instant::now(), Arc::clone(&pause)));
        pause
    }
}

impl Deprovisioner {
    /// The operator's pause, read again when the one kept is older than
    /// [`PAUSE_FRESH`]. An error when it cannot be read: the caller changes nothing,
    /// since it cannot tell whether a person stopped it.
    pub async fn pause(&self, budget: &Budget) -> Result<Arc<Pause>, LedgerError> {
        match self.paused.fresh() {
            Some(pause) => Ok(pause),
            None => self.read_pause(budget).await,
        }
    }

    /// Reads the pause as stored, and keeps it.
    async fn read_pause(&self, budget: &Budget) -> Result<Arc<Pause>, LedgerError> {
        let read = budget
            .run(self.store.pause())
            .await
            .unwrap_or(Err(LedgerError::TimedOut))?;
        Ok(self.paused.keep(read))
    }

    /// The operator's pause as stored now, past the process's cache, which it renews.
    pub async fn stored_pause(&self, budget: &Budget) -> Result<Pause, LedgerError> {
        Ok((*self.read_pause(budget).await?).clone())
    }

    /// Writes the operator's pause if the stored one still has `read_at` as its
    /// `changed_at` (`ConditionFailed` otherwise), and keeps it for this process's next
    /// steps.
    pub async fn set_pause(
        &self,
        pause: Pause,
        read_at: Option<chrono::DateTime<chrono::Utc>>,
        budget: &Budget,
    ) -> Result<(), LedgerError> {
        budget
            .run(self.store.set_pause(&pause, read_at))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))?;
        self.paused.keep(pause);
        Ok(())
    }
}
