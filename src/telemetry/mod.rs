//! The vocabulary of what the function tells operators: its log records and its
//! Embedded Metric Format lines, written by the use cases at the step they describe and
//! by the edge for each invocation.

pub mod metrics;
pub mod record;
