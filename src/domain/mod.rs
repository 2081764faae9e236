//! The domain: bytes and times in, values out. It knows nothing of HTTP, Lambda or AWS,
//! so every rule here is tested with plain values.

pub mod backfill;
pub mod baseline;
pub mod check;
pub mod control;
pub mod cutoff;
pub mod dates;
pub mod decision;
pub mod deprovision;
pub mod employee;
pub mod envelope;
pub mod error;
pub mod evidence;
pub mod ledger;
mod lenient;
pub mod now;
pub mod outcome;
pub mod reconcile;
pub mod schedule;
pub mod secret;
pub mod signature;
pub mod tzif;
pub mod undo;
pub mod webhook;
