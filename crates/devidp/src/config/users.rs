//! The pool's users as configured: the record, the demo users, the TOML users-file loader and
//! the checks Cognito would make of them (unique names, attributes, TOTP secrets).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::DevIdpError;

/// The demo user created when no users are configured: groups `users` and `admins`.
pub const DEMO_USERNAME: &str = "demo@latchkey.dev";
/// Password of [`DEMO_USERNAME`].
pub const DEMO_PASSWORD: &str = "Latchkey-demo-1";
/// A second demo user in group `users` only (the demo API's `/admin` answers it 403).
pub const VIEWER_USERNAME: &str = "viewer@latchkey.dev";
/// Password of [`VIEWER_USERNAME`].
pub const VIEWER_PASSWORD: &str = "Latchkey-viewer-1";
/// A third demo user (group `users`) whose sign-in asks for an e-mail one-time code.
pub const OTP_USERNAME: &str = "otp@latchkey.dev";
/// Password of [`OTP_USERNAME`].
pub const OTP_PASSWORD: &str = "Latchkey-otp-1";

/// A second factor delivered as a one-time code in a message (Cognito's `SMS_MFA` and
/// `EMAIL_OTP`); `mfa = "sms"` or `mfa = "email"` in a users file. devidp sends nothing: the
/// code is printed in its log and shown on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageMfa {
    /// A text message to the `phone_number` attribute.
    Sms,
    /// An e-mail to the user's address.
    Email,
}

/// A sign-in attribute that stands in for the username (Cognito's `UsernameAttributes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsernameAttribute {
    /// Users sign in with their e-mail address.
    Email,
    /// Users sign in with their phone number (the `phone_number` attribute).
    PhoneNumber,
}

impl UsernameAttribute {
    /// The attribute's name in Cognito's API.
    pub fn name(self) -> &'static str {
        match self {
            UsernameAttribute::Email => "email",
            UsernameAttribute::PhoneNumber => "phone_number",
        }
    }
}

impl std::str::FromStr for UsernameAttribute {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "email" => Ok(UsernameAttribute::Email),
            "phone_number" => Ok(UsernameAttribute::PhoneNumber),
            other => Err(format!(
                "{other:?} is not a username attribute (use email or phone_number)"
            )),
        }
    }
}

/// One user of the pool. `attributes` holds `custom:*` attributes (always strings, as in
/// Cognito) and may also hold standard ones such as `name` or `given_name`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// The sign-in name (in an e-mail pool, the address; the pool generates the username).
    pub username: String,
    /// The password (kept only as a salted hash once the provider runs).
    pub password: String,
    /// The e-mail address; defaults to the username when that is an address.
    #[serde(default)]
    pub email: String,
    /// User-pool groups (`cognito:groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// `custom:*` and standard attributes, as strings.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// `FORCE_CHANGE_PASSWORD`: created by an administrator with a temporary password; the
    /// first sign-in asks for a new one.
    #[serde(default)]
    pub force_change_password: bool,
    /// A TOTP authenticator already set up for the user (base32, as authenticator apps take it).
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// A one-time code by SMS or e-mail after the password (`mfa = "sms"` / `"email"`).
    #[serde(default)]
    pub mfa: Option<MessageMfa>,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("email", &self.email)
            .field("groups", &self.groups)
            .field("attributes", &self.attributes)
            .field("force_change_password", &self.force_change_password)
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("mfa", &self.mfa)
            .finish()
    }
}

impl UserRecord {
    /// The value of a sign-in attribute (`email`, or the `phone_number` attribute), if set.
    pub(crate) fn sign_in_value(&self, attribute: UsernameAttribute) -> Option<&str> {
        match attribute {
            UsernameAttribute::Email => Some(self.email.as_str()),
            UsernameAttribute::PhoneNumber => {
                self.attributes.get("phone_number").map(String::as_str)
            }
        }
        .filter(|v| !v.is_empty())
    }

    /// The demo users: [`DEMO_USERNAME`] (users + admins), [`VIEWER_USERNAME`] (users) and
    /// [`OTP_USERNAME`] (users; an e-mail one-time code after the password).
    pub fn demo_users() -> Vec<UserRecord> {
        let attrs = |tenant: &str, name: &str| {
            BTreeMap::from([
                ("custom:tenant".to_string(), tenant.to_string()),
                ("name".to_string(), name.to_string()),
            ])
        };
        vec![
            UserRecord {
                username: DEMO_USERNAME.to_string(),
                password: DEMO_PASSWORD.to_string(),
                email: DEMO_USERNAME.to_string(),
                groups: vec!["users".to_string(), "admins".to_string()],
                attributes: attrs("latchkey-demo", "Demo Admin"),
                ..UserRecord::default()
            },
            UserRecord {
                username: VIEWER_USERNAME.to_string(),
                password: VIEWER_PASSWORD.to_string(),
                email: VIEWER_USERNAME.to_string(),
                groups: vec!["users".to_string()],
                attributes: attrs("latchkey-demo", "Demo Viewer"),
                ..UserRecord::default()
            },
            UserRecord {
                username: OTP_USERNAME.to_string(),
                password: OTP_PASSWORD.to_string(),
                email: OTP_USERNAME.to_string(),
                groups: vec!["users".to_string()],
                attributes: attrs("latchkey-demo", "Demo One-Time Code"),
                mfa: Some(MessageMfa::Email),
                ..UserRecord::default()
            },
        ]
    }
}

/// Standard attribute names a users file may set besides `custom:*`.
const STANDARD_ATTRIBUTES: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "address",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserRecord>,
}

/// Reads a TOML users file:
/// ```toml
/// [[users]]
/// username = "alice@example.com"
/// password = "Alice-pass-1"
/// email = "alice@example.com"      # optional; defaults to the username when it is an address
/// groups = ["users", "admins"]     # optional
/// attributes = { "custom:tenant" = "acme", name = "Alice" }   # optional, strings only
/// mfa = "email"                    # optional: "sms" (needs phone_number) or "email"
/// ```
pub fn load_users_file(path: &Path) -> Result<Vec<UserRecord>, DevIdpError> {
    let fail = |reason: String| DevIdpError::UsersFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse_users_toml(&text).map_err(fail)
}

/// Parses users-file text; the error is one line (with a line number when TOML knows it).
pub fn parse_users_toml(text: &str) -> Result<Vec<UserRecord>, String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| {
        let message = e.message().replace('\n', " ");
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {}", message.trim())
            }
            None => message.trim().to_string(),
        }
    })?;
    let mut users = file.users;
    if users.is_empty() {
        return Err("no users: add at least one [[users]] table".to_string());
    }
    for user in &mut users {
        if user.email.is_empty() && user.username.contains('@') {
            user.email = user.username.clone();
        }
    }
    validate_users(&users)?;
    Ok(users)
}

/// Checks usernames are present and unique (case-insensitively, as in new Cognito pools).
pub(crate) fn validate_users(users: &[UserRecord]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, user) in users.iter().enumerate() {
        let n = i + 1;
        if user.username.trim().is_empty() {
            return Err(format!("user #{n}: username is empty"));
        }
        if user.password.is_empty() {
            return Err(format!("user {:?}: password is empty", user.username));
        }
        if !seen.insert(user.username.to_lowercase()) {
            return Err(format!("user {:?} is listed twice", user.username));
        }
        if user
            .totp_secret
            .as_deref()
            .is_some_and(|t| base32_decode(t).is_none())
        {
            return Err(format!(
                "user {:?}: totp_secret is not base32 (A-Z, 2-7)",
                user.username
            ));
        }
        check_message_mfa(user)?;
        for key in user.attributes.keys() {
            let custom_ok = key
                .strip_prefix("custom:")
                .is_some_and(|rest| !rest.is_empty() && rest.len() <= 20);
            if !custom_ok && !STANDARD_ATTRIBUTES.contains(&key.as_str()) {
                return Err(format!(
                    "user {:?}: attribute {key:?} is neither custom:NAME (1-20 chars) nor a standard attribute",
                    user.username
                ));
            }
        }
    }
    Ok(())
}

/// A user's SMS or e-mail MFA needs somewhere to send the code, and excludes an authenticator
/// (Cognito asks for one second factor, the preferred one).
fn check_message_mfa(user: &UserRecord) -> Result<(), String> {
    let name = &user.username;
    match user.mfa {
        Some(_) if user.totp_secret.is_some() => Err(format!(
            "user {name:?}: set totp_secret or mfa, not both (one second factor per user)"
        )),
        Some(MessageMfa::Sms) if !user.attributes.contains_key("phone_number") => Err(format!(
            "user {name:?}: mfa = \"sms\" needs a phone_number attribute (e.g. \"+15555550100\")"
        )),
        Some(MessageMfa::Email) if user.email.is_empty() => {
            Err(format!("user {name:?}: mfa = \"email\" needs an email"))
        }
        _ => Ok(()),
    }
}

/// In a pool whose users sign in with e-mail or phone number, every user needs one of them,
/// and no two users may share one.
pub(super) fn validate_sign_in_names(
    users: &[UserRecord],
    attributes: &[UsernameAttribute],
) -> Result<(), String> {
    if attributes.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    for user in users {
        let names: Vec<String> = attributes
            .iter()
            .filter_map(|a| user.sign_in_value(*a))
            .map(|v| v.to_lowercase())
            .collect();
        if names.is_empty() {
            let wanted: Vec<&str> = attributes.iter().map(|a| a.name()).collect();
            return Err(format!(
                "user {:?} has no {}: this pool signs in with {} (or set username_attributes = [] for plain usernames)",
                user.username,
                wanted.join(" or "),
                wanted.join(" or ")
            ));
        }
        for name in names {
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "{name:?} belongs to two users; sign-in names must be unique"
                ));
            }
        }
    }
    Ok(())
}

/// The base32 alphabet (RFC 4648) of TOTP secrets.
pub(crate) const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648) as authenticator apps accept it: case, spaces and padding ignored.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|b| *b as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_toml_errors_are_one_line() {
        let err = parse_users_toml("[[users]\nusername = 1").unwrap_err();
        assert!(err.starts_with("line 1:") && !err.contains('\n'), "{err}");
        let users =
            parse_users_toml("[[users]]\nusername = \"a@b.c\"\npassword = \"x\"\n").unwrap();
        assert_eq!(
            users[0].email, "a@b.c",
            "email defaults to an e-mail-shaped username"
        );
    }
}
