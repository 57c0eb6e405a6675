//! The outcomes of the verification checks, each under its [`CheckName`]: what the inspector
//! lists and what a refused token reports (`Error::failed_check()`).

use serde::Serialize;

use crate::error::{CheckName, Error, Result};

/// One verification step and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Which check this is; serialised in `snake_case` (`at_hash`, `same_identity`).
    pub name: CheckName,
    /// True when the token passed; the first check that did not is what a refused token
    /// reports.
    pub passed: bool,
    /// A short phrase on the outcome ("matches the configured issuer"); for a failure, the reason
    /// quoted in the verification error.
    pub reason: String,
}

impl Check {
    pub(crate) fn ok(name: CheckName, reason: impl Into<String>) -> Check {
        Check {
            name,
            passed: true,
            reason: reason.into(),
        }
    }
    pub(crate) fn fail(name: CheckName, reason: impl Into<String>) -> Check {
        Check {
            name,
            passed: false,
            reason: reason.into(),
        }
    }
}

/// The checks of one token, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checks(pub(crate) Vec<Check>);

impl Checks {
    pub(crate) fn push(&mut self, check: Check) {
        self.0.push(check);
    }
    pub(crate) fn ok(&mut self, name: CheckName, reason: impl Into<String>) {
        self.push(Check::ok(name, reason));
    }
    pub(crate) fn fail(&mut self, name: CheckName, reason: impl Into<String>) {
        self.push(Check::fail(name, reason));
    }
    pub(crate) fn first_failure(&self) -> Option<&Check> {
        self.0.iter().find(|c| !c.passed)
    }
    /// `Ok` when every check passed; else the first failure as a verification error.
    pub(crate) fn into_result(self, token: &str) -> Result<Vec<Check>> {
        match self.first_failure() {
            None => Ok(self.0),
            Some(c) => Err(Error::check_failed(token, c.name, &c.reason)),
        }
    }
}
