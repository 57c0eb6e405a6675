//! What a profile's identity-pool settings resolve to: the region, the service endpoints and
//! the `Logins` key under which the ID token is presented (the settings live in `config`).

use url::Url;

use crate::config::{IdentityFlow, IdentityPoolSettings, Profile, ProfileKind, SettingsError};
use crate::error::{Error, Result};

use super::AwsError;

/// Settings checked against the profile they belong to: everything a credential fetch needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPool {
    /// The pool id, `REGION:GUID`, trimmed and checked.
    pub identity_pool_id: String,
    /// The pool's region: the profile's `region`, or the prefix of the pool id when absent.
    pub region: String,
    /// The IAM role to ask for (`CustomRoleArn` in the enhanced flow, the role assumed in the
    /// classic flow); `None` gets the pool's default authenticated role (enhanced flow only).
    pub role_arn: Option<String>,
    /// Which sequence of calls turns the ID token into credentials.
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
        let checked = self.check()?;
        let (identity_endpoint, sts_endpoint) = match checked.identity_endpoint {
            Some(url) => (url.clone(), url),
            None => (
                aws_endpoint("cognito-identity", &checked.region),
                aws_endpoint("sts", &checked.region),
            ),
        };
        Ok(IdentityPool {
            identity_pool_id: checked.identity_pool_id,
            region: checked.region,
            role_arn: checked.role_arn,
            flow: self.flow,
            login_key: login_key(profile),
            identity_endpoint,
            sts_endpoint,
        })
    }
}

// Defined here rather than in `config`: it builds an `aws::IdentityPool`, and `config` sees
// nothing of `aws`.
impl Profile {
    /// The identity pool of the `[aws]` table, resolved (region, endpoints, login key); a
    /// profile without one is a configuration error that says what to add.
    pub fn identity_pool(&self) -> Result<IdentityPool> {
        let settings = self
            .aws
            .as_ref()
            .ok_or_else(|| Error::no_identity_pool(&self.name))?;
        settings
            .resolve(&self.kind)
            .map_err(|e| AwsError::from(e).into())
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
}
