//! Effects on AWS (the ledger in DynamoDB, timers in EventBridge Scheduler, the key in
//! Secrets Manager, the reports in S3), each behind a narrow trait with two
//! implementations: the AWS SDK, and an in-memory twin that behaves like the service, for
//! unit and property tests.

pub mod deprovisioning;
pub mod ledger;
pub mod memory;
pub mod reports;
pub mod scheduler;
pub mod secrets;
pub mod stream;
