//! Tokens signed with a key of the test's own (P-256, ring): for the checks a provider cannot
//! be asked to fail. The key goes into a proxied JWKS, and the verifier must judge the token.

use std::sync::Arc;

use latchkey_core::Profile;
use latchkey_devidp::DevIdp;

use crate::http::http;
use crate::proxy::{proxied_idp, Proxy};

/// Signs tokens with its own P-256 key (ring), for the checks a provider cannot be asked to
/// fail: its public key goes into a proxied JWKS, and the verifier must then judge the token.
pub struct Forger {
    key: ring::signature::EcdsaKeyPair,
    pub kid: String,
}

impl Forger {
    pub fn new(kid: &str) -> Forger {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Forger {
            key,
            kid: kid.into(),
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> serde_json::Value {
        use base64::Engine;
        use ring::signature::KeyPair;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let point = self.key.public_key().as_ref();
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
        })
    }

    /// A compact JWS of `claims` under `header`, signed ES256 with this key.
    pub fn sign(&self, header: serde_json::Value, claims: serde_json::Value) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let rng = ring::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64.encode(sig.as_ref()))
    }
}

/// A proxied devidp whose JWKS also holds `keys` (forgers' public keys); with `advertise`,
/// discovery lists ES256 among the ID-token algorithms too.
pub fn forging_idp(keys: &[serde_json::Value], advertise: bool) -> (DevIdp, Proxy, Profile) {
    let keys = keys.to_vec();
    proxied_idp(Arc::new(move |path: &str, status, body: Vec<u8>| {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return (status, body);
        };
        if path.ends_with("jwks.json") {
            v["keys"]
                .as_array_mut()
                .unwrap()
                .extend(keys.iter().cloned());
        } else if path.ends_with("openid-configuration") && advertise {
            v["id_token_signing_alg_values_supported"] = serde_json::json!(["RS256", "ES256"]);
        } else {
            return (status, body);
        }
        (status, serde_json::to_vec(&v).unwrap())
    }))
}

/// Claims a verifier for `profile` accepts (an hour's validity from now).
pub fn good_claims(profile: &Profile) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    serde_json::json!({
        "iss": profile.issuer(), "sub": "forged-user", "aud": profile.client_id,
        "iat": now, "exp": now + 3600,
    })
}

/// The verdict on `token` of a provider as a session for `profile` sees it (now).
pub async fn verdict(
    profile: &Profile,
    token: &str,
) -> latchkey_core::Result<Vec<latchkey_core::Check>> {
    let provider = latchkey_core::internals::Provider::load(profile, http())
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    latchkey_core::internals::verify_id_token(&provider, profile, token, now).await
}
