//! Carrying out reconciliation within the invocation's budget: requesting a sweep (a
//! one-time schedule per account, so that several requests while one is pending make
//! one sweep), fanning the recurring sweep out to every account in the secret, and
//! sweeping one account: lease, pages, the same decision and ledger write as a webhook
//! for each employee, overdue timers, then the watermark, or a cursor and a follow-up
//! when time runs out.

mod account;
mod employees;
mod fan_out;
mod lease;
mod overdue;
mod pages;
mod report;
mod request;
mod secret;
#[cfg(test)]
mod testing;

pub use account::sweep_account;
pub use fan_out::{FAN_OUT_BATCH_PERIOD, FAN_OUT_CALLS_AT_ONCE, FannedOut, fan_out};
pub use report::{SweepEnd, SweepReport};
pub use request::{Requested, request_sweep, schedule_sweep};
pub use secret::{Held, MergeSecrets, Reconciliation};

use std::time::Duration;

/// Attempts at one page, the first included: 429, 5xx and timeouts are retried.
pub const PAGE_ATTEMPTS: u32 = 4;
/// The first backoff without `Retry-After`; doubled each time up to [`MAX_BACKOFF`], as
/// Merge's own SDK does.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// See [`INITIAL_BACKOFF`].
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Kept back before another page is started: the checkpoint's reserve and half a second
/// for the page (its request gives up in time for the checkpoint whatever happens, and
/// its employees stop being settled at the checkpoint's reserve).
pub const PAGE_RESERVE: Duration = Duration::from_millis(1_500);
/// Kept back for the checkpoint and the follow-up schedule, whatever else runs out.
pub const CHECKPOINT_RESERVE: Duration = Duration::from_millis(1_000);
/// Left at least, beside [`CHECKPOINT_RESERVE`], to start the overdue step after the
/// last page in the same invocation: otherwise the next invocation runs it alone.
pub const OVERDUE_RESERVE: Duration = Duration::from_millis(2_000);
/// Attempts at taking the lease when another write lands in between.
const LEASE_ATTEMPTS: usize = 3;
