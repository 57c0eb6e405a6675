//! Minting Cognito-shaped tokens: ID and access JWTs (RS256, separate keys) with the
//! ID-token faults applied, and opaque JWE-looking refresh tokens.

use serde_json::{json, Map, Value};

use crate::config::GroupRole;
use crate::provider::{pad_object, Fault, Oversized, Provider};
use crate::user_pool::jwt;
use crate::user_pool::store::{random_token, User};

/// What a token request is minted for.
pub(crate) struct MintRequest<'a> {
    pub(crate) user: &'a User,
    pub(crate) scopes: &'a [String],
    pub(crate) auth_time: i64,
    /// How the user authenticated (`pwd`, `otp`, `mfa`): the `amr` claim, when switched on.
    pub(crate) amr: &'a [String],
    pub(crate) nonce: Option<&'a str>,
    /// `origin_jti`: the refresh-token family the tokens belong to.
    pub(crate) family: &'a str,
    /// True for the refresh_token grant (enables the `refresh_different_*` faults).
    pub(crate) is_refresh: bool,
}

/// What [`mint`] made.
pub(crate) struct Minted {
    pub(crate) id_token: Option<String>,
    pub(crate) access_token: String,
}

/// The tokens of one response: the access token, and the ID token with the `openid` scope.
pub(crate) fn mint(p: &Provider, req: &MintRequest<'_>) -> Minted {
    let now = p.token_now();
    let event_id = event_id(req);
    let access_token = access_token(p, req, now, event_id.as_deref());
    if !req.scopes.iter().any(|s| s == "openid") {
        // Cognito issues an ID token only with the openid scope.
        return Minted {
            id_token: None,
            access_token,
        };
    }
    let mut id = id_claims(p, req, now, event_id.as_deref(), &access_token);
    apply_claim_faults(p, &mut id, now, req.is_refresh);
    let oversized = p.faults().oversized(Oversized::IdToken);
    let id_token = match oversized {
        None => sign_id_token(p, Value::Object(id)),
        Some(bytes) => {
            // base64url grows the claims by 4/3; the header and signature stay as they are.
            let plain = sign_id_token(p, Value::Object(id.clone()));
            let encoded_claims = plain.split('.').nth(1).map_or(0, str::len);
            let others = plain.len() - encoded_claims;
            pad_object(&mut id, bytes.saturating_sub(others) * 3 / 4 + 3);
            sign_id_token(p, Value::Object(id))
        }
    };
    Minted {
        id_token: Some(id_token),
        access_token,
    }
}

/// `event_id`: one per authentication event, so only on the tokens of a local user's sign-in.
/// A hosted-UI sign-in's ID token has one (pmill/aws-cognito#34, 2019); a Google-federated
/// user's has none (fixtures/federated_id_token.json), nor do AWS's documented samples
/// (fixtures/id_token.json, access_token.json); refreshed tokens follow no new
/// authentication event and carry none (fixtures/README.md: UNCONFIRMED by a capture).
fn event_id(req: &MintRequest<'_>) -> Option<String> {
    let authenticated_here = !req.is_refresh && req.user.identities.is_empty();
    authenticated_here.then(|| uuid::Uuid::new_v4().to_string())
}

/// The signed access token (Cognito's claims, in Cognito's order).
fn access_token(p: &Provider, req: &MintRequest<'_>, now: i64, event_id: Option<&str>) -> String {
    let client = &p.settings.client;
    let issuer = &p.settings.issuer;
    let user = req.user;
    let mut access = Map::new();
    access.insert("sub".into(), json!(user.sub));
    if !user.groups.is_empty() {
        access.insert("cognito:groups".into(), json!(user.groups));
    }
    access.insert("iss".into(), json!(issuer));
    access.insert("version".into(), json!(2));
    access.insert("client_id".into(), json!(client.client_id));
    access.insert("origin_jti".into(), json!(req.family));
    if let Some(event_id) = event_id {
        access.insert("event_id".into(), json!(event_id));
    }
    access.insert("token_use".into(), json!("access"));
    access.insert("scope".into(), json!(req.scopes.join(" ")));
    access.insert("auth_time".into(), json!(req.auth_time));
    access.insert(
        "exp".into(),
        json!(now + client.access_token_ttl.as_secs() as i64),
    );
    if !p.has_fault(&Fault::AccessTokenWithoutIat) {
        access.insert("iat".into(), json!(now));
    }
    access.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    access.insert("username".into(), json!(user.username));
    let access_token = {
        let keys = p.keys();
        // In the single-key JWKS variant the access token is signed with the one published
        // key (the ID key), so it stays verifiable.
        let key = if p.has_fault(&Fault::IdTokenNoKidSingleKey) {
            &keys.id
        } else {
            &keys.access
        };
        let header = json!({"kid": key.kid, "alg": "RS256"});
        jwt::sign_rs256(&header, &Value::Object(access), key)
    };
    access_token
}

/// The ID token's claims, before the claim faults.
fn id_claims(
    p: &Provider,
    req: &MintRequest<'_>,
    now: i64,
    event_id: Option<&str>,
    access_token: &str,
) -> Map<String, Value> {
    let client = &p.settings.client;
    let issuer = &p.settings.issuer;
    let user = req.user;
    let mut id = Map::new();
    // Cognito adds at_hash on hosted-UI tokens; UNCONFIRMED whether refreshed ID tokens carry
    // it, we add it to both (it always matches the access token of the same response).
    let at_hash = if p.has_fault(&Fault::IdTokenWrongAtHash) {
        jwt::at_hash(&format!("not-{access_token}"))
    } else {
        jwt::at_hash(access_token)
    };
    id.insert("at_hash".into(), json!(at_hash));
    id.insert("sub".into(), json!(user.sub));
    if !user.groups.is_empty() {
        id.insert("cognito:groups".into(), json!(user.groups));
    }
    add_role_claims(&p.settings.group_roles, &user.groups, &mut id);
    if !user.email.is_empty() {
        // Emulated simplification: openid alone releases every readable attribute.
        id.insert("email_verified".into(), json!(user.contact_verified()));
    }
    id.insert("iss".into(), json!(issuer));
    id.insert("cognito:username".into(), json!(user.username));
    if !user.identities.is_empty() {
        // Cognito's shape: an array of objects whose values are strings (or null).
        id.insert("identities".into(), json!(user.identities));
    }
    if p.settings.amr_claims && !req.amr.is_empty() {
        id.insert("amr".into(), json!(req.amr));
    }
    id.insert("origin_jti".into(), json!(req.family));
    id.insert("aud".into(), json!(client.client_id));
    if let Some(event_id) = event_id {
        id.insert("event_id".into(), json!(event_id));
    }
    id.insert("token_use".into(), json!("id"));
    id.insert("auth_time".into(), json!(req.auth_time));
    if let Some(nonce) = req.nonce {
        // UNCONFIRMED whether Cognito repeats the nonce in refreshed ID tokens; it is only
        // passed here for the authorization_code grant.
        id.insert("nonce".into(), json!(nonce));
    }
    id.insert(
        "exp".into(),
        json!(now + client.id_token_ttl.as_secs() as i64),
    );
    id.insert("iat".into(), json!(now));
    id.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    if !user.email.is_empty() {
        id.insert("email".into(), json!(user.email));
    }
    for (k, v) in &user.attributes {
        id.insert(k.clone(), json!(v));
    }
    if user.attributes.contains_key("phone_number")
        && !user.attributes.contains_key("phone_number_verified")
    {
        // Cognito pairs every phone_number with phone_number_verified (ID-token page).
        id.insert(
            "phone_number_verified".into(),
            json!(user.contact_verified()),
        );
    }
    id
}

fn apply_claim_faults(p: &Provider, id: &mut Map<String, Value>, now: i64, is_refresh: bool) {
    let faults = p.faults().clone();
    let ttl = p.settings.client.id_token_ttl.as_secs() as i64;
    let client_id = &p.settings.client.client_id;
    if faults.has(&Fault::IdTokenWrongIssuer) {
        id.insert(
            "iss".into(),
            json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_WrongPool"),
        );
    }
    if faults.has(&Fault::IdTokenWrongAudience) {
        id.insert("aud".into(), json!("some-other-client"));
    }
    if faults.has(&Fault::IdTokenExtraAudience) {
        id.insert("aud".into(), json!([client_id, "untrusted-client"]));
    }
    if faults.has(&Fault::IdTokenMissingAudience) {
        id.remove("aud");
    }
    if faults.has(&Fault::IdTokenExpired) {
        id.insert("iat".into(), json!(now - 7200));
        id.insert("exp".into(), json!(now - 3600));
    }
    if faults.has(&Fault::IdTokenIatInFuture) {
        id.insert("iat".into(), json!(now + 86_400));
        id.insert("exp".into(), json!(now + 86_400 + ttl));
    }
    if faults.has(&Fault::IdTokenIatWeekOld) {
        id.insert("iat".into(), json!(now - 7 * 86_400));
    }
    if faults.has(&Fault::IdTokenWrongNonce) {
        id.insert("nonce".into(), json!(format!("wrong-{}", random_token(12))));
    }
    if is_refresh {
        if faults.has(&Fault::RefreshDifferentSub) {
            id.insert("sub".into(), json!(uuid::Uuid::new_v4().to_string()));
        }
        if faults.has(&Fault::RefreshDifferentIssuer) {
            id.insert("iss".into(), json!(format!("{}-other", p.settings.issuer)));
        }
        if faults.has(&Fault::RefreshDifferentAudience) {
            id.insert("aud".into(), json!("another-client"));
        }
        if faults.has(&Fault::RefreshDifferentAuthTime) {
            let original = id.get("auth_time").and_then(Value::as_i64).unwrap_or(now);
            id.insert("auth_time".into(), json!(original + 3600));
        }
    }
    if faults.has(&Fault::IdTokenTokenUseAccess) {
        id.insert("token_use".into(), json!("access"));
    }
    // Malformed but present: the value is there, in the wrong JSON type.
    for (fault, claim) in [
        (Fault::IdTokenExpString, "exp"),
        (Fault::IdTokenIatString, "iat"),
    ] {
        if faults.has(&fault) {
            if let Some(number) = id.get(claim).and_then(Value::as_i64) {
                id.insert(claim.into(), json!(number.to_string()));
            }
        }
    }
    if faults.has(&Fault::IdTokenAudNumber) {
        id.insert("aud".into(), json!(1_234_567_890));
    }
    for (fault, claim) in [
        (Fault::IdTokenMissingSub, "sub"),
        (Fault::IdTokenMissingIat, "iat"),
        (Fault::IdTokenMissingExp, "exp"),
    ] {
        if faults.has(&fault) {
            id.remove(claim);
        }
    }
}

fn sign_id_token(p: &Provider, claims: Value) -> String {
    let faults = p.faults().clone();
    let keys = p.keys();
    let key = &keys.id;
    if faults.has(&Fault::IdTokenAlgNone) {
        let header = json!({"alg": "none", "typ": "JWT"});
        return format!("{}.", jwt::signing_input(&header, &claims));
    }
    if faults.has(&Fault::IdTokenHs256) {
        let header = json!({"kid": key.kid, "alg": "HS256"});
        let input = jwt::signing_input(&header, &claims);
        let mac = jwt::hmac_sha256(&key.public_pem(), input.as_bytes());
        return format!("{input}.{}", jwt::b64url(&mac));
    }
    let mut header = Map::new();
    if faults.has(&Fault::IdTokenUnknownKid) {
        header.insert("kid".into(), json!(format!("unknown-{}", random_token(16))));
    } else if !faults.has(&Fault::IdTokenNoKidSingleKey)
        && !faults.has(&Fault::IdTokenNoKidMultiKey)
    {
        header.insert("kid".into(), json!(key.kid));
    }
    let rs512 = faults.has(&Fault::IdTokenUnadvertisedAlg);
    header.insert("alg".into(), json!(if rs512 { "RS512" } else { "RS256" }));
    if faults.has(&Fault::IdTokenTypAtJwt) {
        header.insert("typ".into(), json!("at+jwt"));
    }
    let input = jwt::signing_input(&Value::Object(header), &claims);
    let mut signature = if rs512 {
        key.sign_rs512(input.as_bytes())
    } else {
        key.sign_rs256(input.as_bytes())
    };
    if faults.has(&Fault::IdTokenBadSignature) {
        signature[0] ^= 0x55;
        let last = signature.len() - 1;
        signature[last] ^= 0xAA;
    }
    format!("{input}.{}", jwt::b64url(&signature))
}

/// A new opaque refresh token. Cognito's are JWEs (`{"cty":"JWT","enc":"A256GCM",
/// "alg":"RSA-OAEP"}`, five parts); ours have the same shape but random content.
pub(crate) fn new_refresh_token() -> String {
    let header = jwt::b64url(br#"{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}"#);
    format!(
        "{header}.{}.{}.{}.{}",
        random_token(256),
        random_token(12),
        random_token(384),
        random_token(16)
    )
}

/// Adds `cognito:roles` and `cognito:preferred_role` to an ID token's claims for a user in
/// `groups`, as Cognito does when the user's groups carry roles.
fn add_role_claims(group_roles: &[GroupRole], groups: &[String], claims: &mut Map<String, Value>) {
    let mut mine: Vec<&GroupRole> = group_roles
        .iter()
        .filter(|r| groups.contains(&r.group))
        .collect();
    if mine.is_empty() {
        return;
    }
    mine.sort_by_key(|r| r.precedence);
    let mut roles: Vec<&str> = mine.iter().map(|r| r.role_arn.as_str()).collect();
    roles.dedup();
    let best = mine[0].precedence;
    let tied = mine.iter().filter(|r| r.precedence == best).count() > 1;
    if roles.len() == 1 || !tied {
        claims.insert("cognito:preferred_role".into(), json!(mine[0].role_arn));
    }
    claims.insert("cognito:roles".into(), json!(roles));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEMO_ADMIN_ROLE, DEMO_USER_ROLE};

    #[test]
    fn role_claims_follow_group_precedence() {
        let mut claims = Map::new();
        add_role_claims(
            &GroupRole::demo_roles(),
            &["users".into(), "admins".into()],
            &mut claims,
        );
        assert_eq!(claims["cognito:preferred_role"], DEMO_ADMIN_ROLE);
        assert_eq!(
            claims["cognito:roles"],
            json!([DEMO_ADMIN_ROLE, DEMO_USER_ROLE])
        );

        let tie = vec![
            GroupRole {
                group: "a".into(),
                role_arn: "arn:aws:iam::1:role/A".into(),
                precedence: 1,
            },
            GroupRole {
                group: "b".into(),
                role_arn: "arn:aws:iam::1:role/B".into(),
                precedence: 1,
            },
        ];
        let mut claims = Map::new();
        add_role_claims(&tie, &["a".into(), "b".into()], &mut claims);
        assert!(
            claims.get("cognito:preferred_role").is_none(),
            "no single best precedence"
        );

        let mut claims = Map::new();
        add_role_claims(&GroupRole::demo_roles(), &["others".into()], &mut claims);
        assert!(claims.is_empty());
    }
}
