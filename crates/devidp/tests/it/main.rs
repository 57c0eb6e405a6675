//! latchkey-devidp's integration tests, one module per area, in one test binary (one link
//! instead of one per file); `common` holds the shared provider and HTTP helpers.

mod claim_sets;
mod cli;
mod common;
mod control;
mod demo_api;
mod faults;
mod fixtures;
mod flow;
mod hosted_flows;
mod identity_pool;
mod managed_login;
mod refresh_faults;
mod session;
mod signup;
mod user_pool_api;
mod wire_shapes;
