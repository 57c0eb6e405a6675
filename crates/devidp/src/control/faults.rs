//! Fault switches: deliberate misbehaviour for client tests (bad tokens, broken endpoints).
//! Faults are cumulative until cleared; each has a stable snake_case name used by the control endpoint.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Declares [`Fault`] from one table: each row is a variant (its docs, its parameter) and the
/// text forms the control endpoint lists in [`FAULT_NAMES`]. `Fault::name`, `FAULT_NAMES` and
/// the parser of faults that take no value all read this table, so a new fault is one row.
macro_rules! fault_table {
    (
        $(#[$meta:meta])*
        pub enum Fault {
            $(
                $(#[$doc:meta])*
                $variant:ident $(( $($field:ty),+ ))? => [$($form:literal),+],
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Fault {
            $( $(#[$doc])* $variant $(( $($field),+ ))?, )+
        }

        /// Names of all faults, in the text form the control endpoint accepts.
        pub const FAULT_NAMES: &[&str] = &[$($($form),+),+];

        impl Fault {
            /// The text forms of this fault's row in the table.
            fn forms(&self) -> &'static [&'static str] {
                match self {
                    $( Fault::$variant { .. } => &[$($form),+], )+
                }
            }

            /// The fault named `name` among those that take no value.
            fn without_value(name: &str) -> Option<Fault> {
                [$( (&[$($form),+][..], fault_without_value!($variant $(; $($field),+)?)) ),+]
                    .into_iter()
                    .find_map(|(forms, fault)| fault.filter(|_| forms[0] == name))
            }
        }
    };
}

/// `Some(Fault::Variant)` for a row without a parameter, `None` for one with.
macro_rules! fault_without_value {
    ($variant:ident) => {
        Some(Fault::$variant)
    };
    ($variant:ident; $($field:ty),+) => {
        None
    };
}

fault_table! {
    /// One deliberate misbehaviour. Set with [`crate::DevIdp::set_fault`] or
    /// `POST /_devidp/faults`; all stay on until [`crate::DevIdp::clear_faults`].
    /// The text form (`Display`/`FromStr`) is the control endpoint's name, e.g. `token_slow=1500ms`.
    pub enum Fault {
        // ---- identity pool ----
        /// `identity_throttled`: every identity-pool call answers 400 TooManyRequestsException
        /// "Rate exceeded" (AWS's status for it, not 429).
        IdentityThrottled => ["identity_throttled"],
        /// `identity_untrusted_client`: the identity pool does not list the app client as a
        /// provider ("Token is not from a supported provider of this identity pool.").
        IdentityUntrustedClient => ["identity_untrusted_client"],
        /// `identity_role_untrusted`: the pool's roles do not trust it
        /// (InvalidIdentityPoolConfigurationException).
        IdentityRoleUntrusted => ["identity_role_untrusted"],
        /// `identity_slow=MILLIS`: the identity origin waits this long before answering.
        IdentitySlow(Duration) => ["identity_slow=MILLIS"],
        /// `user_pool_throttled`: every `cognito-idp` JSON API call answers 400
        /// TooManyRequestsException "Rate exceeded".
        UserPoolThrottled => ["user_pool_throttled"],
        // ---- token endpoint ----
        /// `token_throttled`: `/oauth2/token` answers 400 TooManyRequestsException "Rate
        /// exceeded" in the JSON API's shape (no public capture of Cognito's answer there).
        TokenThrottled => ["token_throttled"],
        /// `token_server_error`: `/oauth2/token` answers 500 `{"error":"server_error"}`.
        TokenServerError => ["token_server_error"],
        /// `token_slow=MILLIS`: `/oauth2/token` waits this long before answering.
        TokenSlow(Duration) => ["token_slow=MILLIS"],
        /// `token_malformed_json`: a 200 with a truncated, unparsable JSON body.
        TokenMalformedJson => ["token_malformed_json"],
        /// `token_missing_refresh_token`: the authorization-code response has no `refresh_token`.
        TokenMissingRefreshToken => ["token_missing_refresh_token"],
        /// `token_redirect`: `/oauth2/token` answers `302` to another URL.
        TokenRedirect => ["token_redirect"],
        /// `token_error_description`: token and revocation errors carry `error_description` (the
        /// reason in words) besides `error`; Cognito's carry `error` only.
        TokenErrorDescription => ["token_error_description"],
        /// `token_expires_in=SECS`: token responses say `expires_in: SECS` (any whole number, zero
        /// or negative included) whatever the access token's lifetime.
        TokenExpiresIn(i64) => ["token_expires_in=SECS"],
        /// `access_token_without_iat`: access tokens carry no `iat`, so a client cannot tell from
        /// the token when it was issued (as with the opaque access tokens many providers issue).
        AccessTokenWithoutIat => ["access_token_without_iat"],
        /// `revoke_server_error`: `/oauth2/revoke` answers 500 `{"error":"server_error"}` and
        /// revokes nothing.
        RevokeServerError => ["revoke_server_error"],
        // ---- ID token contents ----
        /// `id_token_wrong_iss`
        IdTokenWrongIssuer => ["id_token_wrong_iss"],
        /// `id_token_wrong_aud`
        IdTokenWrongAudience => ["id_token_wrong_aud"],
        /// `id_token_missing_aud`
        IdTokenMissingAudience => ["id_token_missing_aud"],
        /// `id_token_extra_aud`: `aud` is an array of the client id and an untrusted one.
        IdTokenExtraAudience => ["id_token_extra_aud"],
        /// `id_token_missing_sub`
        IdTokenMissingSub => ["id_token_missing_sub"],
        /// `id_token_missing_iat`
        IdTokenMissingIat => ["id_token_missing_iat"],
        /// `id_token_missing_exp`
        IdTokenMissingExp => ["id_token_missing_exp"],
        /// `id_token_expired`: `exp` one hour in the past.
        IdTokenExpired => ["id_token_expired"],
        /// `id_token_iat_future`: `iat` one day in the future.
        IdTokenIatInFuture => ["id_token_iat_future"],
        /// `id_token_iat_week_old`: `iat` a week in the past (`exp` still in the future).
        IdTokenIatWeekOld => ["id_token_iat_week_old"],
        /// `id_token_wrong_nonce`
        IdTokenWrongNonce => ["id_token_wrong_nonce"],
        /// `id_token_bad_signature`: the RS256 signature is corrupted.
        IdTokenBadSignature => ["id_token_bad_signature"],
        /// `id_token_alg_none`: header `alg: none`, empty signature.
        IdTokenAlgNone => ["id_token_alg_none"],
        /// `id_token_hs256`: HMAC-SHA256 with the public key as secret (alg confusion).
        IdTokenHs256 => ["id_token_hs256"],
        /// `id_token_unknown_kid`: signed with the real key but a `kid` absent from the JWKS.
        IdTokenUnknownKid => ["id_token_unknown_kid"],
        /// `id_token_no_kid_single_key`: no `kid` in the ID token's header, and the JWKS holds only
        /// the ID key (access tokens are then signed with that key too, `kid` included).
        IdTokenNoKidSingleKey => ["id_token_no_kid_single_key"],
        /// `id_token_no_kid_multi_key`: no `kid` in the header; the JWKS holds both keys.
        IdTokenNoKidMultiKey => ["id_token_no_kid_multi_key"],
        /// `id_token_unadvertised_alg`: the ID token is signed with RS512 by the real ID key (its
        /// `kid` included), while discovery still advertises only RS256; the JWKS keys carry no
        /// `alg` member (RFC 7517 §4.4 makes it optional), so only the advertised-algorithm rule
        /// can refuse the token.
        IdTokenUnadvertisedAlg => ["id_token_unadvertised_alg"],
        /// `jwks_duplicate_kid`: the JWKS lists a second, different key (the access key's modulus)
        /// under the ID key's `kid`, before the real one; the ID token verifies with one of them.
        JwksDuplicateKid => ["jwks_duplicate_kid"],
        /// `id_token_typ_at_jwt`: the ID token's header says `typ: at+jwt` (an access token's type).
        IdTokenTypAtJwt => ["id_token_typ_at_jwt"],
        /// `id_token_token_use_access`: the ID token says `token_use: access`.
        IdTokenTokenUseAccess => ["id_token_token_use_access"],
        /// `id_token_wrong_at_hash`: `at_hash` does not match the access token of the response.
        IdTokenWrongAtHash => ["id_token_wrong_at_hash"],
        /// `id_token_exp_string`: `exp` is present but a string (`"1700003600"`).
        IdTokenExpString => ["id_token_exp_string"],
        /// `id_token_iat_string`: `iat` is present but a string.
        IdTokenIatString => ["id_token_iat_string"],
        /// `id_token_aud_number`: `aud` is present but a number.
        IdTokenAudNumber => ["id_token_aud_number"],
        // ---- oversized answers ----
        /// `id_token_oversized[=BYTES]`, `token_response_oversized[=BYTES]`,
        /// `discovery_oversized[=BYTES]`, `jwks_oversized[=BYTES]`, `userinfo_oversized[=BYTES]`:
        /// the ID token or the response grows to at least BYTES (defaults: 200 000 for the ID
        /// token, [`OVERSIZED_RESPONSE_BYTES`] for responses). A padding claim or member does it;
        /// the JWKS grows with extra keys instead, so it stays a valid key set.
        Oversized(Oversized, usize) => ["id_token_oversized[=BYTES]", "token_response_oversized[=BYTES]", "discovery_oversized[=BYTES]", "jwks_oversized[=BYTES]", "userinfo_oversized[=BYTES]"],
        // ---- refreshed ID tokens ----
        /// `refresh_different_sub`: ID tokens from a refresh carry another `sub`.
        RefreshDifferentSub => ["refresh_different_sub"],
        /// `refresh_different_iss`: ID tokens from a refresh carry another `iss`.
        RefreshDifferentIssuer => ["refresh_different_iss"],
        /// `refresh_different_aud`: ID tokens from a refresh carry another `aud`.
        RefreshDifferentAudience => ["refresh_different_aud"],
        /// `refresh_without_id_token`: refresh responses carry no `id_token` (OIDC Core 12.2
        /// allows it); the access token is still renewed.
        RefreshWithoutIdToken => ["refresh_without_id_token"],
        /// `refresh_different_auth_time`: ID tokens from a refresh carry an `auth_time` an hour
        /// after the original sign-in's, as if the user had signed in again (OIDC Core 12.2 says
        /// it must stay the original's).
        RefreshDifferentAuthTime => ["refresh_different_auth_time"],
        // ---- clock ----
        /// `clock_offset=SECS`: tokens are issued as if the provider's clock were SECS off (±).
        ClockOffset(i64) => ["clock_offset=SECS"],
        // ---- other endpoints ----
        /// `discovery_issuer_mismatch`: discovery's `issuer` differs from the tokens' `iss`.
        DiscoveryIssuerMismatch => ["discovery_issuer_mismatch"],
        /// `jwks_max_age=SECS`: the JWKS answer says `Cache-Control: max-age=SECS`, whatever
        /// [`crate::DevIdpConfig::jwks_max_age`] says.
        JwksMaxAge(u64) => ["jwks_max_age=SECS"],
        /// `userinfo_different_sub`: `/oauth2/userInfo` answers with another `sub`.
        UserinfoDifferentSub => ["userinfo_different_sub"],
        /// `authorize_response_iss`: the redirect carries the correct RFC 9207 `iss` parameter.
        AuthorizeResponseIss => ["authorize_response_iss"],
        /// `authorize_response_wrong_iss`: the redirect carries a wrong `iss` parameter.
        AuthorizeResponseWrongIss => ["authorize_response_wrong_iss"],
    }
}

/// What an `*_oversized` fault makes too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oversized {
    /// The ID token itself (a padding claim), in every token response.
    IdToken,
    /// The whole `/oauth2/token` response body (a padding member).
    TokenResponse,
    /// The discovery document (a padding member).
    Discovery,
    /// The JWKS (extra keys with their own `kid`s).
    Jwks,
    /// The `/oauth2/userInfo` answer (a padding member).
    Userinfo,
}

impl Oversized {
    const ALL: [Oversized; 5] = [
        Oversized::IdToken,
        Oversized::TokenResponse,
        Oversized::Discovery,
        Oversized::Jwks,
        Oversized::Userinfo,
    ];

    /// Its fault's name: the table row of `Fault::Oversized` lists one form per kind, in the
    /// order of [`Oversized::ALL`].
    fn fault_name(self) -> &'static str {
        base_name(Fault::Oversized(self, 0).forms()[self as usize])
    }

    /// The size the fault aims at when no `=BYTES` is given.
    pub fn default_bytes(self) -> usize {
        match self {
            Oversized::IdToken => OVERSIZED_ID_TOKEN_BYTES,
            _ => OVERSIZED_RESPONSE_BYTES,
        }
    }
}

/// Default size of an oversized ID token: about 200 KB.
pub const OVERSIZED_ID_TOKEN_BYTES: usize = 200_000;
/// Default size of an oversized response: 2 MiB, over any sensible bound for these documents.
pub const OVERSIZED_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

impl Fault {
    /// The fault's snake_case name, without its parameter.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Oversized(what, _) => what.fault_name(),
            other => base_name(other.forms()[0]),
        }
    }
}

/// A text form without its parameter: `token_slow=MILLIS` → `token_slow`.
fn base_name(form: &'static str) -> &'static str {
    form.split(['=', '[']).next().unwrap_or(form)
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TokenSlow(d) => write!(f, "token_slow={}ms", d.as_millis()),
            Fault::IdentitySlow(d) => write!(f, "identity_slow={}ms", d.as_millis()),
            Fault::ClockOffset(secs) => write!(f, "clock_offset={secs}"),
            Fault::TokenExpiresIn(secs) => write!(f, "token_expires_in={secs}"),
            Fault::JwksMaxAge(secs) => write!(f, "jwks_max_age={secs}"),
            Fault::Oversized(what, bytes) => write!(f, "{}={bytes}", what.fault_name()),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Parses `name` or `name=value` (`token_slow=1500`, `token_slow=2s`, `clock_offset=-300`).
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (text.trim(), None),
        };
        if let Some(what) = oversized_by_name(name) {
            return oversized_fault(what, name, value);
        }
        if let Some(parsed) = fault_with_value(name, value) {
            return parsed;
        }
        let fault = Fault::without_value(name).ok_or_else(|| {
            format!(
                "unknown fault {name:?}; known faults: {}",
                FAULT_NAMES.join(", ")
            )
        })?;
        match value {
            None => Ok(fault),
            Some(_) => Err(format!("fault {name} takes no value")),
        }
    }
}

/// `NAME[=BYTES]`: the default size without a value, else a positive number of bytes.
fn oversized_fault(what: Oversized, name: &str, value: Option<&str>) -> Result<Fault, String> {
    let bytes = match value {
        None => what.default_bytes(),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| format!("{name} value {v:?} is not a positive number of bytes"))?,
    };
    Ok(Fault::Oversized(what, bytes))
}

/// The faults that need a value (a delay or seconds); `None` for any other name.
fn fault_with_value(name: &str, value: Option<&str>) -> Option<Result<Fault, String>> {
    let needed = |example: &str| value.ok_or_else(|| format!("{name} needs {example}"));
    let seconds = |v: &str| {
        v.trim_end_matches('s')
            .parse::<i64>()
            .map_err(|_| format!("{name} value {v:?} is not a whole number of seconds"))
    };
    let parsed = match name {
        "token_slow" => needed("a delay, e.g. token_slow=1500ms")
            .and_then(parse_delay)
            .map(Fault::TokenSlow),
        "identity_slow" => needed("a delay, e.g. identity_slow=1500ms")
            .and_then(parse_delay)
            .map(Fault::IdentitySlow),
        "clock_offset" => needed("seconds, e.g. clock_offset=-300")
            .and_then(seconds)
            .map(Fault::ClockOffset),
        "token_expires_in" => needed("seconds, e.g. token_expires_in=-3600")
            .and_then(seconds)
            .map(Fault::TokenExpiresIn),
        "jwks_max_age" => needed("seconds, e.g. jwks_max_age=300").and_then(|v| {
            v.trim_end_matches('s')
                .parse::<u64>()
                .map(Fault::JwksMaxAge)
                .map_err(|_| format!("{name} value {v:?} is not a whole number of seconds"))
        }),
        _ => return None,
    };
    Some(parsed)
}

fn oversized_by_name(name: &str) -> Option<Oversized> {
    Oversized::ALL.into_iter().find(|o| o.fault_name() == name)
}

/// `1500`, `1500ms` or `2s`.
fn parse_delay(v: &str) -> Result<Duration, String> {
    let bad =
        || format!("delay {v:?} is not a number of milliseconds (1500, 1500ms) or seconds (2s)");
    if let Some(ms) = v.strip_suffix("ms") {
        ms.parse().map(Duration::from_millis).map_err(|_| bad())
    } else if let Some(s) = v.strip_suffix('s') {
        s.parse().map(Duration::from_secs).map_err(|_| bad())
    } else {
        v.parse().map(Duration::from_millis).map_err(|_| bad())
    }
}

/// The faults switched on right now; a fault with a parameter replaces its earlier setting.
#[derive(Clone, Debug, Default)]
pub(crate) struct FaultSet {
    faults: Vec<Fault>,
}

impl FaultSet {
    pub(crate) fn set(&mut self, fault: Fault) {
        self.faults.retain(|f| f.name() != fault.name());
        self.faults.push(fault);
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn has(&self, fault: &Fault) -> bool {
        self.faults.contains(fault)
    }

    pub(crate) fn token_delay(&self) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::TokenSlow(d) => Some(*d),
            _ => None,
        })
    }

    pub(crate) fn identity_delay(&self) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::IdentitySlow(d) => Some(*d),
            _ => None,
        })
    }

    pub(crate) fn clock_offset(&self) -> i64 {
        self.faults
            .iter()
            .find_map(|f| match f {
                Fault::ClockOffset(s) => Some(*s),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The `expires_in` a `token_expires_in` fault puts in token responses, if it is on.
    pub(crate) fn expires_in(&self) -> Option<i64> {
        self.faults.iter().find_map(|f| match f {
            Fault::TokenExpiresIn(s) => Some(*s),
            _ => None,
        })
    }

    pub(crate) fn jwks_max_age(&self) -> Option<u64> {
        self.faults.iter().find_map(|f| match f {
            Fault::JwksMaxAge(s) => Some(*s),
            _ => None,
        })
    }

    /// The size an `*_oversized` fault asks for, if it is on.
    pub(crate) fn oversized(&self, what: Oversized) -> Option<usize> {
        self.faults.iter().find_map(|f| match f {
            Fault::Oversized(w, bytes) if *w == what => Some(*bytes),
            _ => None,
        })
    }

    pub(crate) fn list(&self) -> Vec<String> {
        self.faults.iter().map(|f| f.to_string()).collect()
    }
}

/// Parses the control endpoint's JSON body: a fault string (`"token_slow=1500"`), an object
/// (`{"fault": "token_slow", "millis": 1500}`, `{"fault": "clock_offset", "secs": -300}`),
/// or an array of either.
pub(crate) fn faults_from_json(value: &serde_json::Value) -> Result<Vec<Fault>, String> {
    use serde_json::Value;
    match value {
        Value::String(s) => Ok(vec![s.parse()?]),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(faults_from_json(item)?);
            }
            Ok(out)
        }
        Value::Object(map) => {
            let name = map
                .get("fault")
                .and_then(Value::as_str)
                .ok_or("a fault object needs a \"fault\" name")?;
            let text = if let Some(ms) = map.get("millis").and_then(Value::as_u64) {
                format!("{name}={ms}ms")
            } else if let Some(bytes) = map.get("bytes").and_then(Value::as_u64) {
                format!("{name}={bytes}")
            } else if let Some(secs) = map.get("secs").and_then(Value::as_i64) {
                format!("{name}={secs}")
            } else {
                name.to_string()
            };
            Ok(vec![text.parse()?])
        }
        _ => Err("expected a fault name, a fault object, or an array of them".to_string()),
    }
}

/// Grows a JSON object to at least `bytes` when serialised, with a `devidp_padding` member
/// (for the `*_oversized` faults).
pub(crate) fn pad_object(object: &mut serde_json::Map<String, serde_json::Value>, bytes: usize) {
    const MEMBER: &str = "devidp_padding";
    object.remove(MEMBER);
    let current = serde_json::Value::Object(object.clone()).to_string().len();
    // `,"devidp_padding":""` costs the name, quotes, colon and comma on top of the padding.
    let overhead = MEMBER.len() + 6;
    let missing = bytes.saturating_sub(current + overhead);
    object.insert(MEMBER.into(), serde_json::json!("A".repeat(missing)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Oversized`'s names come from its table row, one form per kind in `Oversized::ALL`'s
    /// order: a reordered row would give a kind another kind's name.
    #[test]
    fn oversized_kinds_take_their_names_from_their_row() {
        let names: Vec<&str> = Oversized::ALL.iter().map(|o| o.fault_name()).collect();
        assert_eq!(
            names,
            [
                "id_token_oversized",
                "token_response_oversized",
                "discovery_oversized",
                "jwks_oversized",
                "userinfo_oversized"
            ]
        );
    }

    /// A fault without a value is found by its row's name; one with a value is not.
    #[test]
    fn faults_without_a_value_come_from_their_row() {
        assert_eq!(
            Fault::without_value("id_token_hs256"),
            Some(Fault::IdTokenHs256)
        );
        assert_eq!(Fault::without_value("token_slow"), None);
        assert_eq!(Fault::IdentityThrottled.name(), "identity_throttled");
        assert_eq!(Fault::TokenSlow(Duration::ZERO).name(), "token_slow");
    }
}
