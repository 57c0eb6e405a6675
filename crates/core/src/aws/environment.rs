//! The environment a program gets the profile's AWS credentials in: the variables `latchkey
//! exec` sets for its child (and the ones it removes), and the same as `latchkey env` lines.

use serde_json::{Map, Value};

use super::credentials::{rfc3339, shell_quote, writable, UnwritableValue, WrittenValue};
use super::AwsCredentials;

/// Variables removed from the child's environment (and unset by `latchkey env`): each would
/// make an AWS SDK pick other credentials than the ones set beside it, or confuse which apply.
/// - `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`: a named profile; some SDKs then read its
///   credentials before or instead of the environment's.
/// - `AWS_SECURITY_TOKEN`: the session token's old name (boto2, old CLIs), a stale value.
/// - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
///   `AWS_CONTAINER_AUTHORIZATION_TOKEN`, `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: a
///   container-credentials endpoint (`latchkey aws serve`, ECS).
/// - `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`: a web identity to
///   assume a role with (EKS).
///
/// The set variables (`AWS_ACCESS_KEY_ID`, …, the region) replace any value already there.
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` stay: the SDKs read the environment's
/// credentials before those files, and the config file holds other settings too.
pub const SDK_CONFUSING_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
];

/// One variable an AWS SDK reads its credentials (or region) from. `Debug` names the variable
/// only: the value may be a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialVariable {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_CREDENTIAL_EXPIRATION`, `AWS_REGION` or `AWS_DEFAULT_REGION`.
    pub name: &'static str,
    value: String,
}

impl CredentialVariable {
    /// The value to hand to the program (a secret for the key and the session token).
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for CredentialVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=[redacted]", self.name)
    }
}

/// The variables for `creds` in `region` (the identity pool's), in the order the AWS CLI's
/// `configure export-credentials` prints them, then the region twice (`AWS_REGION` for the
/// current SDKs, `AWS_DEFAULT_REGION` for the AWS CLI and older ones). Refused when a value
/// holds a control character (the identity service never sends one).
pub fn credential_variables(
    creds: &AwsCredentials,
    region: &str,
) -> Result<Vec<CredentialVariable>, UnwritableValue> {
    let expiration = rfc3339(creds.expiration);
    let region = writable(WrittenValue::Region, region)?;
    [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose()),
        ("AWS_SESSION_TOKEN", creds.session_token.expose()),
        ("AWS_CREDENTIAL_EXPIRATION", expiration.as_str()),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
    ]
    .into_iter()
    .map(|(name, value)| {
        let value = writable(WrittenValue::Credential(name), value)?;
        Ok(CredentialVariable {
            name,
            value: value.to_owned(),
        })
    })
    .collect()
}

/// The shells `latchkey env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportShell {
    /// `export NAME='value'` (bash, zsh, any POSIX shell).
    Posix,
    /// `set -gx NAME 'value'`.
    Fish,
    /// `$Env:NAME = 'value'`.
    PowerShell,
    /// One JSON object of the variables (no unsetting: the caller decides).
    Json,
}

/// The text that puts `variables` into a shell's environment, after unsetting
/// [`SDK_CONFUSING_VARIABLES`]. Every value is quoted so that the shell takes it literally.
pub fn shell_exports(variables: &[CredentialVariable], shell: ExportShell) -> String {
    if shell == ExportShell::Json {
        let object: Map<String, Value> = variables
            .iter()
            .map(|v| (v.name.to_owned(), Value::String(v.value.clone())))
            .collect();
        return format!("{}\n", Value::Object(object));
    }
    let unset = SDK_CONFUSING_VARIABLES.iter().map(|name| match shell {
        ExportShell::Fish => format!("set -e {name}\n"),
        ExportShell::PowerShell => {
            format!("Remove-Item -ErrorAction SilentlyContinue Env:{name}\n")
        }
        _ => format!("unset {name}\n"),
    });
    let set = variables.iter().map(|v| match shell {
        ExportShell::Fish => format!("set -gx {} {}\n", v.name, fish_quote(&v.value)),
        ExportShell::PowerShell => format!("$Env:{} = {}\n", v.name, powershell_quote(&v.value)),
        _ => format!("export {}={}\n", v.name, shell_quote(&v.value)),
    });
    unset.chain(set).collect()
}

/// fish's single quotes: every character literal except `\\` and `\'`, which are escaped.
fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell's verbatim string: a quote inside is doubled. PowerShell also ends a verbatim
/// string at the typographic single quotes (U+2018–U+201B), so those are doubled too.
fn powershell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AwsSecretAccessKey, AwsSessionToken};
    use chrono::TimeZone;

    fn creds(session_token: &str) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAEXAMPLEKEYID0001".into(),
            secret_access_key: AwsSecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretKEY"),
            session_token: AwsSessionToken::new(session_token),
            expiration: chrono::Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
            identity_id: "us-east-1:0a1b2c3d-0000-4000-8000-000000000001".into(),
            role_arn: None,
            warning: None,
        }
    }

    #[test]
    fn the_variables_hold_the_credentials_and_the_region_and_debug_hides_them() {
        let vars = credential_variables(&creds("tok"), "eu-west-1").unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_CREDENTIAL_EXPIRATION",
                "AWS_REGION",
                "AWS_DEFAULT_REGION"
            ]
        );
        assert_eq!(vars[3].expose(), "2030-01-02T03:04:05Z");
        assert_eq!(vars[5].expose(), "eu-west-1");
        assert!(!format!("{vars:?}").contains("secretKEY"));
    }

    #[test]
    fn a_control_character_gets_no_variables() {
        let refused = credential_variables(&creds("a\nb"), "eu-west-1").unwrap_err();
        assert_eq!(refused.value, WrittenValue::Credential("AWS_SESSION_TOKEN"));
        let refused = credential_variables(&creds("t"), "eu\r-west-1").unwrap_err();
        assert_eq!(refused.value, WrittenValue::Region);
    }

    #[test]
    fn quotes_inside_values_are_escaped_for_each_shell() {
        assert_eq!(fish_quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(powershell_quote("a'b\u{2019}c"), "'a''b\u{2019}\u{2019}c'");
        let vars = credential_variables(&creds("x"), "eu-west-1").unwrap();
        let json: Value = serde_json::from_str(&shell_exports(&vars, ExportShell::Json)).unwrap();
        assert_eq!(json["AWS_SESSION_TOKEN"], "x");
        assert_eq!(json.as_object().unwrap().len(), 6);
    }
}
