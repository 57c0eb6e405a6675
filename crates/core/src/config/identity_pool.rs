//! A profile's identity-pool settings (its `[aws]` table) as plain data, and their checks field
//! by field; `aws` resolves checked settings into the region, endpoints and `Logins` key.

use serde::{Deserialize, Serialize};
use url::Url;

use super::validate::{Checked, Problems};
use super::AwsDraft;

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
    /// The value of the `[aws]` table's `flow`: `enhanced` or `classic`.
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
    /// `flow`: how the ID token is traded for credentials (`enhanced` when absent).
    #[serde(default)]
    pub flow: IdentityFlow,
}

/// A setting that cannot be used: the field it is about, what is wrong, and what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identity pool setting `{field}`: {problem}. {fix}")]
pub struct SettingsError {
    /// The key at fault in the profile's `[aws]` table (`identity_pool_id`, `region`, …).
    pub field: &'static str,
    /// What is wrong with the value, e.g. "`eu-west` is not an AWS region name".
    pub problem: String,
    /// What to write instead, as a sentence for the user.
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

/// Settings whose every field was checked: what `aws` resolves against a profile.
pub(crate) struct CheckedSettings {
    pub(crate) identity_pool_id: String,
    pub(crate) region: String,
    pub(crate) role_arn: Option<String>,
    /// The emulator that serves both Cognito Identity and STS, when one is set.
    pub(crate) identity_endpoint: Option<Url>,
}

impl IdentityPoolSettings {
    /// Checks every field; the first unusable one is reported by name, with what to write
    /// instead. The region comes from the pool id when `region` is absent.
    pub(crate) fn check(&self) -> Result<CheckedSettings, SettingsError> {
        let identity_pool_id = self.identity_pool_id.trim();
        let pool_region = check_pool_id(identity_pool_id)?;
        let region = check_region(self.region.as_deref(), identity_pool_id, pool_region)?;
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
        let identity_endpoint = self
            .identity_endpoint
            .as_ref()
            .map(check_endpoint)
            .transpose()?;
        Ok(CheckedSettings {
            identity_pool_id: identity_pool_id.to_owned(),
            region,
            role_arn,
            identity_endpoint,
        })
    }
}

/// `region` when given (it must agree with the pool id's), else the pool id's region.
fn check_region(
    region: Option<&str>,
    identity_pool_id: &str,
    pool_region: &str,
) -> Result<String, SettingsError> {
    match region.map(str::trim) {
        None | Some("") => Ok(pool_region.to_owned()),
        Some(region) if !looks_like_region(region) => Err(SettingsError::new(
            "region",
            format!("`{region}` is not an AWS region name"),
            "write a region such as us-east-1 or eu-west-2, or remove `region` (it is \
             taken from the identity pool id)",
        )),
        Some(region) if region != pool_region => Err(SettingsError::new(
            "region",
            format!(
                "the identity pool {identity_pool_id} lives in {pool_region} (AWS writes \
                 the region into the pool id), but `region` says {region}"
            ),
            format!("remove `region` or set it to {pool_region}"),
        )),
        Some(region) => Ok(region.to_owned()),
    }
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

/// The `[aws]` table: parsed here, then checked field by field by
/// [`IdentityPoolSettings::check`] (the same checks a credential fetch relies on).
pub(super) fn from_draft(p: &Problems, a: &AwsDraft) -> Checked<IdentityPoolSettings> {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let identity_endpoint = match text(&a.identity_endpoint) {
        None => None,
        Some(s) => Some(Url::parse(&s).map_err(|e| {
            p.err(
                "aws.identity_endpoint",
                format!("`{s}` is not a URL ({e})"),
                "give the emulator's URL, e.g. \"http://127.0.0.1:4566/\", or remove it to use AWS",
            )
        })?),
    };
    let flow = match text(&a.flow).as_deref() {
        None | Some("enhanced") => IdentityFlow::Enhanced,
        Some("classic") => IdentityFlow::Classic,
        Some(other) => {
            return Err(p.err(
                "aws.flow",
                format!("`{other}` is not a flow"),
                "use \"enhanced\" (the pool picks the role; the default) or \"classic\" (STS assumes `role_arn`)",
            ))
        }
    };
    let settings = IdentityPoolSettings {
        identity_pool_id: text(&a.identity_pool_id).unwrap_or_default(),
        region: text(&a.region),
        role_arn: text(&a.role_arn),
        identity_endpoint,
        flow,
    };
    settings
        .check()
        .map_err(|e| p.err(&format!("aws.{}", e.field), e.problem, &e.fix))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

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
