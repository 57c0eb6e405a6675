//! The user pool: Cognito's hosted UI and OAuth endpoints on the pool domain, discovery, JWKS
//! and the JSON API on `cognito-idp`, with the tokens, keys, users and records behind them.

pub(crate) mod hosted_ui;
pub(crate) mod json_api;
pub(crate) mod jwt;
pub(crate) mod keys;
pub(crate) mod mfa;
pub(crate) mod oauth;
pub(crate) mod renewal;
pub(crate) mod store;
pub(crate) mod tokens;
pub(crate) mod verify;
