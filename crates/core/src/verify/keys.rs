//! Signing keys and signatures: JWK parsing (unusable keys skipped, RFC 7517 §5), the key
//! choice rules of OIDC Core 10.1 (`kid` required among several keys, never ambiguous), and
//! signature checks with `ring` for every algorithm on Latchkey's allow-list.

use std::fmt;

use base64::Engine;
use ring::signature::{self as sig, UnparsedPublicKey};
use serde::Deserialize;

use super::jwt::B64;

/// A signing algorithm Latchkey accepts. Never `none`, never HS* (a public client has no
/// secret, so a MAC proves nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256; the RSA key must have at least 2048 bits.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384; the RSA key must have at least 2048 bits.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512; the RSA key must have at least 2048 bits.
    RS512,
    /// RSASSA-PSS with SHA-256; the RSA key must have at least 2048 bits.
    PS256,
    /// RSASSA-PSS with SHA-384; the RSA key must have at least 2048 bits.
    PS384,
    /// RSASSA-PSS with SHA-512; the RSA key must have at least 2048 bits.
    PS512,
    /// ECDSA on curve P-256 with SHA-256.
    ES256,
    /// ECDSA on curve P-384 with SHA-384.
    ES384,
    /// Ed25519 (the only EdDSA curve Latchkey accepts).
    EdDSA,
}

/// Every algorithm Latchkey can verify, as written in a JOSE header.
pub const ALLOWED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

impl Alg {
    /// The algorithm a JOSE `alg` header names, or `None` when it is not on [`ALLOWED_ALGS`]
    /// (`none`, HS*, unknown names).
    pub fn parse(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::RS256,
            "RS384" => Alg::RS384,
            "RS512" => Alg::RS512,
            "PS256" => Alg::PS256,
            "PS384" => Alg::PS384,
            "PS512" => Alg::PS512,
            "ES256" => Alg::ES256,
            "ES384" => Alg::ES384,
            "EdDSA" => Alg::EdDSA,
            _ => return None,
        })
    }

    /// The name as written in a JOSE `alg` header, e.g. `"RS256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The hash for `at_hash` (OIDC Core 3.1.3.6; Ed25519 uses SHA-512).
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 => &ring::digest::SHA256,
            Alg::RS384 | Alg::PS384 | Alg::ES384 => &ring::digest::SHA384,
            Alg::RS512 | Alg::PS512 | Alg::EdDSA => &ring::digest::SHA512,
        };
        ring::digest::digest(algorithm, data).as_ref().to_vec()
    }

    fn fits(self, material: &KeyMaterial) -> bool {
        match (self, material) {
            (
                Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512,
                KeyMaterial::Rsa { .. },
            ) => true,
            (Alg::ES256, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P256,
            (Alg::ES384, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P384,
            (Alg::EdDSA, KeyMaterial::Ed25519 { .. }) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

#[derive(Clone, PartialEq, Eq)]
enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed point: 0x04 || x || y.
    Ec {
        curve: Curve,
        point: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

/// One usable public key from a JWKS.
#[derive(Clone)]
pub struct Jwk {
    kid: Option<String>,
    key_use: Option<String>,
    alg: Option<String>,
    material: KeyMaterial,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("kty", &self.kty())
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(s: &Option<String>) -> Option<Vec<u8>> {
    B64.decode(s.as_deref()?.trim_end_matches('=')).ok()
}

impl RawJwk {
    fn material(&self) -> Option<KeyMaterial> {
        match (self.kty.as_deref()?, self.crv.as_deref()) {
            ("RSA", _) => {
                let n = b64(&self.n)?;
                let start = n.iter().position(|b| *b != 0)?;
                Some(KeyMaterial::Rsa {
                    n: n[start..].to_vec(),
                    e: b64(&self.e)?,
                })
            }
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (curve, len) = match crv {
                    "P-256" => (Curve::P256, 32),
                    _ => (Curve::P384, 48),
                };
                let (x, y) = (b64(&self.x)?, b64(&self.y)?);
                if x.len() != len || y.len() != len {
                    return None;
                }
                Some(KeyMaterial::Ec {
                    curve,
                    point: [&[4u8][..], &x, &y].concat(),
                })
            }
            ("OKP", Some("Ed25519")) => {
                let x = b64(&self.x)?;
                (x.len() == 32).then_some(KeyMaterial::Ed25519 { x })
            }
            _ => None,
        }
    }
}

/// The algorithms and curves a `SubjectPublicKeyInfo` may name.
mod oids {
    use spki::ObjectIdentifier as Oid;
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
}

impl Jwk {
    /// A public key from a DER `SubjectPublicKeyInfo` (PEM `PUBLIC KEY`): RSA, EC P-256/P-384
    /// or Ed25519. It has no `kid`, `use` or `alg`: it verifies whatever the token names.
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<Jwk, String> {
        let spki = spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| format!("it is not a DER SubjectPublicKeyInfo ({e})"))?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the public key is not a whole number of bytes")?;
        let material = match spki.algorithm.oid {
            oids::RSA => return Jwk::from_pkcs1_der(bits),
            oids::EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<spki::ObjectIdentifier>().ok());
                let (curve, len) =
                    match curve {
                        Some(oids::P256) => (Curve::P256, 65),
                        Some(oids::P384) => (Curve::P384, 97),
                        _ => return Err(
                            "the EC key is not on P-256 or P-384 (the curves ES256 and ES384 use)"
                                .into(),
                        ),
                    };
                if bits.len() != len || bits[0] != 4 {
                    return Err("the EC key is not an uncompressed point".into());
                }
                KeyMaterial::Ec {
                    curve,
                    point: bits.to_vec(),
                }
            }
            oids::ED25519 if bits.len() == 32 => KeyMaterial::Ed25519 { x: bits.to_vec() },
            oids::ED25519 => return Err("the Ed25519 key is not 32 bytes".into()),
            other => return Err(format!("its algorithm ({other}) is not RSA, EC or Ed25519")),
        };
        Ok(Jwk::bare(material))
    }

    /// An RSA public key from a DER `RSAPublicKey` (PKCS #1, PEM `RSA PUBLIC KEY`).
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Jwk, String> {
        let key = pkcs1::RsaPublicKey::try_from(der)
            .map_err(|e| format!("it is not a DER RSA public key ({e})"))?;
        Ok(Jwk::bare(KeyMaterial::Rsa {
            n: key.modulus.as_bytes().to_vec(),
            e: key.public_exponent.as_bytes().to_vec(),
        }))
    }

    fn bare(material: KeyMaterial) -> Jwk {
        Jwk {
            kid: None,
            key_use: None,
            alg: None,
            material,
        }
    }

    /// The key's `kid` from the JWKS; `None` for a key without one and for a PEM key.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK key type: `"RSA"`, `"EC"` or `"OKP"` (Ed25519).
    pub fn kty(&self) -> &'static str {
        match self.material {
            KeyMaterial::Rsa { .. } => "RSA",
            KeyMaterial::Ec { .. } => "EC",
            KeyMaterial::Ed25519 { .. } => "OKP",
        }
    }

    /// Why this key may not verify an `alg` signature, if it may not.
    fn unsuitable_for(&self, alg: Alg) -> Option<String> {
        if self.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Some(format!(
                "the key's `use` is `{}`, not `sig`",
                self.key_use.as_deref().unwrap_or_default()
            ));
        }
        if let Some(key_alg) = &self.alg {
            if key_alg != alg.as_str() {
                return Some(format!(
                    "the key is for `{key_alg}`, but the token says `{alg}`"
                ));
            }
        }
        if !alg.fits(&self.material) {
            return Some(format!("a {} key cannot verify `{alg}`", self.kty()));
        }
        if let KeyMaterial::Rsa { n, .. } = &self.material {
            if n.len() < 256 {
                return Some(format!(
                    "the RSA key has {} bits; at least 2048 are required",
                    n.len() * 8
                ));
            }
        }
        None
    }

    /// Does `signature` over `message` verify with this key and `alg`?
    pub fn verifies(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        if self.unsuitable_for(alg).is_some() {
            return false;
        }
        let rsa = |params: &'static sig::RsaParameters| match &self.material {
            KeyMaterial::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            _ => false,
        };
        let point = || match &self.material {
            KeyMaterial::Ec { point, .. } => point.as_slice(),
            KeyMaterial::Ed25519 { x } => x.as_slice(),
            KeyMaterial::Rsa { .. } => &[],
        };
        let unparsed = |algorithm: &'static dyn sig::VerificationAlgorithm| {
            UnparsedPublicKey::new(algorithm, point())
                .verify(message, signature)
                .is_ok()
        };
        match alg {
            Alg::RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
            Alg::RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
            Alg::RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
            Alg::PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256),
            Alg::PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384),
            Alg::PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512),
            Alg::ES256 => unparsed(&sig::ECDSA_P256_SHA256_FIXED),
            Alg::ES384 => unparsed(&sig::ECDSA_P384_SHA384_FIXED),
            Alg::EdDSA => unparsed(&sig::ED25519),
        }
    }
}

/// A parsed JWKS: the keys Latchkey can use (others are skipped, RFC 7517 §5).
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<Jwk>,
    skipped: usize,
}

/// The outcome of looking for the key that signed a token.
#[derive(Debug)]
pub(crate) enum KeyChoice<'a> {
    Found(&'a Jwk),
    /// The token names a `kid` the set does not have (re-fetch the JWKS once).
    UnknownKid,
    /// Refused: the reason names the rule.
    Refused(String),
}

impl JwkSet {
    /// Parse `{"keys": [...]}`; `Err` when the document is not a JWKS at all.
    pub fn parse(json: &[u8]) -> Result<JwkSet, String> {
        let doc = serde_json::from_slice(json).map_err(|_| "it is not JSON".to_string())?;
        Self::from_value(doc)
    }

    /// Like [`JwkSet::parse`], from a parsed document.
    pub fn from_value(doc: serde_json::Value) -> Result<JwkSet, String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc = serde_json::from_value(doc)
            .map_err(|_| "it is not a JSON Web Key Set (no `keys` array)".to_string())?;
        let mut set = JwkSet::default();
        for value in doc.keys {
            let key = serde_json::from_value::<RawJwk>(value)
                .ok()
                .and_then(|raw| Some((raw.material()?, raw)));
            match key {
                Some((material, raw)) if raw.key_use.as_deref() != Some("enc") => {
                    set.keys.push(Jwk {
                        kid: raw.kid,
                        key_use: raw.key_use,
                        alg: raw.alg,
                        material,
                    })
                }
                _ => set.skipped += 1,
            }
        }
        Ok(set)
    }

    /// A set of one key (a PEM key the user gave).
    pub(crate) fn single(key: Jwk) -> JwkSet {
        JwkSet {
            keys: vec![key],
            skipped: 0,
        }
    }

    /// How many usable keys the set holds (skipped keys not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    /// True when the set holds no usable key, so no token can be verified with it.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    /// Keys in the document that Latchkey cannot use (unknown types, encryption keys).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The key for a token with this `kid` (or none) and `alg`, by OIDC Core 10.1: with
    /// several signing keys the token must name one, and one `kid` must mean one key.
    pub(crate) fn choose(&self, kid: Option<&str>, alg: Alg) -> KeyChoice<'_> {
        let candidates: Vec<&Jwk> = match kid {
            Some(kid) => self.keys.iter().filter(|k| k.kid() == Some(kid)).collect(),
            None => self.keys.iter().collect(),
        };
        let Some(first) = candidates.first() else {
            return match kid {
                Some(_) => KeyChoice::UnknownKid,
                None => KeyChoice::Refused("the provider's JWKS has no usable key".into()),
            };
        };
        if candidates.iter().any(|k| k.material != first.material) {
            return KeyChoice::Refused(match kid {
                Some(kid) => format!(
                    "the provider's JWKS holds {} different keys under kid `{kid}`: which one signed is ambiguous",
                    candidates.len()
                ),
                None => format!(
                    "the token names no key (`kid`), but the provider's JWKS holds {} keys (OIDC Core 10.1 requires a `kid` then)",
                    candidates.len()
                ),
            });
        }
        match first.unsuitable_for(alg) {
            Some(why) => KeyChoice::Refused(why),
            None => KeyChoice::Found(first),
        }
    }
}
