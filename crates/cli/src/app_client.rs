//! A Cognito app client's settings read from files other tools write (`aws cognito-idp
//! describe-user-pool-client`, Amplify's amplify_outputs.json and aws-exports.js) as a draft.
//!
//! The file is untrusted input: nothing in it runs (aws-exports.js is read as data, never
//! executed), every value lands in a [`ProfileDraft`] that core validates like typed flags,
//! and each one is recorded with the key it came from so the user sees it before it is saved.

use std::fmt;

use latchkey_core::config::{AwsDraft, ProfileDraft};
use serde_json::Value;
use url::Url;

/// The formats `profile add --from-file` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppClientFormat {
    /// `aws cognito-idp describe-user-pool-client`'s JSON (`{"UserPoolClient": {…}}`).
    DescribeUserPoolClient,
    /// Amplify Gen 2's `amplify_outputs.json` (`{"auth": {…}}`).
    AmplifyOutputs,
    /// Amplify Gen 1's `aws-exports.js` (a JavaScript object literal).
    AwsExports,
}

impl fmt::Display for AppClientFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AppClientFormat::DescribeUserPoolClient => "aws cognito-idp describe-user-pool-client",
            AppClientFormat::AmplifyOutputs => "Amplify Gen 2 amplify_outputs.json",
            AppClientFormat::AwsExports => "Amplify Gen 1 aws-exports.js",
        })
    }
}

/// One value read: the profile setting it became and the key of the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadValue {
    pub setting: &'static str,
    pub value: String,
    pub source: String,
}

/// What a file said, as a draft for core's validation, with where each value came from and
/// what the user must still do at the provider.
#[derive(Debug, Clone)]
pub struct AppClient {
    pub format: AppClientFormat,
    pub draft: ProfileDraft,
    pub read: Vec<ReadValue>,
    /// Callback or sign-out URLs Latchkey cannot use, and what to register instead.
    pub notes: Vec<String>,
}

/// Why a file could not be read as an app client; every message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppClientError {
    #[error("{file} is not JSON, nor an aws-exports.js object literal: {message}. Pass the output of `aws cognito-idp describe-user-pool-client`, amplify_outputs.json or aws-exports.js as written.")]
    Syntax { file: String, message: String },
    #[error("{file} has neither `UserPoolClient` (describe-user-pool-client), `auth` (amplify_outputs.json) nor `aws_user_pools_id` (aws-exports.js) at its top level. Pass one of those files as written.")]
    UnknownShape { file: String },
    #[error("{file}: `{key}` is missing. {fix}")]
    Missing {
        file: String,
        key: String,
        fix: &'static str,
    },
    #[error(
        "{file}: `{key}` must be {expected}. Fix the file, or pass the file as its tool wrote it."
    )]
    WrongType {
        file: String,
        key: String,
        expected: &'static str,
    },
    #[error("{file}: `UserPoolClient.ClientSecret` is set: this app client is confidential. A desktop app cannot keep a client secret (RFC 8252 §8.5) and Latchkey does not sign in with one yet; nothing was saved. Create a public app client (no secret) in the same user pool and import that one.")]
    ClientSecret { file: String },
    #[error("{file}: `UserPoolClient.AllowedOAuthFlows` does not include `code`: Latchkey signs in with the authorization code grant and PKCE. Enable \"Authorization code grant\" on the app client, then export it again.")]
    NoCodeFlow { file: String },
    #[error("{file} has no hosted-UI domain (describe-user-pool-client does not print it). Pass --domain: the pool's domain from the console (App integration → Domain), or `UserPool.Domain` in what `aws cognito-idp describe-user-pool --user-pool-id ID` prints (a prefix).")]
    NoDomain { file: String },
}

impl AppClientError {
    fn missing(file: &str, key: &str, fix: &'static str) -> Self {
        AppClientError::Missing {
            file: file.to_owned(),
            key: key.to_owned(),
            fix,
        }
    }
}

/// The hints of a missing key, by format.
const REEXPORT: &str = "Export the app client again with `aws cognito-idp describe-user-pool-client --user-pool-id ID --client-id ID`.";
const AMPLIFY_AUTH: &str = "The app has no Cognito user pool in this file: run `npx ampx generate outputs` (Gen 2) or `amplify pull` (Gen 1) after adding auth.";
const AMPLIFY_OAUTH: &str = "The app has no hosted UI (oauth) configured: add a domain and external providers to its auth, or pass --domain.";

/// Reads `text` (the contents of `file`, used in messages) as one of the formats; `domain`
/// (the `--domain` flag) is required for describe-user-pool-client and wins over a file's.
pub fn read(file: &str, text: &str, domain: Option<&str>) -> Result<AppClient, AppClientError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let (format, root) = if trimmed.starts_with('{') {
        let root: Value = serde_json::from_str(trimmed).map_err(|e| AppClientError::Syntax {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        (json_format(file, &root)?, root)
    } else {
        (AppClientFormat::AwsExports, object_literal(file, text)?)
    };
    let mut reader = Reader {
        file,
        read: Vec::new(),
        notes: Vec::new(),
        draft: ProfileDraft {
            kind: Some("cognito".into()),
            ..ProfileDraft::default()
        },
    };
    match format {
        AppClientFormat::DescribeUserPoolClient => reader.describe(&root, domain)?,
        AppClientFormat::AmplifyOutputs => reader.amplify_outputs(&root, domain)?,
        AppClientFormat::AwsExports => reader.aws_exports(&root, domain)?,
    }
    Ok(AppClient {
        format,
        draft: reader.draft,
        read: reader.read,
        notes: reader.notes,
    })
}

/// Which JSON format `root` is, by its top-level key.
fn json_format(file: &str, root: &Value) -> Result<AppClientFormat, AppClientError> {
    if root.get("UserPoolClient").is_some() {
        Ok(AppClientFormat::DescribeUserPoolClient)
    } else if root.get("auth").is_some() {
        Ok(AppClientFormat::AmplifyOutputs)
    } else if root.get("aws_user_pools_id").is_some() {
        Ok(AppClientFormat::AwsExports)
    } else {
        Err(AppClientError::UnknownShape {
            file: file.to_owned(),
        })
    }
}

/// The object literal of an aws-exports.js (`const awsmobile = {…}; export default awsmobile;`
/// or `module.exports = {…}`), read as JSON5 (unquoted keys, single quotes, comments and
/// trailing commas allowed); nothing is evaluated.
fn object_literal(file: &str, text: &str) -> Result<Value, AppClientError> {
    let syntax = |message: String| AppClientError::Syntax {
        file: file.to_owned(),
        message,
    };
    let start = text
        .find('{')
        .ok_or_else(|| syntax("no `{` starts an object".into()))?;
    let end = text
        .rfind('}')
        .filter(|end| *end > start)
        .ok_or_else(|| syntax("no `}` ends the object".into()))?;
    let root: Value = json5::from_str(&text[start..=end]).map_err(|e| syntax(e.to_string()))?;
    match root.get("aws_user_pools_id") {
        Some(_) => Ok(root),
        None => Err(AppClientError::UnknownShape {
            file: file.to_owned(),
        }),
    }
}

/// Collects the draft, the values read and the notes while one file is read.
struct Reader<'a> {
    file: &'a str,
    draft: ProfileDraft,
    read: Vec<ReadValue>,
    notes: Vec<String>,
}

impl Reader<'_> {
    /// The string at `path` (dotted, for messages) under `root`; `None` when absent or null.
    fn string(&self, root: &Value, path: &str) -> Result<Option<String>, AppClientError> {
        match lookup(root, path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong_type(path, "a string")),
        }
    }

    /// A string at `path` that must be there.
    fn required(
        &self,
        root: &Value,
        path: &str,
        fix: &'static str,
    ) -> Result<String, AppClientError> {
        self.string(root, path)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| AppClientError::missing(self.file, path, fix))
    }

    /// The strings at `path`: an array of strings, or (aws-exports' `redirectSignIn`) one
    /// comma-separated string.
    fn strings(&self, root: &Value, path: &str) -> Result<Vec<String>, AppClientError> {
        match lookup(root, path) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| self.wrong_type(path, "an array of strings")),
            Some(_) => Err(self.wrong_type(path, "an array of strings")),
        }
    }

    fn wrong_type(&self, path: &str, expected: &'static str) -> AppClientError {
        AppClientError::WrongType {
            file: self.file.to_owned(),
            key: path.to_owned(),
            expected,
        }
    }

    fn note(&mut self, setting: &'static str, value: &str, source: &str) {
        self.read.push(ReadValue {
            setting,
            value: value.to_owned(),
            source: source.to_owned(),
        });
    }

    /// `{"UserPoolClient": {"UserPoolId", "ClientId", "ClientSecret"?, "CallbackURLs", …}}`.
    fn describe(&mut self, root: &Value, domain: Option<&str>) -> Result<(), AppClientError> {
        if self.string(root, "UserPoolClient.ClientSecret")?.is_some() {
            return Err(AppClientError::ClientSecret {
                file: self.file.to_owned(),
            });
        }
        let flows = self.strings(root, "UserPoolClient.AllowedOAuthFlows")?;
        if !flows.is_empty() && !flows.iter().any(|f| f == "code") {
            return Err(AppClientError::NoCodeFlow {
                file: self.file.to_owned(),
            });
        }
        let pool = self.required(root, "UserPoolClient.UserPoolId", REEXPORT)?;
        self.user_pool(&pool, "UserPoolClient.UserPoolId", None)?;
        let client = self.required(root, "UserPoolClient.ClientId", REEXPORT)?;
        self.client_id(&client, "UserPoolClient.ClientId");
        let domain = domain.ok_or_else(|| AppClientError::NoDomain {
            file: self.file.to_owned(),
        })?;
        self.note("domain", domain, "--domain");
        self.draft.domain = Some(domain.to_owned());
        self.scopes(root, "UserPoolClient.AllowedOAuthScopes")?;
        self.callbacks(root, "UserPoolClient.CallbackURLs")?;
        self.sign_out(root, "UserPoolClient.LogoutURLs")
    }

    /// amplify_outputs.json: `auth.user_pool_id`, `auth.user_pool_client_id`, `auth.aws_region`,
    /// `auth.identity_pool_id`, `auth.oauth.{domain, scopes, redirect_sign_in_uri, …}`.
    fn amplify_outputs(
        &mut self,
        root: &Value,
        domain: Option<&str>,
    ) -> Result<(), AppClientError> {
        let pool = self.required(root, "auth.user_pool_id", AMPLIFY_AUTH)?;
        let region = self.string(root, "auth.aws_region")?;
        self.user_pool(
            &pool,
            "auth.user_pool_id",
            region.map(|r| (r, "auth.aws_region")),
        )?;
        let client = self.required(root, "auth.user_pool_client_id", AMPLIFY_AUTH)?;
        self.client_id(&client, "auth.user_pool_client_id");
        self.domain(root, "auth.oauth.domain", domain)?;
        self.scopes(root, "auth.oauth.scopes")?;
        self.callbacks(root, "auth.oauth.redirect_sign_in_uri")?;
        self.sign_out(root, "auth.oauth.redirect_sign_out_uri")?;
        self.identity_pool(root, "auth.identity_pool_id")
    }

    /// aws-exports.js: `aws_user_pools_id`, `aws_user_pools_web_client_id`,
    /// `aws_cognito_region`/`aws_project_region`, `aws_cognito_identity_pool_id`, `oauth.*`.
    fn aws_exports(&mut self, root: &Value, domain: Option<&str>) -> Result<(), AppClientError> {
        let pool = self.required(root, "aws_user_pools_id", AMPLIFY_AUTH)?;
        let region = match self.string(root, "aws_cognito_region")? {
            Some(r) => Some((r, "aws_cognito_region")),
            None => self
                .string(root, "aws_project_region")?
                .map(|r| (r, "aws_project_region")),
        };
        self.user_pool(&pool, "aws_user_pools_id", region)?;
        let client = self.required(root, "aws_user_pools_web_client_id", AMPLIFY_AUTH)?;
        self.client_id(&client, "aws_user_pools_web_client_id");
        self.domain(root, "oauth.domain", domain)?;
        self.scopes(root, "oauth.scope")?;
        self.callbacks(root, "oauth.redirectSignIn")?;
        self.sign_out(root, "oauth.redirectSignOut")?;
        self.identity_pool(root, "aws_cognito_identity_pool_id")
    }

    /// The user pool id and its region: the file's, else the pool id's prefix
    /// (`eu-west-1_AbC` → `eu-west-1`).
    fn user_pool(
        &mut self,
        pool: &str,
        source: &str,
        region: Option<(String, &str)>,
    ) -> Result<(), AppClientError> {
        self.note("user_pool_id", pool, source);
        self.draft.user_pool_id = Some(pool.to_owned());
        let (region, from) = match region {
            Some((region, key)) => (region, key.to_owned()),
            None => match pool.split_once('_') {
                Some((prefix, _)) => (prefix.to_owned(), format!("{source} (its prefix)")),
                None => return Err(AppClientError::missing(self.file, "region", REEXPORT)),
            },
        };
        self.note("region", &region, &from);
        self.draft.region = Some(region);
        Ok(())
    }

    fn client_id(&mut self, client: &str, source: &str) {
        self.note("client_id", client, source);
        self.draft.client_id = Some(client.to_owned());
    }

    /// The hosted-UI domain: `--domain` when given, else the file's.
    fn domain(
        &mut self,
        root: &Value,
        key: &str,
        flag: Option<&str>,
    ) -> Result<(), AppClientError> {
        let (domain, source) = match flag {
            Some(d) => (d.to_owned(), "--domain".to_owned()),
            None => (self.required(root, key, AMPLIFY_OAUTH)?, key.to_owned()),
        };
        self.note("domain", &domain, &source);
        self.draft.domain = Some(domain);
        Ok(())
    }

    fn scopes(&mut self, root: &Value, key: &str) -> Result<(), AppClientError> {
        let scopes = self.strings(root, key)?;
        if !scopes.is_empty() {
            self.note("scopes", &scopes.join(" "), key);
            self.draft.scopes = Some(scopes);
        }
        Ok(())
    }

    fn identity_pool(&mut self, root: &Value, key: &str) -> Result<(), AppClientError> {
        if let Some(id) = self.string(root, key)?.filter(|id| !id.is_empty()) {
            self.note("aws.identity_pool_id", &id, key);
            self.draft.aws = Some(AwsDraft {
                identity_pool_id: Some(id),
                ..AwsDraft::default()
            });
        }
        Ok(())
    }

    /// The registered callback URLs: the loopback ones (port 1024 or above) give the profile
    /// its redirect host, path and ports; the others are reported.
    fn callbacks(&mut self, root: &Value, key: &str) -> Result<(), AppClientError> {
        let urls = self.strings(root, key)?;
        let (usable, unusable): (Vec<_>, Vec<_>) = urls.iter().partition(|u| loopback(u).is_some());
        for url in &unusable {
            self.notes.push(format!(
                "{url} ({key}) is not a loopback address: Latchkey cannot receive the sign-in there."
            ));
        }
        let Some(first) = usable.first().and_then(|u| loopback(u)) else {
            self.notes.push(format!(
                "{key} has no loopback callback URL: register http://localhost:53682/callback, http://localhost:53683/callback and http://localhost:53684/callback under the app client's Allowed callback URLs (`latchkey profile show NAME` lists them)."
            ));
            return Ok(());
        };
        let ports: Vec<i64> = usable
            .iter()
            .filter_map(|u| loopback(u))
            .filter(|l| l.host == first.host && l.path == first.path)
            .map(|l| i64::from(l.port))
            .collect();
        let used: Vec<String> = ports
            .iter()
            .map(|p| format!("http://{}:{p}{}", first.host, first.path))
            .collect();
        self.note("redirect URIs", &used.join(" "), key);
        self.draft.redirect_host = Some(first.host);
        self.draft.redirect_path = Some(first.path);
        self.draft.ports = Some(ports);
        Ok(())
    }

    /// A loopback sign-out URL becomes the profile's `sign_out_uri`.
    fn sign_out(&mut self, root: &Value, key: &str) -> Result<(), AppClientError> {
        let urls = self.strings(root, key)?;
        if let Some(url) = urls.iter().find(|u| loopback(u).is_some()) {
            self.note("sign_out_uri", url, key);
            self.draft.sign_out_uri = Some(url.clone());
        }
        Ok(())
    }
}

/// A callback URL Latchkey's listener can serve: http on a loopback host, port 1024 or above.
struct Loopback {
    host: String,
    port: u16,
    path: String,
}

fn loopback(url: &str) -> Option<Loopback> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?;
    let loopback_host = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let port = url.port().filter(|p| *p >= 1024)?;
    (url.scheme() == "http" && loopback_host).then(|| Loopback {
        host: host.to_owned(),
        port,
        path: url.path().to_owned(),
    })
}

/// The value at a dotted `path` under `root`.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, key| v.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_loopback_callback_gives_the_profile_its_ports() {
        let json = r#"{"UserPoolClient": {"UserPoolId": "eu-west-1_AbC", "ClientId": "c1",
            "CallbackURLs": ["https://app.example.com/", "http://localhost:53690/cb", "http://localhost:53691/cb"]}}"#;
        let client = read("c.json", json, Some("myapp")).unwrap();
        assert_eq!(client.draft.ports, Some(vec![53690, 53691]));
        assert_eq!(client.draft.redirect_path.as_deref(), Some("/cb"));
        assert_eq!(client.draft.region.as_deref(), Some("eu-west-1"));
        assert_eq!(client.notes.len(), 1, "{:?}", client.notes);
    }

    #[test]
    fn an_object_literal_with_comments_and_single_quotes_is_read_as_data() {
        let js = "// generated\nconst awsmobile = {\n  aws_user_pools_id: 'us-east-1_X1',\n  \"aws_user_pools_web_client_id\": \"w1\", // the client\n  oauth: { domain: 'x.auth.us-east-1.amazoncognito.com', scope: ['openid'], },\n};\nexport default awsmobile;\n";
        let client = read("aws-exports.js", js, None).unwrap();
        assert_eq!(client.format, AppClientFormat::AwsExports);
        assert_eq!(client.draft.client_id.as_deref(), Some("w1"));
        assert_eq!(client.draft.scopes, Some(vec!["openid".to_owned()]));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_key() {
        let json = r#"{"auth": {"user_pool_id": 42}}"#;
        let e = read("amplify_outputs.json", json, None).unwrap_err();
        assert!(
            matches!(e, AppClientError::WrongType { ref key, .. } if key == "auth.user_pool_id")
        );
    }
}
