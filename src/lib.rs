//! `merge-deprovision`: verifies Merge HRIS Employee webhooks and decides whether the
//! employee's access must end.
//!
//! The layers, each importing only the ones listed before it:
//! - [`domain`]: signature, envelope, Employee, dates, decision, one delivery from bytes
//!   to outcome; no HTTP, Lambda or AWS;
//! - [`lambda`]: the edge that ties the domain to a Lambda function URL, CloudWatch logs
//!   and metrics.

pub mod domain;
pub mod lambda;
