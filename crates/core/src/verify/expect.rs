//! Judging the assertions a user sets on a token ([`Expectation`]: "expect group `admins`",
//! "expect scope `orders/read`", "expect `custom:tenant` = acme") against its decoded claims.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Expectation;
use crate::inspect::TokenKind;

/// The outcome of one expectation on one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationCheck {
    /// The expectation judged, as the profile or `--expect` states it.
    pub expectation: Expectation,
    /// True when the token's claims satisfy the expectation.
    pub passed: bool,
    /// Why, naming the claim read and what it holds: "`cognito:groups` does not include `admins`
    /// (…)", or that the token has no such claim.
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
