//! Temporary AWS credentials from an identity pool, and the forms they leave Latchkey in: the
//! `credential_process` JSON the AWS SDKs read, `export AWS_…=` lines for a shell, and the
//! `~/.aws/config` section that makes the SDKs run `latchkey aws credentials`. A value that
//! could break out of its line (a control character) is refused there, never quoted.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::secret::{AwsSecretAccessKey, AwsSessionToken};

/// One set of temporary credentials. `Debug` shows the access key id (not a secret: AWS logs
/// it in CloudTrail) but never the secret access key or the session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `ASIA…` for temporary credentials.
    pub access_key_id: String,
    /// The secret key that signs requests (`AWS_SECRET_ACCESS_KEY`); never shown by `Debug`.
    pub secret_access_key: AwsSecretAccessKey,
    /// The session token sent with every signed request (`AWS_SESSION_TOKEN`); never shown by
    /// `Debug`.
    pub session_token: AwsSessionToken,
    /// When AWS stops accepting them, as the identity service or STS sent it (`Expiration`).
    pub expiration: DateTime<Utc>,
    /// The user's identity in the pool (`REGION:GUID`), stable for a user and pool.
    pub identity_id: String,
    /// The IAM role, when known: the role asked for (`role_arn`), or the role STS assumed.
    pub role_arn: Option<String>,
    /// Set when they are handed out in spite of a problem (a refetch failed while these are
    /// still valid): say it, and use them.
    pub warning: Option<String>,
}

impl AwsCredentials {
    /// Seconds until they expire (negative once expired).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.expiration - now).num_seconds()
    }
}

/// The `credential_process` output: `Version` 1, the three values and an RFC 3339 expiry
/// (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html>).
/// It contains the secrets on purpose: it is written to the AWS SDK that ran us, nowhere else.
pub fn credential_process_json(creds: &AwsCredentials) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct ProcessOutput<'a> {
        version: u8,
        access_key_id: &'a str,
        secret_access_key: &'a str,
        session_token: &'a str,
        expiration: String,
    }
    let output = ProcessOutput {
        version: 1,
        access_key_id: &creds.access_key_id,
        secret_access_key: creds.secret_access_key.expose(),
        session_token: creds.session_token.expose(),
        expiration: rfc3339(creds.expiration),
    };
    serde_json::to_string_pretty(&output).expect("plain strings serialise")
}

/// `export AWS_ACCESS_KEY_ID='…'` lines for a POSIX shell (`eval "$(latchkey aws credentials
/// --format env)"`), the same variables as `aws configure export-credentials --format env`.
/// Refused when a value the identity service sent holds a control character.
pub fn env_exports(creds: &AwsCredentials) -> Result<String, UnwritableValue> {
    [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose()),
        ("AWS_SESSION_TOKEN", creds.session_token.expose()),
        ("AWS_CREDENTIAL_EXPIRATION", &rfc3339(creds.expiration)),
    ]
    .iter()
    .map(|&(name, value)| {
        let value = writable(WrittenValue::Credential(name), value)?;
        Ok(format!("export {name}={}\n", shell_quote(value)))
    })
    .collect()
}

/// The `~/.aws/config` section for AWS profile `aws_profile`: `credential_process` runs
/// `program aws credentials --profile latchkey_profile` (the program by absolute path: the
/// SDKs do not search `PATH` the way a shell does), `region` is the identity pool's. Refused,
/// with no text at all, when any of the four holds a control character: a line break in a
/// name would start a `[profile …]` section or a `credential_process` line of its own.
pub fn config_snippet(
    aws_profile: &str,
    program: &Path,
    latchkey_profile: &str,
    region: &str,
) -> Result<String, UnwritableValue> {
    let aws_profile = writable(WrittenValue::AwsProfile, aws_profile)?;
    let program = program.to_string_lossy();
    let program = writable(WrittenValue::Program, &program)?;
    let latchkey_profile = writable(WrittenValue::LatchkeyProfile, latchkey_profile)?;
    let region = writable(WrittenValue::Region, region)?;
    let command = [program, "aws", "credentials", "--profile", latchkey_profile]
        .map(process_argument)
        .join(" ");
    Ok(format!(
        "# AWS credentials from Latchkey profile `{latchkey_profile}` (sign in with `latchkey login`)\n\
         [profile {aws_profile}]\n\
         credential_process = {command}\n\
         region = {region}\n"
    ))
}

/// Which value a [`UnwritableValue`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrittenValue {
    /// The `[profile …]` name (`--aws-profile`).
    AwsProfile,
    /// The path of the `latchkey` program that `credential_process` runs.
    Program,
    /// The Latchkey profile's name (`--profile` in `credential_process`).
    LatchkeyProfile,
    /// The identity pool's region.
    Region,
    /// A value the identity service sent, by the variable it goes into (`AWS_SESSION_TOKEN`).
    Credential(&'static str),
}

/// A value Latchkey will not write into AWS configuration text or a shell line, because it
/// holds a control character (or a line separator) that could start a line of its own. The
/// message names the value and the character, never the text (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} contains the control character U+{:04X}, which could start a line of its own, so Latchkey wrote nothing. {}", what(.value), u32::from(*.character), fix(.value))]
pub struct UnwritableValue {
    /// Which value was refused.
    pub value: WrittenValue,
    /// The first control character or line separator found in it.
    pub character: char,
}

impl UnwritableValue {
    /// [`ErrorKind::Config`] for names, paths and settings; [`ErrorKind::ProviderError`] for
    /// what the identity service sent.
    pub fn kind(&self) -> ErrorKind {
        match self.value {
            WrittenValue::Credential(_) => ErrorKind::ProviderError,
            _ => ErrorKind::Config,
        }
    }
}

impl From<UnwritableValue> for Error {
    fn from(err: UnwritableValue) -> Self {
        Error::new(err.kind(), err.to_string())
    }
}

fn what(value: &WrittenValue) -> String {
    match value {
        WrittenValue::AwsProfile => "the AWS profile name".to_owned(),
        WrittenValue::Program => "the path of the latchkey program".to_owned(),
        WrittenValue::LatchkeyProfile => "the Latchkey profile's name".to_owned(),
        WrittenValue::Region => "the identity pool's region".to_owned(),
        WrittenValue::Credential(variable) => {
            format!("the {variable} value the identity service sent")
        }
    }
}

fn fix(value: &WrittenValue) -> &'static str {
    match value {
        WrittenValue::AwsProfile => {
            "Give --aws-profile a name of letters, digits, `.`, `_` and `-`."
        }
        WrittenValue::Program => {
            "Install latchkey at a path without control characters, or write the credential_process line by hand."
        }
        WrittenValue::LatchkeyProfile => {
            "Rename the profile in the profiles file to letters, digits, `.`, `_` and `-`."
        }
        WrittenValue::Region => {
            "Check `identity_pool_id` and `region` in the profile's [aws] table."
        }
        WrittenValue::Credential(_) => {
            "AWS never sends one: check `identity_endpoint` in the profile's [aws] table, or try again later."
        }
    }
}

/// `text` when it can be written into a line as it is: no C0 or C1 control character
/// (newline, CR, NUL, tab, ESC, NEL, …), no DEL, no Unicode line or paragraph separator.
pub(super) fn writable(value: WrittenValue, text: &str) -> Result<&str, UnwritableValue> {
    let breaks_a_line = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    match text.chars().find(|&c| breaks_a_line(c)) {
        Some(character) => Err(UnwritableValue { value, character }),
        None => Ok(text),
    }
}

/// An AWS profile name for a Latchkey profile: the characters the AWS tools accept in
/// `[profile …]` as they are, any other as `-`.
pub fn aws_profile_name(latchkey_profile: &str) -> String {
    latchkey_profile
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '-',
        })
        .collect()
}

/// One argument of a `credential_process` line. The SDKs split the line like a POSIX shell
/// (botocore: `shlex`); an argument with spaces, quotes or backslashes goes in double quotes.
fn process_argument(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=+@,".contains(c));
    if plain {
        return arg.to_owned();
    }
    let escaped: String = arg
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' | '$' | '`' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Single quotes keep every character literal in a POSIX shell; a `'` inside becomes `'\''`.
pub(super) fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAEXAMPLEKEYID0001".into(),
            secret_access_key: AwsSecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretKEY"),
            session_token: AwsSessionToken::new("IQoJb3JpZ2luX2VjEJr//////////sessionTOKEN=="),
            expiration: Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
            identity_id: "us-east-1:0a1b2c3d-0000-4000-8000-000000000001".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/Dev".into()),
            warning: None,
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", sample());
        assert!(text.contains("ASIAEXAMPLEKEYID0001"));
        assert!(
            !text.contains("secretKEY") && !text.contains("sessionTOKEN"),
            "{text}"
        );
    }

    #[test]
    fn credential_process_output_has_the_documented_fields() {
        let v: serde_json::Value =
            serde_json::from_str(&credential_process_json(&sample())).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["AccessKeyId"], "ASIAEXAMPLEKEYID0001");
        assert_eq!(
            v["SecretAccessKey"],
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretKEY"
        );
        assert_eq!(
            v["SessionToken"],
            "IQoJb3JpZ2luX2VjEJr//////////sessionTOKEN=="
        );
        assert_eq!(v["Expiration"], "2030-01-02T03:04:05Z");
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn the_config_snippet_runs_latchkey_by_absolute_path_for_the_profile() {
        let snippet = config_snippet(
            "work",
            Path::new("/opt/Latchkey tools/latchkey"),
            "my work",
            "eu-west-1",
        )
        .unwrap();
        assert!(snippet.contains("[profile work]\n"), "{snippet}");
        assert!(
            snippet.contains(
                "credential_process = \"/opt/Latchkey tools/latchkey\" aws credentials --profile \"my work\"\n"
            ),
            "{snippet}"
        );
        assert!(snippet.ends_with("region = eu-west-1\n"), "{snippet}");
        assert_eq!(aws_profile_name("my work/1"), "my-work-1");
        assert_eq!(process_argument(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn a_name_with_a_line_break_gets_no_snippet() {
        let injected = "work\n[profile default]\ncredential_process = /tmp/not-latchkey";
        let program = Path::new("/usr/bin/latchkey");
        let refused = config_snippet(injected, program, "work", "us-east-1").unwrap_err();
        assert_eq!(
            (refused.value, refused.character),
            (WrittenValue::AwsProfile, '\n')
        );
        assert_eq!(Error::from(refused).kind(), ErrorKind::Config);
        let refused = |aws_profile, program: &str, latchkey_profile, region| {
            config_snippet(aws_profile, Path::new(program), latchkey_profile, region)
                .unwrap_err()
                .value
        };
        assert_eq!(
            refused(
                "work",
                "/usr/bin/latchkey",
                "a\r[profile default]",
                "us-east-1"
            ),
            WrittenValue::LatchkeyProfile
        );
        assert_eq!(
            refused("work", "/opt/x\0/latchkey", "work", "us-east-1"),
            WrittenValue::Program
        );
        assert_eq!(
            refused("work", "/usr/bin/latchkey", "work", "us-east-1\u{2028}x"),
            WrittenValue::Region
        );
        assert_eq!(
            refused("a\tb", "/usr/bin/latchkey", "work", "us-east-1"),
            WrittenValue::AwsProfile
        );
    }

    #[test]
    fn credentials_with_a_control_character_get_no_env_lines() {
        let mut creds = sample();
        creds.session_token = AwsSessionToken::new("IQoJ\nexport PATH=/tmp/evil");
        let refused = env_exports(&creds).unwrap_err();
        assert_eq!(refused.value, WrittenValue::Credential("AWS_SESSION_TOKEN"));
        let error = Error::from(refused);
        assert_eq!(error.kind(), ErrorKind::ProviderError);
        assert!(!error.message().contains("evil"), "the value is not quoted");
    }

    #[cfg(unix)]
    #[test]
    fn env_lines_survive_a_posix_shell() {
        let mut creds = sample();
        creds.session_token = AwsSessionToken::new("it's $(not) `run`");
        let exports = env_exports(&creds).unwrap();
        let script = format!("{exports}printf '%s' \"$AWS_SESSION_TOKEN\"");
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's $(not) `run`");
        assert!(exports.contains("export AWS_CREDENTIAL_EXPIRATION='2030-01-02T03:04:05Z'"));
    }
}
