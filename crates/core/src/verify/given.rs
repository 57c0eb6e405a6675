//! Keys the user gives to verify a pasted token, jwt.io's job without a website: a JWKS URL
//! (only the keys are fetched; the token never leaves this computer), a JWKS document, or a
//! PEM public key or certificate. The checks are the signature's and the token's times.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::keys::{Jwk, JwkSet, KeyChoice};
use super::ALLOWED_ALGS;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, get_json, JWKS_LIMIT};

/// Where the keys for a pasted token come from. Deserialises from
/// `{"jwks_url": "https://…"}`, `{"jwks": "{\"keys\": …}"}` or `{"pem": "-----BEGIN …"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GivenKeys {
    /// A JWKS endpoint (https, or http on a loopback host); fetched once, with a bounded size.
    JwksUrl(String),
    /// A JWKS document (`{"keys": [...]}`) or a single JWK.
    Jwks(String),
    /// A PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`.
    Pem(String),
}

/// The keys, loaded, and how to choose among them.
#[derive(Debug)]
pub(crate) struct GivenKeySet {
    set: JwkSet,
    /// A PEM key has no `kid`: it is the key, whatever the token names.
    single_key: bool,
    /// Where they came from, for the checks' reasons ("the JWKS at https://…").
    pub(crate) origin: String,
    /// Every algorithm Latchkey accepts (there is no provider to advertise fewer).
    pub(crate) algs: Vec<String>,
}

impl GivenKeys {
    /// Fetch or parse the keys. Errors are `Config` (the user's input is not a key) or the
    /// fetch's own kind; they never contain the token.
    pub(crate) async fn load(&self, timeout: Duration) -> Result<GivenKeySet> {
        let (set, single_key, origin) = match self {
            GivenKeys::JwksUrl(raw) => {
                let url = jwks_url(raw)?;
                let client = http::client(timeout)?;
                let (doc, _) = get_json(&client, &url, "the JWKS", JWKS_LIMIT).await?;
                let set = JwkSet::from_value(doc)
                    .map_err(|why| input(format!("{url} is not a JWKS: {why}.")))?;
                (set, false, format!("the JWKS at {url}"))
            }
            GivenKeys::Jwks(text) => {
                let doc: serde_json::Value = serde_json::from_str(text.trim())
                    .map_err(|_| input("the JWKS is not JSON: paste the whole document, `{\"keys\": [...]}`, or one key `{\"kty\": …}`."))?;
                let doc = match doc.get("kty") {
                    Some(_) => serde_json::json!({ "keys": [doc] }),
                    None => doc,
                };
                let set = JwkSet::from_value(doc).map_err(|why| input(format!("{why}.")))?;
                (set, false, "the pasted JWKS".to_owned())
            }
            GivenKeys::Pem(text) => (
                JwkSet::single(pem_key(text)?),
                true,
                "the pasted PEM key".to_owned(),
            ),
        };
        if set.is_empty() {
            return Err(input(format!(
                "{origin} holds no key Latchkey can verify with ({} skipped: only RSA, EC P-256/P-384 and Ed25519 signing keys are used).",
                set.skipped()
            )));
        }
        Ok(GivenKeySet {
            set,
            single_key,
            origin,
            algs: ALLOWED_ALGS.iter().map(|a| a.to_string()).collect(),
        })
    }
}

impl GivenKeySet {
    /// The key for a token with this `kid` and `alg`, or why there is none.
    pub(crate) fn key_for(
        &self,
        kid: Option<&str>,
        alg: super::Alg,
    ) -> std::result::Result<Jwk, String> {
        let kid = if self.single_key { None } else { kid };
        match self.set.choose(kid, alg) {
            KeyChoice::Found(key) => Ok(key.clone()),
            KeyChoice::UnknownKid => Err(format!(
                "{} has no key with kid `{}`",
                self.origin,
                kid.unwrap_or_default()
            )),
            KeyChoice::Refused(why) => Err(why),
        }
    }
}

fn input(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

fn jwks_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|_| {
        input("the JWKS URL is not a URL: give one like https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json.")
    })?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(input(
                "the JWKS URL must be https (plain http only on this computer's loopback).",
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(input(
            "the JWKS URL must not contain a user name or password.",
        ));
    }
    Ok(url)
}

/// The public key of a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), `RSA PUBLIC KEY` (PKCS #1) or
/// `CERTIFICATE` (X.509: its subject's key; the certificate itself is not checked).
fn pem_key(text: &str) -> Result<Jwk> {
    let text = text.trim();
    if text.contains("PRIVATE KEY-----") {
        return Err(input("this is a private key: paste the public key (`-----BEGIN PUBLIC KEY-----`). Never paste a private key anywhere it is not needed."));
    }
    let (label, der) = spki::der::pem::decode_vec(text.as_bytes()).map_err(|_| {
        input("this is not a PEM block: paste the whole `-----BEGIN PUBLIC KEY-----` … `-----END PUBLIC KEY-----` text.")
    })?;
    let key = match label {
        "PUBLIC KEY" => Jwk::from_spki_der(&der),
        "RSA PUBLIC KEY" => Jwk::from_pkcs1_der(&der),
        "CERTIFICATE" => certificate_spki(&der).and_then(|spki| Jwk::from_spki_der(&spki)),
        other => Err(format!(
            "a PEM `{other}` is not a public key (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)"
        )),
    };
    key.map_err(|why| input(format!("the PEM key cannot be used: {why}.")))
}

/// The DER `SubjectPublicKeyInfo` of an X.509 certificate (RFC 5280 §4.1: the seventh field of
/// `tbsCertificate`, after an optional `[0]` version).
fn certificate_spki(der: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use spki::der::{AnyRef, Decode, Encode, SliceReader, Tag, Tagged};
    let bad = |e: spki::der::Error| format!("it is not an X.509 certificate ({e})");
    let certificate = AnyRef::from_der(der).map_err(bad)?;
    let mut cert = SliceReader::new(certificate.value()).map_err(bad)?;
    let tbs = AnyRef::decode(&mut cert).map_err(bad)?;
    if tbs.tag() != Tag::Sequence {
        return Err("it is not an X.509 certificate".into());
    }
    let mut fields = SliceReader::new(tbs.value()).map_err(bad)?;
    let mut field = AnyRef::decode(&mut fields).map_err(bad)?;
    if field.tag().is_context_specific() {
        field = AnyRef::decode(&mut fields).map_err(bad)?; // the serial number
    }
    let _serial = field;
    for _ in ["signature", "issuer", "validity", "subject"] {
        AnyRef::decode(&mut fields).map_err(bad)?;
    }
    let spki = AnyRef::decode(&mut fields).map_err(bad)?;
    spki.to_der().map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn block(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// A P-256 SubjectPublicKeyInfo around `point` (65 bytes, uncompressed).
    fn p256_spki(point: &[u8]) -> Vec<u8> {
        let prefix = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        [&prefix[..], point].concat()
    }

    fn p256_key() -> ring::signature::EcdsaKeyPair {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ALG, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ALG, pkcs8.as_ref(), &rng).unwrap()
    }

    #[tokio::test]
    async fn a_pem_public_key_verifies_what_its_private_key_signed() {
        use ring::signature::KeyPair;
        let key = p256_key();
        let pem = block("PUBLIC KEY", &p256_spki(key.public_key().as_ref()));
        let keys = GivenKeys::Pem(pem)
            .load(Duration::from_secs(5))
            .await
            .unwrap();
        let rng = ring::rand::SystemRandom::new();
        let signature = key.sign(&rng, b"message").unwrap();
        // A PEM key has no kid: it is chosen whatever kid the token names.
        let jwk = keys
            .key_for(Some("any-kid"), super::super::Alg::ES256)
            .unwrap();
        assert!(jwk.verifies(super::super::Alg::ES256, b"message", signature.as_ref()));
        assert!(!jwk.verifies(super::super::Alg::ES256, b"altered", signature.as_ref()));
        assert!(keys.key_for(None, super::super::Alg::RS256).is_err());
    }

    #[tokio::test]
    async fn pem_input_that_is_no_public_key_is_refused_with_the_reason() {
        let cases = [
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "private key",
            ),
            ("not pem at all", "not a PEM block"),
            (
                &block("PUBLIC KEY", b"\x30\x03\x02\x01\x00"),
                "SubjectPublicKeyInfo",
            ),
            (&block("EC PARAMETERS", b"\x06\x01\x00"), "not a public key"),
        ];
        for (text, says) in cases {
            let e = GivenKeys::Pem(text.to_owned())
                .load(Duration::from_secs(5))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(says), "{text:?}: {}", e.message());
        }
    }

    #[tokio::test]
    async fn a_jwks_document_or_one_jwk_is_accepted() {
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "k1",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        for text in [
            serde_json::json!({ "keys": [jwk] }).to_string(),
            jwk.to_string(),
        ] {
            let keys = GivenKeys::Jwks(text)
                .load(Duration::from_secs(5))
                .await
                .unwrap();
            assert!(keys.key_for(Some("k1"), super::super::Alg::EdDSA).is_ok());
            let unknown = keys
                .key_for(Some("k2"), super::super::Alg::EdDSA)
                .unwrap_err();
            assert!(unknown.contains("no key with kid `k2`"), "{unknown}");
        }
        let e = GivenKeys::Jwks("{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}".into())
            .load(Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.message().contains("no key Latchkey can verify with"),
            "{}",
            e.message()
        );
    }

    #[tokio::test]
    async fn a_jwks_url_must_be_https_or_loopback() {
        for url in [
            "http://example.com/jwks.json",
            "ftp://x/jwks",
            "https://u:p@x/jwks",
            "nope",
        ] {
            let e = GivenKeys::JwksUrl(url.into())
                .load(Duration::from_secs(5))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{url}");
        }
    }

    #[test]
    fn a_certificates_subject_key_is_found() {
        // A minimal certificate: version, serial, algorithm, issuer, validity, subject, key.
        use ring::signature::KeyPair;
        let key = p256_key();
        let spki = p256_spki(key.public_key().as_ref());
        let seq = |body: Vec<u8>| -> Vec<u8> {
            let mut out = vec![0x30];
            if body.len() < 128 {
                out.push(body.len() as u8);
            } else {
                out.extend([0x81, body.len() as u8]);
            }
            out.extend(body);
            out
        };
        let tbs = seq([
            vec![0xa0, 0x03, 0x02, 0x01, 0x02],
            vec![0x02, 0x01, 0x01],
            seq(vec![0x06, 0x03, 0x2a, 0x03, 0x04]),
            seq(vec![]),
            seq(vec![]),
            seq(vec![]),
            spki.clone(),
        ]
        .concat());
        let cert = seq([
            tbs,
            seq(vec![0x06, 0x03, 0x2a, 0x03, 0x04]),
            vec![0x03, 0x01, 0x00],
        ]
        .concat());
        assert_eq!(certificate_spki(&cert).unwrap(), spki);
        assert!(pem_key(&block("CERTIFICATE", &cert)).is_ok());
    }
}
