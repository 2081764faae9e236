//! The Lambda edge: configuration from the environment, which use case an event is for,
//! responses, and the runtime loop around them.

pub mod config;
pub mod http;
pub mod logging;
pub mod runtime_guard;
pub mod runtime_init;
