//! `merge-deprovision`: verifies Merge HRIS Employee webhooks and decides whether the
//! employee's access must end.
//!
//! The domain (`signature`, `envelope`, `employee`, `dates`, `decision`, `webhook`)
//! takes bytes and times and knows nothing of HTTP. `http`, `record` and `logging`
//! connect it to a Lambda function URL and to CloudWatch.

pub mod config;
pub mod dates;
pub mod decision;
pub mod employee;
pub mod envelope;
pub mod error;
pub mod http;
mod lenient;
pub mod logging;
pub mod metrics;
pub mod record;
pub mod runtime_guard;
pub mod runtime_init;
pub mod samples;
pub mod signature;
pub mod webhook;
