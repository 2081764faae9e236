//! Merge's HRIS API, behind a narrow trait: one GET of one page of a linked account's
//! employees. [`pages`] holds the trait, the query and the errors; [`client`] the HTTPS
//! implementation on the process's one client.

pub mod client;
pub mod pages;
