//! `ProfileDraft`: a profile as written (the TOML table, the app's form, the CLI's flags), every
//! field optional and unchecked. `validate` turns it into a [`Profile`] or says what is wrong.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::validate;
use super::{
    AgentDraft, BrowserDraft, ConfigError, IdentityFlow, IdentityPoolSettings, Profile,
    ProfileKind, Scheme, TokenChoice, DEFAULT_PORTS,
};

/// A profile as the user wrote it. Unknown fields are refused (a typo is not ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDraft {
    /// `cognito` or `oidc`; when absent, `cognito` if `user_pool_id` is set, else `oidc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Cognito: the user pool's AWS region, e.g. `eu-west-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Cognito: the user pool id, e.g. `eu-west-1_AbCdEf123`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    /// Cognito: the hosted-UI domain, as a prefix (`myapp`), a host or a full https URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// OIDC: the issuer URL (required). Cognito: an issuer override for local emulators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The app client id shown by the provider (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Always refused (RFC 8252 §8.5); read so the refusal can say why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The scopes to ask for; must include `openid` (default `openid`, `email`, `profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The redirect URI's loopback host: `localhost` (Cognito default), `127.0.0.1` (OIDC
    /// default) or `[::1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_host: Option<String>,
    /// The redirect URI's path, with a leading slash (default `/callback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_path: Option<String>,
    /// Loopback ports to try in order, each 1024 to 65535 (default 53682, 53683, 53684).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<i64>>,
    /// `true`: bind an ephemeral port instead of `ports` (OIDC providers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_port: Option<bool>,
    /// Where the provider's logout page sends the browser (https, or http on loopback);
    /// Cognito default: `/signed-out` on the first port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_out_uri: Option<String>,
    /// The `identity_provider` authorize parameter (a federated provider's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// `[profiles.NAME.authorize_params]`: more parameters for the authorize request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_params: Option<BTreeMap<String, String>>,
    /// `id` (default) or `access`: the token sent to APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    /// `bearer` (OIDC default), `raw` (Cognito default) or `sigv4`: how API calls carry the
    /// credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_scheme: Option<String>,
    /// The HTTP header the token is sent in (default `Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_header: Option<String>,
    /// How many MiB of an API's answer `latchkey call` and the console read (the rest is cut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_response_limit_mib: Option<i64>,
    /// The http(s) origins a token may be sent to (plain http only for loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_urls: Option<Vec<String>>,
    /// What opens the sign-in page: `"system"` (default), `"none"` (open nothing) or an
    /// argument vector with a `{url}` placeholder (`["firefox", "-P", "work", "{url}"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserDraft>,
    /// The old name of `browser` (a vector, the address appended): read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_command: Option<Vec<String>>,
    /// Seconds a sign-in waits for the callback, 10 to 3600 (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_timeout_secs: Option<i64>,
    /// Seconds each request to the provider may take, 1 to 600 (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_timeout_secs: Option<i64>,
    /// Seconds before expiry the tokens are refreshed, 0 to 86400 (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_margin_secs: Option<i64>,
    /// Seconds of clock difference tolerated when checking `exp`, `iat` and `nbf`, 0 to 600
    /// (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_leeway_secs: Option<i64>,
    /// Assertions about the tokens: `group=NAME`, `scope=NAME`, `CLAIM=VALUE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<String>>,
    /// `[profiles.NAME.aws]`: the identity pool that trades the ID token for AWS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsDraft>,
    /// `[profiles.NAME.agent]`: how the session agent keeps the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentDraft>,
}

/// A profile's `[aws]` table as written: the identity pool settings, unchecked. Validation
/// turns it into [`IdentityPoolSettings`]; its errors name the field as `aws.<field>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsDraft {
    /// The identity pool id, `REGION:GUID` as the Cognito console shows it (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_pool_id: Option<String>,
    /// The identity pool's region; when absent, the one in `identity_pool_id` (when given, it
    /// must agree with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The IAM role to ask for (`arn:aws:iam::ACCOUNT:role/NAME`); absent: the pool picks the
    /// role. Required for the `classic` flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Where the Cognito Identity and STS calls go instead of AWS (a local emulator such as
    /// `latchkey-devidp`); `http` only on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_endpoint: Option<String>,
    /// `enhanced` (default) or `classic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}

impl AwsDraft {
    /// Every setting of `settings`, written out.
    pub fn from_settings(settings: &IdentityPoolSettings) -> AwsDraft {
        AwsDraft {
            identity_pool_id: Some(settings.identity_pool_id.clone()),
            region: settings.region.clone(),
            role_arn: settings.role_arn.clone(),
            identity_endpoint: settings.identity_endpoint.as_ref().map(|u| u.to_string()),
            flow: Some(settings.flow.as_str().to_owned()),
        }
    }

    /// The settings that differ from their defaults.
    fn minimal(&self) -> AwsDraft {
        AwsDraft {
            flow: self
                .flow
                .clone()
                .filter(|f| f != IdentityFlow::Enhanced.as_str()),
            ..self.clone()
        }
    }
}

impl ProfileDraft {
    /// Check every field; `path` and `name` only go into messages.
    pub fn validate(&self, name: &str, path: &Path) -> Result<Profile, ConfigError> {
        validate::profile(name, self, path)
    }

    /// Every setting of `profile`, written out (to edit it, or to save it).
    pub fn from_profile(profile: &Profile) -> ProfileDraft {
        let mut d = ProfileDraft::default();
        match &profile.kind {
            ProfileKind::Cognito {
                region,
                user_pool_id,
                domain,
                issuer,
            } => {
                d.kind = Some("cognito".into());
                d.region = Some(region.clone());
                d.user_pool_id = Some(user_pool_id.clone());
                d.domain = Some(domain.as_str().trim_end_matches('/').to_owned());
                d.issuer = issuer.as_ref().map(|u| u.to_string());
            }
            ProfileKind::Oidc { .. } => {
                d.kind = Some("oidc".into());
                d.issuer = Some(profile.issuer());
            }
        }
        d.client_id = Some(profile.client_id.clone());
        d.scopes = Some(profile.scopes.clone());
        d.redirect_host = Some(profile.redirect_host.clone());
        d.redirect_path = Some(profile.redirect_path.clone());
        match profile.any_port {
            true => d.any_port = Some(true),
            false => d.ports = Some(profile.ports.iter().map(|p| i64::from(*p)).collect()),
        }
        d.sign_out_uri = profile.sign_out_uri.as_ref().map(|u| u.to_string());
        d.identity_provider = profile.identity_provider.clone();
        d.authorize_params =
            (!profile.authorize_params.is_empty()).then(|| profile.authorize_params.clone());
        d.api_token = Some(profile.api_token.as_str().into());
        d.api_scheme = Some(profile.api_scheme.as_str().into());
        d.api_token_header = Some(profile.api_token_header.clone());
        d.api_response_limit_mib = Some(i64::from(profile.api_response_limit_mib));
        d.api_base_urls = Some(
            profile
                .api_base_urls
                .iter()
                .map(|u| u.to_string())
                .collect(),
        );
        d.browser = BrowserDraft::from_setting(&profile.browser);
        let secs = |d: std::time::Duration| Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        d.sign_in_timeout_secs = secs(profile.sign_in_timeout);
        d.http_timeout_secs = secs(profile.http_timeout);
        d.refresh_margin_secs = secs(profile.refresh_margin);
        d.clock_leeway_secs = secs(profile.clock_leeway);
        d.expect = Some(profile.expect.iter().map(ToString::to_string).collect());
        d.aws = profile.aws.as_ref().map(AwsDraft::from_settings);
        d.agent = AgentDraft::from_settings(&profile.agent);
        d
    }

    /// The settings of `profile` that differ from what a draft with only its provider and
    /// client would give: what a new profile needs written in the file.
    pub fn minimal(profile: &Profile) -> ProfileDraft {
        let full = Self::from_profile(profile);
        let essentials = ProfileDraft {
            kind: full.kind.clone(),
            region: full.region.clone(),
            user_pool_id: full.user_pool_id.clone(),
            domain: full.domain.clone(),
            issuer: full.issuer.clone(),
            client_id: full.client_id.clone(),
            any_port: full.any_port,
            ports: full.ports.clone(),
            ..ProfileDraft::default()
        };
        let Ok(defaults) = essentials.validate(&profile.name, Path::new("")) else {
            return full;
        };
        let defaults = Self::from_profile(&defaults);
        macro_rules! differing {
            ($($field:ident),*) => {
                ProfileDraft {
                    $($field: if full.$field != defaults.$field { full.$field.clone() } else { None },)*
                    ..essentials
                }
            };
        }
        let mut out = differing!(
            scopes,
            redirect_host,
            redirect_path,
            sign_out_uri,
            identity_provider,
            api_token,
            api_scheme,
            api_token_header,
            api_response_limit_mib,
            api_base_urls,
            browser,
            sign_in_timeout_secs,
            http_timeout_secs,
            refresh_margin_secs,
            clock_leeway_secs,
            expect
        );
        if out.api_base_urls.as_ref().is_some_and(Vec::is_empty) {
            out.api_base_urls = None;
        }
        if out.expect.as_ref().is_some_and(Vec::is_empty) {
            out.expect = None;
        }
        out.aws = full.aws.as_ref().map(AwsDraft::minimal);
        out.agent = full.agent.clone();
        out.authorize_params = full.authorize_params.clone();
        // What validation infers or defaults need not be written either.
        let inferred = if out.user_pool_id.is_some() {
            "cognito"
        } else {
            "oidc"
        };
        if out.kind.as_deref() == Some(inferred) {
            out.kind = None;
        }
        if out.any_port != Some(true) {
            out.any_port = None;
            if out.ports.as_deref() == Some(&DEFAULT_PORTS.map(i64::from)[..]) {
                out.ports = None;
            }
        }
        out
    }
}

impl TokenChoice {
    /// The value of `api_token`: `id` or `access`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenChoice::Id => "id",
            TokenChoice::Access => "access",
        }
    }
}

impl Scheme {
    /// The value of `api_scheme`: `bearer`, `raw` or `sigv4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "bearer",
            Scheme::Raw => "raw",
            Scheme::Sigv4 => "sigv4",
        }
    }
}
