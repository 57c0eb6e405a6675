//! Assertions a user sets on a token, like `aws-jwt-verify`'s `groups` and `scope` options:
//! "expect group `admins`", "expect scope `orders/read`", "expect `custom:tenant` = acme".
//! Written as `group=admins`, `scope=orders/read`, `custom:tenant=acme` (the profile's `expect`
//! list, `latchkey inspect --expect`, the app), judged against a token's decoded claims.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::inspect::TokenKind;

/// One assertion about a token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The user is in this group (`cognito:groups`, or an OIDC provider's `groups`).
    Group(String),
    /// The token grants this scope (the space-separated `scope` claim, or a `scp` list).
    Scope(String),
    /// The claim has this value (a string claim equals it; a number or boolean reads as it;
    /// a list contains it).
    Claim { name: String, value: String },
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

/// The outcome of one expectation on one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationCheck {
    pub expectation: Expectation,
    pub passed: bool,
    pub reason: String,
}

impl Expectation {
    /// Whether a profile's expectation is about this kind of token: scopes are granted to
    /// access tokens, other claims (custom attributes, e-mail) are carried by ID tokens, groups
    /// by both. Asked explicitly (`latchkey inspect --expect`), every expectation applies.
    pub fn applies_to(&self, kind: TokenKind) -> bool {
        match (self, kind) {
            (_, TokenKind::Unknown) | (Expectation::Group(_), _) => true,
            (Expectation::Scope(_), kind) => kind == TokenKind::Access,
            (Expectation::Claim { .. }, kind) => kind == TokenKind::Id,
        }
    }

    /// Judge this expectation against a token's claims.
    pub fn judge(&self, claims: &Map<String, Value>) -> ExpectationCheck {
        let (passed, reason) = match self {
            Expectation::Group(group) => member(claims, &["cognito:groups", "groups"], group),
            Expectation::Scope(scope) => granted(claims, scope),
            Expectation::Claim { name, value } => equals(claims, name, value),
        };
        ExpectationCheck {
            expectation: self.clone(),
            passed,
            reason,
        }
    }
}

/// The first of `names` that the token has, as a list of strings.
fn member(claims: &Map<String, Value>, names: &[&str], group: &str) -> (bool, String) {
    let Some((name, value)) = names.iter().find_map(|n| claims.get(*n).map(|v| (*n, v))) else {
        return (
            false,
            format!(
                "the token has no `{}` claim: the user is in no group",
                names[0]
            ),
        );
    };
    let groups = strings(value);
    let passed = groups.iter().any(|g| g == group);
    let listed = listing(&groups);
    let reason = match passed {
        true => format!("`{name}` includes `{group}` ({listed})"),
        false => format!("`{name}` does not include `{group}` ({listed})"),
    };
    (passed, reason)
}

fn granted(claims: &Map<String, Value>, scope: &str) -> (bool, String) {
    let (name, scopes) = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => ("scope", s.split(' ').map(str::to_owned).collect()),
        (Some(other), _) => ("scope", strings(other)),
        (None, Some(scp)) => ("scp", strings(scp)),
        (None, None) => {
            return (
                false,
                "the token has no `scope` claim (scopes are granted to access tokens; inspect the access token)".into(),
            )
        }
    };
    let scopes: Vec<String> = scopes.into_iter().filter(|s| !s.is_empty()).collect();
    let passed = scopes.iter().any(|s| s == scope);
    let listed = listing(&scopes);
    let reason = match passed {
        true => format!("`{name}` grants `{scope}` ({listed})"),
        false => format!("`{name}` does not grant `{scope}` ({listed})"),
    };
    (passed, reason)
}

fn equals(claims: &Map<String, Value>, name: &str, expected: &str) -> (bool, String) {
    let Some(value) = claims.get(name) else {
        return (false, format!("the token has no `{name}` claim"));
    };
    match value {
        Value::Array(_) => {
            let items = strings(value);
            let passed = items.iter().any(|i| i == expected);
            let listed = listing(&items);
            match passed {
                true => (true, format!("`{name}` includes `{expected}` ({listed})")),
                false => (
                    false,
                    format!("`{name}` does not include `{expected}` ({listed})"),
                ),
            }
        }
        _ => {
            let actual = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match actual == expected {
                true => (true, format!("`{name}` is `{expected}`")),
                false => (
                    false,
                    format!("`{name}` is `{}`, not `{expected}`", shorten(&actual)),
                ),
            }
        }
    }
}

/// A claim as a list of strings: a list's string items (others as JSON), or the one value.
fn strings(value: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

/// `a, b, c` for a message; long lists and values are cut.
fn listing(items: &[String]) -> String {
    if items.is_empty() {
        return "the list is empty".into();
    }
    let shown: Vec<String> = items.iter().take(8).map(|i| shorten(i)).collect();
    match items.len() > shown.len() {
        true => format!(
            "{} and {} more",
            shown.join(", "),
            items.len() - shown.len()
        ),
        false => shown.join(", "),
    }
}

fn shorten(text: &str) -> String {
    match text.chars().count() > 80 {
        true => format!("{}…", text.chars().take(80).collect::<String>()),
        false => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn judge(text: &str, v: Value) -> ExpectationCheck {
        text.parse::<Expectation>().unwrap().judge(&claims(v))
    }

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

    #[test]
    fn group_is_looked_up_in_cognito_groups_then_groups() {
        let token = json!({"cognito:groups": ["users", "admins"]});
        assert!(judge("group=admins", token.clone()).passed);
        let miss = judge("group=billing", token);
        assert!(!miss.passed);
        assert!(miss.reason.contains("users, admins"), "{}", miss.reason);
        assert!(judge("group=staff", json!({"groups": ["staff"]})).passed);
        let none = judge("group=admins", json!({"sub": "x"}));
        assert!(!none.passed && none.reason.contains("no `cognito:groups`"));
    }

    #[test]
    fn scope_is_a_word_of_the_scope_claim_not_a_substring() {
        let token = json!({"scope": "openid orders/read profile"});
        assert!(judge("scope=orders/read", token.clone()).passed);
        assert!(!judge("scope=orders", token).passed);
        assert!(judge("scope=api.read", json!({"scp": ["api.read"]})).passed);
        let id_token = judge("scope=orders/read", json!({"token_use": "id"}));
        assert!(!id_token.passed && id_token.reason.contains("access token"));
    }

    #[test]
    fn claim_equality_reads_strings_numbers_booleans_and_lists() {
        assert!(judge("custom:tenant=acme", json!({"custom:tenant": "acme"})).passed);
        let other = judge("custom:tenant=acme", json!({"custom:tenant": "globex"}));
        assert!(!other.passed);
        assert_eq!(other.reason, "`custom:tenant` is `globex`, not `acme`");
        assert!(judge("email_verified=true", json!({"email_verified": true})).passed);
        assert!(judge("custom:level=3", json!({"custom:level": 3})).passed);
        assert!(judge("amr=mfa", json!({"amr": ["pwd", "mfa"]})).passed);
        assert!(!judge("custom:tenant=acme", json!({})).passed);
    }

    #[test]
    fn a_profile_expectation_applies_to_the_token_that_carries_it() {
        let scope: Expectation = "scope=orders/read".parse().unwrap();
        let group: Expectation = "group=admins".parse().unwrap();
        let claim: Expectation = "custom:tenant=acme".parse().unwrap();
        assert!(scope.applies_to(TokenKind::Access) && !scope.applies_to(TokenKind::Id));
        assert!(group.applies_to(TokenKind::Access) && group.applies_to(TokenKind::Id));
        assert!(claim.applies_to(TokenKind::Id) && !claim.applies_to(TokenKind::Access));
        assert!(scope.applies_to(TokenKind::Unknown) && claim.applies_to(TokenKind::Unknown));
    }
}
