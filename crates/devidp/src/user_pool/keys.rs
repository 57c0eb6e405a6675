//! The pool's RS256 signing keys: one for ID tokens, one for access tokens (so their `kid`s
//! differ, as in Cognito), their JWKS form and `/.well-known/jwks.json` answer (with its
//! faults), and PKCS#8 persistence.
//!
//! `rsa` generates the keys and writes them (PKCS#8, JWK); `ring` signs: its constant-time,
//! assembly-backed RSA takes a fraction of `rsa`'s time per token, which is most of a code
//! exchange's time at the provider (BENCHMARKS.md, row 3), and keeps the private-key
//! operation out of `rsa`'s non-constant-time code (RUSTSEC-2023-0071).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use serde_json::{json, Value};

use crate::error::DevIdpError;
use crate::http::Reply;
use crate::provider::{Fault, Oversized, Provider};

const KEY_BITS: usize = 2048;

/// One RSA key pair with its `kid`.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    private: RsaPrivateKey,
    public: RsaPublicKey,
    /// The same private key, for signing.
    signer: ring::signature::RsaKeyPair,
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, DevIdpError> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)
            .map_err(|e| DevIdpError::Keys(e.to_string()))?;
        Self::from_private(private).map_err(DevIdpError::Keys)
    }

    fn from_private(private: RsaPrivateKey) -> Result<Self, String> {
        let der = private.to_pkcs8_der().map_err(|e| e.to_string())?;
        let signer = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
            .map_err(|e| format!("the key is not usable for RS256 signing: {e}"))?;
        let public = private.to_public_key();
        // Cognito's kids look like standard base64 of a 32-byte digest ("…=").
        let kid = STANDARD.encode(Sha256::digest(public.n().to_bytes_be()));
        Ok(SigningKey {
            kid,
            private,
            public,
            signer,
        })
    }

    pub(crate) fn from_pkcs8_pem(pem: &str) -> Result<Self, String> {
        Self::from_private(RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?)
    }

    pub(crate) fn to_pkcs8_pem(&self) -> Result<String, String> {
        self.private
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| e.to_string())
    }

    /// The public key as a JWK (`kty`, `alg`, `use`, `kid`, `n`, `e`), as Cognito lists it.
    pub(crate) fn jwk(&self) -> serde_json::Value {
        self.jwk_as(&self.kid)
    }

    /// The public key as a JWK under another `kid` (for the duplicate-`kid` fault).
    pub(crate) fn jwk_as(&self, kid: &str) -> serde_json::Value {
        serde_json::json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
            "kid": kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "use": "sig",
        })
    }

    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        self.sign(&ring::signature::RSA_PKCS1_SHA256, message)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-512 (`RS512`): an algorithm Cognito does not advertise.
    pub(crate) fn sign_rs512(&self, message: &[u8]) -> Vec<u8> {
        self.sign(&ring::signature::RSA_PKCS1_SHA512, message)
    }

    fn sign(&self, padding: &'static dyn ring::signature::RsaEncoding, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.signer.public().modulus_len()];
        self.signer
            .sign(
                padding,
                &ring::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("ring signs with a key it accepted unless the system's random source fails");
        signature
    }

    pub(crate) fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::try_from(signature) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(self.public.clone())
            .verify(message, &signature)
            .is_ok()
    }

    /// The public key's PEM text: the "secret" an alg-confusion (HS256) attacker would use.
    pub(crate) fn public_pem(&self) -> Vec<u8> {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .map(String::into_bytes)
            .unwrap_or_default()
    }
}

/// The two keys in service.
pub(crate) struct KeySet {
    pub(crate) id: SigningKey,
    pub(crate) access: SigningKey,
}

impl KeySet {
    pub(crate) fn generate() -> Result<Self, DevIdpError> {
        let (id, access) = std::thread::scope(|s| {
            let other = s.spawn(SigningKey::generate);
            let id = SigningKey::generate();
            (
                id,
                other
                    .join()
                    .unwrap_or_else(|_| Err(DevIdpError::Keys("key thread panicked".into()))),
            )
        });
        Ok(KeySet {
            id: id?,
            access: access?,
        })
    }

    pub(crate) fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        [&self.id, &self.access].into_iter().find(|k| k.kid == kid)
    }
}

/// `GET /{pool}/.well-known/jwks.json`: the ID-token key and the access-token key.
pub(crate) fn jwks(p: &Provider) -> Reply {
    p.count(|s| s.jwks += 1);
    let faults = p.faults().clone();
    let keys = p.keys();
    let mut list = Vec::new();
    if faults.has(&Fault::JwksDuplicateKid) {
        // A different key under the ID key's kid, listed first.
        list.push(keys.access.jwk_as(&keys.id.kid));
    }
    list.push(keys.id.jwk());
    if !faults.has(&Fault::IdTokenNoKidSingleKey) {
        list.push(keys.access.jwk());
    }
    if let Some(bytes) = faults.oversized(Oversized::Jwks) {
        p.log(format!(
            "fault jwks_oversized: growing the JWKS to {bytes} bytes"
        ));
        let mut size = json!({ "keys": list }).to_string().len();
        let mut n = 0;
        while size < bytes {
            let decoy = keys.access.jwk_as(&format!("devidp-decoy-{n}"));
            size += decoy.to_string().len() + 1;
            list.push(decoy);
            n += 1;
        }
    }
    if faults.has(&Fault::IdTokenUnadvertisedAlg) {
        // RFC 7517 §4.4: `alg` is optional; without it only discovery's list limits the algorithm.
        for key in &mut list {
            if let Value::Object(key) = key {
                key.remove("alg");
            }
        }
    }
    let reply = Reply::json(200, &json!({ "keys": list }));
    match faults.jwks_max_age().or(p.settings.jwks_max_age) {
        Some(secs) => reply.replace_header("Cache-Control", &format!("max-age={secs}")),
        None => reply.without_header("Cache-Control"),
    }
}
