//! SCIM 2.0 endpoints, the outside system leavers are deprovisioned in: the narrow
//! client trait with its real HTTP implementation, and an in-memory twin that behaves
//! like a SCIM server, for unit and property tests and the replay example.

pub mod client;
pub mod memory;
