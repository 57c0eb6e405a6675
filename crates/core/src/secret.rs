//! Secret newtypes: the value is reachable only through `expose()`, and `Debug`/`Display`
//! print a redaction, so a token in a log line or an error message is impossible by type.

use std::fmt;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value; from here on it prints only as a redaction.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The raw value. Only hand it to the wire or the keychain.
            pub fn expose(&self) -> &str {
                &self.0
            }
            /// The length of the raw value in bytes (what `Debug` shows instead of it).
            pub fn len(&self) -> usize {
                self.0.len()
            }
            /// Whether the raw value is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "([redacted; {} bytes])"), self.0.len())
            }
        }

        impl Secret for $name {
            fn from_string(value: String) -> Self {
                Self(value)
            }
            fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!("[redacted ", $label, "]"))
            }
        }
    };
}

secret_type!(
    /// An ID or access token (a JWT, or opaque for some providers).
    SecretToken,
    "SecretToken"
);
secret_type!(
    /// A refresh token. Lives in memory and in the OS keychain, nowhere else.
    RefreshToken,
    "RefreshToken"
);
secret_type!(
    /// An authorization code received on the loopback listener.
    AuthorizationCode,
    "AuthorizationCode"
);

secret_type!(
    /// The `nonce` of one sign-in (binds the ID token to the request).
    Nonce,
    "Nonce"
);

/// What the keychain serialisation needs of a secret type.
pub(crate) trait Secret: Sized {
    fn from_string(value: String) -> Self;
    fn expose(&self) -> &str;
}

/// `#[serde(with = "keychain_serde")]`: a secret written to the keychain, and nowhere else
/// (the secret types themselves implement no `Serialize`, so a secret cannot reach JSON for the
/// UI or a log by accident).
pub(crate) mod keychain_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Secret;

    pub fn serialize<S: Serializer, T: Secret>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.expose())
    }
    pub fn deserialize<'de, D: Deserializer<'de>, T: Secret>(d: D) -> Result<T, D::Error> {
        String::deserialize(d).map(T::from_string)
    }

    /// The same for an `Option` of a secret.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::Secret;

        pub fn serialize<S: Serializer, T: Secret>(
            value: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => s.serialize_some(v.expose()),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>, T: Secret>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            Ok(Option::<String>::deserialize(d)?.map(T::from_string))
        }
    }
}

impl Nonce {
    /// 256 random bits, base64url.
    pub(crate) fn new_random() -> Self {
        Self(oauth2::CsrfToken::new_random_len(32).secret().clone())
    }
}

secret_type!(
    /// The secret half of temporary AWS credentials (`SecretAccessKey`): signs requests.
    AwsSecretAccessKey,
    "AwsSecretAccessKey"
);
secret_type!(
    /// The session token of temporary AWS credentials (`SessionToken`, `X-Amz-Security-Token`).
    AwsSessionToken,
    "AwsSessionToken"
);

secret_type!(
    /// The bearer token of one `latchkey aws serve` run (`AWS_CONTAINER_AUTHORIZATION_TOKEN`):
    /// whoever sends it gets the profile's AWS credentials.
    EndpointToken,
    "EndpointToken"
);

impl EndpointToken {
    /// 256 random bits, base64url (a fresh one per run).
    pub(crate) fn new_random() -> Self {
        Self(oauth2::CsrfToken::new_random_len(32).secret().clone())
    }
}

/// Compare two secrets without an early exit on the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let t = SecretToken::new("eyJsecretvalue");
        assert!(!format!("{t:?}").contains("secretvalue"));
        assert!(!format!("{t}").contains("secretvalue"));
        assert_eq!(t.expose(), "eyJsecretvalue");
        let r = RefreshToken::new("rt-value");
        assert!(!format!("{r:?} {r}").contains("rt-value"));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
