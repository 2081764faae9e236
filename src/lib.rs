//! `merge-deprovision`: verifies Merge HRIS Employee webhooks and decides whether the
//! employee's access must end.
//!
//! The layers, each importing only the ones listed before it:
//! - [`domain`]: signature, envelope, Employee, dates, decision, one delivery from bytes
//!   to outcome; no HTTP, Lambda or AWS;
//! - [`aws`]: effects on AWS behind narrow traits (the SDK, and in-memory twins);
//! - [`net`]: the one HTTPS client for calls outside AWS, and which base URLs it accepts;
//! - [`scim`]: SCIM 2.0 endpoints leavers are deprovisioned in (the client, and a twin);
//! - [`merge`]: Merge's HRIS API behind a narrow trait, one page of employees per GET;
//! - [`lambda`]: the edge that ties the domain and the effects to a Lambda function URL,
//!   scheduled events, CloudWatch logs and metrics.

pub mod app;
pub mod aws;
pub mod domain;
pub mod lambda;
pub mod merge;
pub mod net;
pub mod scim;
pub mod telemetry;
