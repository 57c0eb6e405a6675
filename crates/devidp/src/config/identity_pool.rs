//! The identity pool's settings and the IAM roles of user-pool groups: plain data, with the
//! checks a real pool would make of them.

use std::time::Duration;

/// Account id in the demo role ARNs and assumed-role ARNs.
pub const DEMO_ACCOUNT_ID: &str = "123456789012";
/// The demo identity pool's id.
pub const DEMO_IDENTITY_POOL_ID: &str = "us-east-1:5e1f0c0a-6b5d-4c3e-9f1a-1a7c2e3d4b5f";
/// The pool's authenticated role (users whose token names no role).
pub const DEMO_AUTHENTICATED_ROLE: &str =
    "arn:aws:iam::123456789012:role/LatchkeyDemoAuthenticated";
/// The role of group `admins` (precedence 1): the demo IAM API's `/admin` wants it.
pub const DEMO_ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyDemoAdmin";
/// The role of group `users` (precedence 10).
pub const DEMO_USER_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyDemoUser";

/// An IAM role attached to a user-pool group (Cognito puts the roles of a user's groups in the
/// ID token: `cognito:roles`, and `cognito:preferred_role` for the best precedence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRole {
    /// The user-pool group.
    pub group: String,
    /// The IAM role its members may assume.
    pub role_arn: String,
    /// Lower wins, as Cognito's group `Precedence`.
    pub precedence: u32,
}

impl GroupRole {
    /// `admins` → [`DEMO_ADMIN_ROLE`] (1), `users` → [`DEMO_USER_ROLE`] (10).
    pub fn demo_roles() -> Vec<GroupRole> {
        vec![
            GroupRole {
                group: "admins".into(),
                role_arn: DEMO_ADMIN_ROLE.into(),
                precedence: 1,
            },
            GroupRole {
                group: "users".into(),
                role_arn: DEMO_USER_ROLE.into(),
                precedence: 10,
            },
        ]
    }
}

/// What the pool does when the token names several roles and none is preferred (or none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AmbiguousRoleResolution {
    /// Use the pool's authenticated role.
    #[default]
    AuthenticatedRole,
    /// Refuse: "The ambiguous role mapping rules denied this request."
    Deny,
}

/// The identity pool a [`crate::DevIdp`] serves next to its user pool.
#[derive(Clone, Debug)]
pub struct IdentityPoolConfig {
    /// TCP port of the identity origin on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// `REGION:GUID`.
    pub identity_pool_id: String,
    /// The AWS account of the roles and assumed-role ARNs (12 digits).
    pub account_id: String,
    /// `None`: the pool has no authenticated role (InvalidIdentityPoolConfigurationException).
    pub authenticated_role: Option<String>,
    /// "Choose role from token": use `cognito:roles` / `cognito:preferred_role`.
    pub role_from_token: bool,
    /// What happens when the token names no single role.
    pub ambiguous_role_resolution: AmbiguousRoleResolution,
    /// The basic (classic) flow: `GetOpenIdToken` + STS `AssumeRoleWithWebIdentity`.
    pub allow_classic_flow: bool,
    /// How long issued credentials are valid (AWS: 1 hour).
    pub credentials_ttl: Duration,
}

impl Default for IdentityPoolConfig {
    fn default() -> Self {
        IdentityPoolConfig {
            port: 0,
            identity_pool_id: DEMO_IDENTITY_POOL_ID.into(),
            account_id: DEMO_ACCOUNT_ID.into(),
            authenticated_role: Some(DEMO_AUTHENTICATED_ROLE.into()),
            role_from_token: true,
            ambiguous_role_resolution: AmbiguousRoleResolution::AuthenticatedRole,
            allow_classic_flow: false,
            credentials_ttl: Duration::from_secs(3600),
        }
    }
}

impl IdentityPoolConfig {
    /// The pool's region: the `REGION:` prefix of its id.
    pub fn region(&self) -> &str {
        self.identity_pool_id
            .split_once(':')
            .map(|(r, _)| r)
            .unwrap_or("us-east-1")
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let valid_id = self.identity_pool_id.split_once(':').is_some_and(|(r, g)| {
            !r.is_empty() && !g.is_empty() && g.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        }) && self.identity_pool_id.len() <= 55;
        if !valid_id {
            return Err(format!(
                "identity_pool_id {:?} is not REGION:GUID",
                self.identity_pool_id
            ));
        }
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account_id {:?} is not 12 digits", self.account_id));
        }
        if self.credentials_ttl.as_secs() == 0 {
            return Err("credentials_ttl must be at least 1 second".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        assert!(IdentityPoolConfig::default().validate().is_ok());
        assert_eq!(IdentityPoolConfig::default().region(), "us-east-1");
        let bad = IdentityPoolConfig {
            identity_pool_id: "nope".into(),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
