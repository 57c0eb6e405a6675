//! The demo APIs on the pool domain, answering like API Gateway: `/demo-api/*` and
//! `/demo-http-api/*` (`rest`), `/demo-aws-api/*` behind IAM authorization (`iam`).

pub(crate) mod iam;
pub(crate) mod rest;
