//! Assertions a user sets on a token, like `aws-jwt-verify`'s `groups` and `scope` options,
//! written as `group=admins`, `scope=orders/read`, `custom:tenant=acme` (the profile's `expect`
//! list, `latchkey inspect --expect`, the app): parsed here, judged by `verify`.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// One assertion about a token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The user is in this group (`cognito:groups`, or an OIDC provider's `groups`).
    Group(String),
    /// The token grants this scope (the space-separated `scope` claim, or a `scp` list).
    Scope(String),
    /// The claim has this value (a string claim equals it; a number or boolean reads as it;
    /// a list contains it).
    Claim {
        /// The claim's name as written before `=`, e.g. `custom:tenant` (`group`, `groups`,
        /// `scope` and `scopes` give the variants above instead).
        name: String,
        /// The expected value as written after `=`, trimmed, e.g. `acme`.
        value: String,
    },
}

/// Why a text is not an expectation. The `Display` says how to write one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an expectation: {problem}")]
pub struct ExpectationError {
    text: String,
    problem: &'static str,
}

/// How to write an expectation, for help texts and the config file's fix.
pub const EXPECTATION_SYNTAX: &str =
    "write `group=NAME`, `scope=NAME` or `CLAIM=VALUE` (e.g. `custom:tenant=acme`)";

/// The longest expectation accepted (claim names and values are short; this is a typo guard).
const MAX_LEN: usize = 512;

impl FromStr for Expectation {
    type Err = ExpectationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |problem| ExpectationError {
            text: text.chars().take(80).collect(),
            problem,
        };
        if text.len() > MAX_LEN {
            return Err(refuse("it is longer than 512 bytes"));
        }
        if text.chars().any(char::is_control) {
            return Err(refuse("it contains control characters"));
        }
        let Some((name, value)) = text.split_once('=') else {
            return Err(refuse("there is no `=`"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err(refuse(
                "the part before `=` (group, scope or a claim name) is empty",
            ));
        }
        if value.is_empty() {
            return Err(refuse("the value after `=` is empty"));
        }
        Ok(match name {
            "group" | "groups" => Expectation::Group(value.to_owned()),
            "scope" | "scopes" => Expectation::Scope(value.to_owned()),
            _ => Expectation::Claim {
                name: name.to_owned(),
                value: value.to_owned(),
            },
        })
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Group(g) => write!(f, "group={g}"),
            Expectation::Scope(s) => write!(f, "scope={s}"),
            Expectation::Claim { name, value } => write!(f, "{name}={value}"),
        }
    }
}

impl Serialize for Expectation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_three_forms_and_writes_them_back() {
        assert_eq!(
            "group=admins".parse::<Expectation>().unwrap(),
            Expectation::Group("admins".into())
        );
        assert_eq!(
            " scope = orders/read ".parse::<Expectation>().unwrap(),
            Expectation::Scope("orders/read".into())
        );
        let claim = "custom:tenant=a=b".parse::<Expectation>().unwrap();
        assert_eq!(
            claim,
            Expectation::Claim {
                name: "custom:tenant".into(),
                value: "a=b".into()
            }
        );
        assert_eq!(claim.to_string(), "custom:tenant=a=b");
        assert_eq!(
            serde_json::to_value(Expectation::Group("admins".into())).unwrap(),
            json!("group=admins")
        );
    }

    #[test]
    fn refuses_what_is_not_an_expectation() {
        for bad in [
            "admins",
            "=admins",
            "group=",
            "group=a\u{1b}[2J",
            &"x".repeat(600),
        ] {
            let e = bad.parse::<Expectation>().unwrap_err();
            assert!(e.to_string().contains("is not an expectation"), "{e}");
        }
    }
}
