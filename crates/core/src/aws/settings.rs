//! A profile's identity-pool settings, checked field by field, and what they resolve to: the
//! region, the service endpoints and the `Logins` key under which the ID token is presented.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::ProfileKind;

/// How the ID token is traded for credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityFlow {
    /// `GetId` then `GetCredentialsForIdentity`: the identity pool picks the role (the
    /// "enhanced" or "simplified" flow, the default of every identity pool).
    #[default]
    Enhanced,
    /// `GetId`, `GetOpenIdToken`, then STS `AssumeRoleWithWebIdentity` with `role_arn` (the
    /// "basic" or "classic" flow, for pools that allow it).
    Classic,
}

impl IdentityFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityFlow::Enhanced => "enhanced",
            IdentityFlow::Classic => "classic",
        }
    }
}

/// What a profile says about its identity pool (its `[aws]` table, once checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPoolSettings {
    /// `REGION:GUID`, as shown in the Cognito console under Identity pools.
    pub identity_pool_id: String,
    /// The identity pool's region. AWS writes it into the pool id, so it is taken from there
    /// when absent; when given, it must agree with the pool id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The IAM role to ask for: `CustomRoleArn` in the enhanced flow (one of the user's
    /// `cognito:roles`), the role to assume in the classic flow (required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Where the Cognito Identity and STS calls go instead of AWS (a local emulator that serves
    /// both on one origin, such as `latchkey-devidp` or moto). `http` only on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_endpoint: Option<Url>,
    #[serde(default)]
    pub flow: IdentityFlow,
}

/// A setting that cannot be used: the field it is about, what is wrong, and what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identity pool setting `{field}`: {problem}. {fix}")]
pub struct SettingsError {
    /// The key at fault in the profile's `[aws]` table (`identity_pool_id`, `region`, …).
    pub field: &'static str,
    pub problem: String,
    pub fix: String,
}

impl SettingsError {
    pub(crate) fn new(
        field: &'static str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        SettingsError {
            field,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Settings checked against the profile they belong to: everything a credential fetch needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPool {
    pub identity_pool_id: String,
    pub region: String,
    pub role_arn: Option<String>,
    pub flow: IdentityFlow,
    /// The `Logins` map key that names the user pool or OIDC provider.
    pub login_key: String,
    /// `https://cognito-identity.{region}.amazonaws.com/` or the configured emulator.
    pub identity_endpoint: Url,
    /// `https://sts.{region}.amazonaws.com/` or the configured emulator (classic flow).
    pub sts_endpoint: Url,
}

impl IdentityPoolSettings {
    /// Checks every field and resolves region, endpoints and login key for `profile`.
    /// The first unusable field is reported by name, with what to write instead.
    pub fn resolve(&self, profile: &ProfileKind) -> Result<IdentityPool, SettingsError> {
        let identity_pool_id = self.identity_pool_id.trim();
        let pool_region = check_pool_id(identity_pool_id)?;
        let region = match self.region.as_deref().map(str::trim) {
            None | Some("") => pool_region.to_owned(),
            Some(region) if !looks_like_region(region) => {
                return Err(SettingsError::new(
                    "region",
                    format!("`{region}` is not an AWS region name"),
                    "write a region such as us-east-1 or eu-west-2, or remove `region` (it is \
                     taken from the identity pool id)",
                ))
            }
            Some(region) if region != pool_region => {
                return Err(SettingsError::new(
                    "region",
                    format!(
                        "the identity pool {identity_pool_id} lives in {pool_region} (AWS writes \
                         the region into the pool id), but `region` says {region}"
                    ),
                    format!("remove `region` or set it to {pool_region}"),
                ))
            }
            Some(region) => region.to_owned(),
        };
        let role_arn = match self.role_arn.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(arn) => Some(check_role_arn(arn)?.to_owned()),
        };
        if self.flow == IdentityFlow::Classic && role_arn.is_none() {
            return Err(SettingsError::new(
                "role_arn",
                "the classic flow assumes the role itself, so `role_arn` is required",
                "set `role_arn` to arn:aws:iam::ACCOUNT:role/NAME, a role that trusts \
                 cognito-identity.amazonaws.com for this pool, or use flow = \"enhanced\"",
            ));
        }
        let (identity_endpoint, sts_endpoint) = match &self.identity_endpoint {
            Some(url) => {
                let url = check_endpoint(url)?;
                (url.clone(), url)
            }
            None => (
                aws_endpoint("cognito-identity", &region),
                aws_endpoint("sts", &region),
            ),
        };
        Ok(IdentityPool {
            identity_pool_id: identity_pool_id.to_owned(),
            region,
            role_arn,
            flow: self.flow,
            login_key: login_key(profile),
            identity_endpoint,
            sts_endpoint,
        })
    }
}

/// The `Logins` key for a profile's ID tokens: `cognito-idp.{region}.amazonaws.com/{pool}` for
/// a Cognito user pool (even when a local emulator issues the tokens), the issuer's host and
/// path for any other OpenID Connect provider (how identity pools name OIDC providers).
pub fn login_key(profile: &ProfileKind) -> String {
    match profile {
        ProfileKind::Cognito {
            region,
            user_pool_id,
            ..
        } => format!("cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
        ProfileKind::Oidc { issuer } => {
            let host = issuer.host_str().unwrap_or_default();
            let port = issuer.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = issuer.path().trim_end_matches('/');
            format!("{host}{port}{path}")
        }
    }
}

fn aws_endpoint(service: &str, region: &str) -> Url {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Url::parse(&format!("https://{service}.{region}.{domain}/"))
        .expect("a checked region makes a valid host name")
}

/// `[\w-]+:[0-9a-f-]+`, at most 55 characters (the API's own constraint); returns the region.
fn check_pool_id(id: &str) -> Result<&str, SettingsError> {
    let bad = |why: &str| {
        SettingsError::new(
            "identity_pool_id",
            why,
            "copy the identity pool ID from the Cognito console (Identity pools → your pool); \
             it looks like us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        )
    };
    if id.is_empty() {
        return Err(bad("is missing"));
    }
    let Some((region, guid)) = id.split_once(':') else {
        return Err(bad(&format!("`{id}` has no `REGION:` prefix")));
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let guid_ok = !guid.is_empty()
        && guid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
    if id.len() > 55 || !region_ok || !guid_ok {
        return Err(bad(&format!("`{id}` is not of the form REGION:GUID")));
    }
    if !looks_like_region(region) {
        return Err(bad(&format!("`{region}` is not an AWS region name")));
    }
    Ok(region)
}

/// `xx-name-N` or `xx-gov-name-N` (lower case), as AWS region names are.
fn looks_like_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [cc, name, n] => cc.len() == 2 && word(cc) && word(name) && number(n),
        [cc, qualifier, name, n] => {
            cc.len() == 2 && word(cc) && word(qualifier) && word(name) && number(n)
        }
        _ => false,
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, 20 to 2048 characters (`CustomRoleArn`).
fn check_role_arn(arn: &str) -> Result<&str, SettingsError> {
    let bad = || {
        SettingsError::new(
            "role_arn",
            format!("`{arn}` is not an IAM role ARN"),
            "copy it from the IAM console (Roles → the role → ARN); it looks like \
             arn:aws:iam::123456789012:role/MyRole",
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|r| !r.is_empty())
                && (20..=2048).contains(&arn.len()) =>
        {
            Ok(arn)
        }
        _ => Err(bad()),
    }
}

/// An emulator endpoint: `https`, or `http` on a loopback host (the ID token travels in it).
fn check_endpoint(url: &Url) -> Result<Url, SettingsError> {
    let loopback = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(SettingsError::new(
                "identity_endpoint",
                format!(
                    "{url} is plain http on a host that is not this machine; the ID token would \
                     cross the network unencrypted"
                ),
                "use https, or an emulator on 127.0.0.1",
            ))
        }
        other => {
            return Err(SettingsError::new(
                "identity_endpoint",
                format!("`{other}:` URLs cannot be used"),
                "give an http(s) URL, or remove `identity_endpoint` to use AWS",
            ))
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(SettingsError::new(
            "identity_endpoint",
            format!("{url} has a query, fragment or user name"),
            "give only the scheme, host, port and path",
        ));
    }
    Ok(url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

    fn cognito() -> ProfileKind {
        ProfileKind::Cognito {
            region: "eu-west-1".into(),
            user_pool_id: "eu-west-1_AbC123".into(),
            domain: Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
            issuer: Some(Url::parse("http://127.0.0.1:9000/eu-west-1_AbC123").unwrap()),
        }
    }

    fn settings() -> IdentityPoolSettings {
        IdentityPoolSettings {
            identity_pool_id: POOL.into(),
            ..Default::default()
        }
    }

    #[test]
    fn login_keys_are_derived_the_cognito_way_and_from_oidc_issuers() {
        assert_eq!(
            login_key(&cognito()),
            "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
            "the Cognito form even when an emulator issues the tokens"
        );
        let oidc = |issuer: &str| ProfileKind::Oidc {
            issuer: Url::parse(issuer).unwrap(),
        };
        assert_eq!(
            login_key(&oidc("https://accounts.example.com/")),
            "accounts.example.com"
        );
        assert_eq!(
            login_key(&oidc("https://login.example.com/tenant/v2.0/")),
            "login.example.com/tenant/v2.0"
        );
        assert_eq!(
            login_key(&oidc("http://127.0.0.1:8080/realms/dev")),
            "127.0.0.1:8080/realms/dev"
        );
    }

    #[test]
    fn region_comes_from_the_pool_id_and_endpoints_from_the_region() {
        let pool = settings().resolve(&cognito()).unwrap();
        assert_eq!(pool.region, "us-east-1");
        assert_eq!(
            pool.identity_endpoint.as_str(),
            "https://cognito-identity.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            pool.sts_endpoint.as_str(),
            "https://sts.us-east-1.amazonaws.com/"
        );
        let china = IdentityPoolSettings {
            identity_pool_id: "cn-north-1:0a1b2c3d-4e5f".into(),
            ..Default::default()
        };
        assert_eq!(
            china
                .resolve(&cognito())
                .unwrap()
                .identity_endpoint
                .as_str(),
            "https://cognito-identity.cn-north-1.amazonaws.com.cn/"
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |s: IdentityPoolSettings| s.resolve(&cognito()).unwrap_err().field;
        for id in [
            "",
            "0a1b2c3d",
            "us-east-1:XYZ",
            "useast1:0a1b",
            &format!("{POOL}{}", "0".repeat(20)),
        ] {
            let s = IdentityPoolSettings {
                identity_pool_id: id.into(),
                ..Default::default()
            };
            assert_eq!(field(s), "identity_pool_id", "{id:?}");
        }
        let wrong_region = IdentityPoolSettings {
            region: Some("eu-west-1".into()),
            ..settings()
        };
        let err = wrong_region.resolve(&cognito()).unwrap_err();
        assert_eq!(err.field, "region");
        assert!(err.problem.contains("us-east-1"), "{err}");
        assert!(err.fix.contains("set it to us-east-1"), "{err}");
        for arn in [
            "role/x",
            "arn:aws:iam::12:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/x",
        ] {
            let s = IdentityPoolSettings {
                role_arn: Some(arn.into()),
                ..settings()
            };
            assert_eq!(field(s), "role_arn", "{arn}");
        }
        let classic_without_role = IdentityPoolSettings {
            flow: IdentityFlow::Classic,
            ..settings()
        };
        assert_eq!(field(classic_without_role), "role_arn");
        for endpoint in ["http://example.com/", "ftp://127.0.0.1/", "https://x/?a=b"] {
            let s = IdentityPoolSettings {
                identity_endpoint: Some(Url::parse(endpoint).unwrap()),
                ..settings()
            };
            assert_eq!(field(s), "identity_endpoint", "{endpoint}");
        }
    }

    #[test]
    fn an_emulator_endpoint_serves_both_services() {
        let s = IdentityPoolSettings {
            identity_endpoint: Some(Url::parse("http://127.0.0.1:4566/").unwrap()),
            role_arn: Some("arn:aws:iam::123456789012:role/Dev".into()),
            flow: IdentityFlow::Classic,
            ..settings()
        };
        let pool = s.resolve(&cognito()).unwrap();
        assert_eq!(pool.identity_endpoint, pool.sts_endpoint);
        assert_eq!(pool.flow, IdentityFlow::Classic);
    }

    #[test]
    fn settings_read_from_toml() {
        let s: IdentityPoolSettings = toml_edit::de::from_str(&format!(
            "identity_pool_id = \"{POOL}\"\nflow = \"classic\"\nrole_arn = \"arn:aws:iam::123456789012:role/Dev\"\n"
        ))
        .unwrap();
        assert_eq!(s.flow, IdentityFlow::Classic);
        assert!(toml_edit::de::from_str::<IdentityPoolSettings>(
            "identity_pool_id = \"x\"\nrol_arn = \"y\""
        )
        .is_err());
    }
}
