//! The use cases: one module per way work arrives (a delivery, a fired timer, a stream
//! batch, a release, a reconcile document), each taking its effects through the narrow
//! traits of `aws`, `scim` and `merge`, and knowing nothing of Lambda. Each returns a
//! value saying how it ended, which the edge turns into a response and a metrics line.

pub mod announce;
pub mod backfill;
pub mod baseline;
pub mod budget;
pub mod cached_secret;
pub mod check;
pub mod control;
pub mod cutoff;
pub mod deliver;
pub mod deprovision;
pub mod fire;
pub mod keys;
pub mod now;
pub mod reconcile;
pub mod release;
pub mod report;
pub mod settle;
pub mod stream;
pub mod sweep;
pub mod undo;
