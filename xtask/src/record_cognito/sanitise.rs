//! What the recorder writes never identifies a pool, an account or a person: every string of a
//! recorded answer goes through [`sanitise`], which replaces tokens, ids and account numbers.

use serde_json::Value;

/// The placeholders the fixtures use (fixtures/README.md).
pub const UUID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub const ACCOUNT: &str = "123456789012";
pub const TOKEN: &str = "TOKEN";
pub const POOL: &str = "REGION_POOL";
pub const CLIENT_ID: &str = "57cbishk4j24pabc1234567890";

/// What the recording knows to be identifying, besides what is recognised by its form.
pub struct Known {
    pub region: String,
    pub pool_id: String,
    pub domain: String,
    pub client_id: String,
}

/// `value` with every string sanitised; keys, structure and JSON types kept.
pub fn sanitise(value: &Value, known: &Known) -> Value {
    match value {
        Value::String(s) => Value::String(sanitise_text(s, known)),
        Value::Array(items) => Value::Array(items.iter().map(|v| sanitise(v, known)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), sanitise(v, known)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One string: a whole token becomes [`TOKEN`]; within text, the known names, UUIDs and
/// twelve-digit account numbers become their placeholders.
pub fn sanitise_text(s: &str, known: &Known) -> String {
    if looks_like_jwt(s) {
        return TOKEN.to_owned();
    }
    let mut out = s.to_owned();
    for (secret, placeholder) in [
        (known.pool_id.as_str(), POOL),
        (known.domain.as_str(), "DOMAIN"),
        (known.client_id.as_str(), CLIENT_ID),
        (known.region.as_str(), "REGION"),
    ] {
        if !secret.is_empty() {
            out = out.replace(secret, placeholder);
        }
    }
    replace_runs(&out, 36, is_uuid, UUID).pipe(|s| replace_digit_runs(&s, 12, ACCOUNT))
}

/// Three base64url segments, the first a JSON header (`eyJ`): a JWS.
fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && s.starts_with("eyJ")
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Every `len`-byte window of `s` (on char boundaries) that `matches` becomes `with`.
fn replace_runs(s: &str, len: usize, matches: fn(&str) -> bool, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s.get(i..i + len).is_some_and(matches) {
            out.push_str(with);
            i += len;
        } else {
            let c = s[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every run of exactly `len` ASCII digits (not part of a longer number) becomes `with`.
fn replace_digit_runs(s: &str, len: usize, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        out.push_str(if run.len() == len { with } else { run });
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `x.pipe(f)` is `f(x)`: keeps a chain of rewrites reading top to bottom.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for String {}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            region: "eu-west-1".into(),
            pool_id: "eu-west-1_zwqFAay0e".into(),
            domain: "myapp".into(),
            client_id: "6vbito08gkhup80da1o8950fqa".into(),
        }
    }

    fn fixtures() -> Vec<(String, Value)> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/devidp/fixtures");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 8, "the fixtures are at {}", dir.display());
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (
                    p.display().to_string(),
                    serde_json::from_str(&text).unwrap(),
                )
            })
            .collect()
    }

    /// The same keys at every depth and the same JSON types.
    fn same_shape(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
            }
            (Value::String(_), Value::String(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Null, Value::Null) => true,
            _ => false,
        }
    }

    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(m) => m.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_fixtures_keep_their_shape_and_lose_every_identifier() {
        for (path, fixture) in fixtures() {
            let clean = sanitise(&fixture, &known());
            assert!(same_shape(&fixture, &clean), "{path}: the shape changed");
            assert_eq!(sanitise(&clean, &known()), clean, "{path}: not idempotent");
            let mut texts = Vec::new();
            strings(&clean, &mut texts);
            for text in texts {
                assert!(!looks_like_jwt(&text), "{path}: a token is left");
                for secret in ["zwqFAay0e", "6vbito08gkhup80da1o8950fqa", "eu-west-1"] {
                    assert!(!text.contains(secret), "{path}: {secret} is left in {text}");
                }
                let others = text.replace(UUID, "");
                assert_eq!(
                    replace_runs(&others, 36, is_uuid, ""),
                    others,
                    "{path}: a UUID other than the placeholder in {text}"
                );
            }
        }
    }

    #[test]
    fn a_recorded_answer_loses_its_tokens_ids_and_account_numbers() {
        let recorded = serde_json::json!({
            "IdToken": "eyJraWQiOiJrIn0.eyJzdWIiOiJ4In0.c2ln",
            "arn": "arn:aws:iam::210987654321:role/Cognito_Auth",
            "sub": "87858087-1c24-4199-bc29-25b12b43e180",
            "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_zwqFAay0e",
            "aud": "6vbito08gkhup80da1o8950fqa",
            "authorization_endpoint": "https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
            "exp": 1559807842,
            "dateCreated": "1555128389392",
        });
        let clean = sanitise(&recorded, &known());
        assert_eq!(clean["IdToken"], TOKEN);
        assert_eq!(
            clean["arn"],
            format!("arn:aws:iam::{ACCOUNT}:role/Cognito_Auth")
        );
        assert_eq!(clean["sub"], UUID);
        assert_eq!(
            clean["iss"],
            "https://cognito-idp.REGION.amazonaws.com/REGION_POOL"
        );
        assert_eq!(clean["aud"], CLIENT_ID);
        assert_eq!(
            clean["authorization_endpoint"],
            "https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/authorize"
        );
        assert_eq!(clean["exp"], 1559807842, "numbers are not identifiers");
        assert_eq!(
            clean["dateCreated"], "1555128389392",
            "13 digits: a time, not an account"
        );
    }
}
