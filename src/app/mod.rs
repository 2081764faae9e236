//! The use cases: one module per way work arrives, each taking its effects through the
//! narrow traits of `aws`, `scim` and `merge`, and knowing nothing of Lambda.

pub mod budget;
pub mod cached_secret;
pub mod deprovision;
pub mod keys;
pub mod settle;
pub mod sweep;
