//! latchkey-bench: how fast Latchkey signs in, restores and refreshes, measured against
//! latchkey-devidp on loopback and against a peer (openid-client) in the same run.
//! `cargo xtask bench` runs it; BENCHMARKS.md explains every number.

pub mod agent;
pub mod app;
pub mod flow;
pub mod junk;
pub mod measure;
pub mod stats;
pub mod table;
