//! The Lambda edge: configuration from the environment, which use case an event is for,
//! the answers, records and metrics lines it maps their endings to, and the runtime loop
//! around them.

pub mod backfill;
pub mod check;
pub mod config;
pub mod control;
pub mod cutoff;
pub mod documents;
pub mod handler;
pub mod http;
pub mod logging;
pub mod report;
pub mod response;
pub mod runtime_guard;
pub mod runtime_init;
pub mod state;
pub mod stream;
pub mod timer;
pub mod undo;
