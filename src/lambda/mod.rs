//! The Lambda edge: configuration from the environment, function URL requests in,
//! responses, log records and metrics lines out, and the runtime loop around them.

pub mod budget;
pub mod cached_secret;
pub mod config;
pub mod deprovision;
pub mod http;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod record;
pub mod runtime_guard;
pub mod runtime_init;
pub mod settle;
pub mod sweep;
