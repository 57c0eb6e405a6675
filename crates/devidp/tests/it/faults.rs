//! Every fault switch, over real HTTP: what the client sees when each one is on, that
//! faults accumulate, and that clearing them restores normal behaviour.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use latchkey_devidp::{DevIdp, DevIdpConfig, Fault, Oversized, FAULT_NAMES};
use serde_json::Value;

/// Signs in with `fault` on and returns the raw token response.
fn token_response_with(idp: &DevIdp, fault: Fault) -> reqwest::blocking::Response {
    let http = http();
    let s = sign_in(idp, &http);
    idp.set_fault(fault);
    exchange(idp, &http, &s.code, &s.pkce.verifier)
}

fn id_token_with(idp: &DevIdp, fault: Fault) -> String {
    let resp = token_response_with(idp, fault);
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    body["id_token"].as_str().unwrap().to_string()
}

#[test]
fn token_endpoint_faults() {
    let idp = start();
    let resp = token_response_with(&idp, Fault::TokenServerError);
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "server_error");
    idp.clear_faults();

    let resp = token_response_with(&idp, Fault::TokenMalformedJson);
    assert_eq!(resp.status(), 200);
    assert!(serde_json::from_slice::<Value>(&resp.bytes().unwrap()).is_err());
    idp.clear_faults();

    let resp = token_response_with(&idp, Fault::TokenMissingRefreshToken);
    let body: Value = resp.json().unwrap();
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none());
    idp.clear_faults();

    let resp = token_response_with(&idp, Fault::TokenRedirect);
    assert!(resp.status().is_redirection());
    assert!(resp.headers().get("location").is_some());
    idp.clear_faults();

    let started = Instant::now();
    let resp = token_response_with(&idp, Fault::TokenSlow(Duration::from_millis(700)));
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(700));
    idp.clear_faults();

    // Cleared: normal again.
    let resp = token_response_with(&idp, Fault::ClockOffset(0));
    assert_eq!(resp.status(), 200);
}

#[test]
fn id_token_claim_faults() {
    let idp = start();
    let http = http();
    let cid = idp.client_id();
    let check = |fault: Fault, assert_claims: &dyn Fn(&Value)| {
        let id = id_token_with(&idp, fault.clone());
        assert!(verify(&idp, &http, &id), "{fault}: still correctly signed");
        assert_claims(&claims(&id));
        idp.clear_faults();
    };
    check(Fault::IdTokenWrongIssuer, &|c| {
        assert_ne!(c["iss"], idp.issuer())
    });
    check(Fault::IdTokenWrongAudience, &|c| {
        assert!(c["aud"].is_string());
        assert_ne!(c["aud"], cid.as_str());
    });
    check(Fault::IdTokenMissingAudience, &|c| {
        assert!(c.get("aud").is_none())
    });
    check(Fault::IdTokenExtraAudience, &|c| {
        let aud = c["aud"].as_array().expect("aud array");
        assert_eq!(aud.len(), 2);
        assert!(aud.contains(&Value::from(cid.as_str())));
    });
    check(Fault::IdTokenMissingSub, &|c| {
        assert!(c.get("sub").is_none())
    });
    check(Fault::IdTokenMissingIat, &|c| {
        assert!(c.get("iat").is_none())
    });
    check(Fault::IdTokenMissingExp, &|c| {
        assert!(c.get("exp").is_none())
    });
    check(Fault::IdTokenExpired, &|c| {
        assert!(c["exp"].as_i64().unwrap() < now())
    });
    check(Fault::IdTokenIatInFuture, &|c| {
        assert!(c["iat"].as_i64().unwrap() > now() + 3600)
    });
    check(Fault::IdTokenIatWeekOld, &|c| {
        assert!(c["iat"].as_i64().unwrap() <= now() - 7 * 86_400 + 5);
        assert!(c["exp"].as_i64().unwrap() > now());
    });
    check(Fault::IdTokenWrongNonce, &|c| {
        assert!(c["nonce"].is_string());
        assert_ne!(c["nonce"], "nonce-456");
    });
    check(Fault::ClockOffset(-600), &|c| {
        let iat = c["iat"].as_i64().unwrap();
        assert!(
            (iat - (now() - 600)).abs() < 30,
            "iat {iat} is 10 minutes behind"
        );
    });
}

#[test]
fn id_token_signature_and_header_faults() {
    let idp = start();
    let http = http();
    let id = id_token_with(&idp, Fault::IdTokenBadSignature);
    assert_eq!(header(&id)["alg"], "RS256");
    assert!(!verify(&idp, &http, &id), "corrupted signature");
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::IdTokenAlgNone);
    assert_eq!(header(&id)["alg"], "none");
    assert!(id.ends_with('.'), "empty signature");
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::IdTokenHs256);
    assert_eq!(header(&id)["alg"], "HS256");
    assert!(!verify(&idp, &http, &id));
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::IdTokenUnknownKid);
    let kid = header(&id)["kid"].as_str().unwrap().to_string();
    let set = jwks(&idp, &http);
    assert!(set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["kid"] != kid.as_str()));
    // Signed with the real ID key though.
    assert!(verify_with_jwk(&id, &set["keys"][0]));
    idp.clear_faults();

    let resp = token_response_with(&idp, Fault::IdTokenNoKidSingleKey);
    let body: Value = resp.json().unwrap();
    let id = body["id_token"].as_str().unwrap();
    assert!(header(id).get("kid").is_none());
    let set = jwks(&idp, &http);
    assert_eq!(set["keys"].as_array().unwrap().len(), 1, "single-key JWKS");
    assert!(verify_with_jwk(id, &set["keys"][0]));
    let access = body["access_token"].as_str().unwrap();
    assert!(
        verify(&idp, &http, access),
        "the access token verifies with the one key"
    );
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::IdTokenNoKidMultiKey);
    assert!(header(&id).get("kid").is_none());
    let set = jwks(&idp, &http);
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    assert!(set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| verify_with_jwk(&id, k)));
}

#[test]
fn refresh_faults_change_refreshed_id_tokens_only() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::RefreshDifferentSub);
    idp.set_fault(Fault::RefreshDifferentIssuer);
    idp.set_fault(Fault::RefreshDifferentAudience);
    let first = tokens(&idp, &http);
    let c1 = claims(first["id_token"].as_str().unwrap());
    assert_eq!(c1["iss"], idp.issuer(), "the code exchange is unaffected");
    assert_eq!(c1["aud"], idp.client_id());
    let body: Value = refresh(&idp, &http, first["refresh_token"].as_str().unwrap())
        .json()
        .unwrap();
    let c2 = claims(body["id_token"].as_str().unwrap());
    assert_ne!(c2["sub"], c1["sub"]);
    assert_ne!(c2["iss"], c1["iss"]);
    assert_ne!(c2["aud"], c1["aud"]);
}

#[test]
fn faults_accumulate_until_cleared() {
    let idp = start();
    idp.set_fault(Fault::IdTokenMissingSub);
    idp.set_fault(Fault::IdTokenWrongAudience);
    idp.set_fault(Fault::TokenSlow(Duration::from_millis(10)));
    idp.set_fault(Fault::TokenSlow(Duration::from_millis(20)));
    assert_eq!(
        idp.faults(),
        vec![
            "id_token_missing_sub",
            "id_token_wrong_aud",
            "token_slow=20ms"
        ]
    );
    let http = http();
    let c = claims(tokens(&idp, &http)["id_token"].as_str().unwrap());
    assert!(c.get("sub").is_none());
    assert_ne!(c["aud"], idp.client_id());
    idp.clear_faults();
    assert!(idp.faults().is_empty());
    let c = claims(tokens(&idp, &http)["id_token"].as_str().unwrap());
    assert!(c["sub"].is_string());
    assert_eq!(c["aud"], idp.client_id());
}

#[test]
fn discovery_userinfo_and_authorize_response_faults() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::DiscoveryIssuerMismatch);
    let doc: Value = http
        .get(idp.discovery_url())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_ne!(doc["issuer"], idp.issuer());
    idp.clear_faults();

    let body = tokens(&idp, &http);
    let sub = claims(body["id_token"].as_str().unwrap())["sub"].clone();
    idp.set_fault(Fault::UserinfoDifferentSub);
    let info: Value = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(info["sub"].is_string());
    assert_ne!(info["sub"], sub);
    idp.clear_faults();

    idp.set_fault(Fault::AuthorizeResponseIss);
    let s = sign_in(&idp, &http);
    assert_eq!(param(&s.callback, "iss"), Some(idp.issuer()));
    idp.clear_faults();
    idp.set_fault(Fault::AuthorizeResponseWrongIss);
    let s = sign_in(&idp, &http);
    let iss = param(&s.callback, "iss").expect("iss parameter");
    assert_ne!(iss, idp.issuer());
    idp.clear_faults();
    let s = sign_in(&idp, &http);
    assert_eq!(
        param(&s.callback, "iss"),
        None,
        "no iss parameter by default"
    );
}

#[test]
fn rotate_keys_replaces_both_kids() {
    let idp = start();
    let http = http();
    let before = tokens(&idp, &http);
    let old_kid = header(before["id_token"].as_str().unwrap())["kid"].clone();
    idp.rotate_keys();
    let set = jwks(&idp, &http);
    let kids: Vec<&Value> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(!kids.contains(&&old_kid), "old key removed");
    let after = tokens(&idp, &http);
    let id = after["id_token"].as_str().unwrap();
    assert_ne!(header(id)["kid"], old_kid);
    assert!(verify(&idp, &http, id));
    assert!(!verify(&idp, &http, before["id_token"].as_str().unwrap()));
}

#[test]
fn fault_names_round_trip() {
    for name in FAULT_NAMES {
        let text = name
            .replace("MILLIS", "1500")
            .replace("SECS", "30")
            .replace("[=BYTES]", "");
        let fault: Fault = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let again: Fault = fault.to_string().parse().unwrap();
        assert_eq!(fault, again);
    }
    assert!("nope".parse::<Fault>().is_err());
    assert!("token_slow".parse::<Fault>().is_err());
    assert!("id_token_expired=3".parse::<Fault>().is_err());
    assert!("jwks_oversized=0".parse::<Fault>().is_err());
    assert_eq!(
        "jwks_oversized".parse::<Fault>().unwrap(),
        Fault::Oversized(Oversized::Jwks, latchkey_devidp::OVERSIZED_RESPONSE_BYTES)
    );
    assert_eq!(
        "id_token_oversized=5000"
            .parse::<Fault>()
            .unwrap()
            .to_string(),
        "id_token_oversized=5000"
    );
}

fn discovery(idp: &DevIdp, http: &reqwest::blocking::Client) -> Value {
    http.get(idp.discovery_url())
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The JWKS entries whose `kid` is `kid`.
fn keys_named(set: &Value, kid: &str) -> Vec<Value> {
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kid"] == kid)
        .cloned()
        .collect()
}

#[test]
fn unadvertised_alg_signs_rs512_with_the_listed_id_key_and_keys_carry_no_alg() {
    let idp = start();
    let http = http();
    let id = id_token_with(&idp, Fault::IdTokenUnadvertisedAlg);
    let head = header(&id);
    assert_eq!(head["alg"], "RS512");
    assert_eq!(
        discovery(&idp, &http)["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"]),
        "discovery still advertises RS256 only"
    );
    let set = jwks(&idp, &http);
    for key in set["keys"].as_array().unwrap() {
        assert!(key.get("alg").is_none(), "RFC 7517: alg left out: {key}");
        assert_eq!(key["kty"], "RSA");
    }
    let named = keys_named(&set, head["kid"].as_str().expect("kid present"));
    assert_eq!(named.len(), 1, "the kid names exactly one JWKS key");
    assert!(
        verify_rs512_with_jwk(&id, &named[0]),
        "a valid RS512 signature"
    );
    assert!(!verify_with_jwk(&id, &named[0]), "not an RS256 signature");
    idp.clear_faults();
    assert!(jwks(&idp, &http)["keys"][0]["alg"] == "RS256");
}

#[test]
fn no_kid_with_several_keys_and_two_keys_under_one_kid() {
    let idp = start();
    let http = http();
    // No kid while the JWKS has several keys: exactly one of them verifies the token.
    let id = id_token_with(&idp, Fault::IdTokenNoKidMultiKey);
    assert!(header(&id).get("kid").is_none());
    let set = jwks(&idp, &http);
    let keys = set["keys"].as_array().unwrap();
    assert!(keys.len() >= 2);
    assert_eq!(keys.iter().filter(|k| verify_with_jwk(&id, k)).count(), 1);
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::JwksDuplicateKid);
    let kid = header(&id)["kid"].as_str().unwrap().to_string();
    let set = jwks(&idp, &http);
    let named = keys_named(&set, &kid);
    assert_eq!(named.len(), 2, "two keys under the token's kid");
    assert_ne!(named[0]["n"], named[1]["n"], "and they are different keys");
    assert!(
        !verify_with_jwk(&id, &named[0]),
        "the first one listed is the decoy"
    );
    assert!(verify_with_jwk(&id, &named[1]));
    // Access tokens still verify with their own, unique kid.
    let body = tokens(&idp, &http);
    let access = body["access_token"].as_str().unwrap();
    let access_kid = header(access)["kid"].as_str().unwrap().to_string();
    assert_eq!(keys_named(&set, &access_kid).len(), 1);
    assert!(verify(&idp, &http, access));
}

#[test]
fn id_token_type_token_use_and_at_hash_faults() {
    let idp = start();
    let http = http();
    let id = id_token_with(&idp, Fault::IdTokenTypAtJwt);
    assert_eq!(header(&id)["typ"], "at+jwt");
    assert!(verify(&idp, &http, &id), "otherwise a good ID token");
    assert_eq!(claims(&id)["token_use"], "id");
    idp.clear_faults();

    let id = id_token_with(&idp, Fault::IdTokenTokenUseAccess);
    assert_eq!(claims(&id)["token_use"], "access");
    assert!(verify(&idp, &http, &id));
    assert!(header(&id).get("typ").is_none());
    idp.clear_faults();

    let resp = token_response_with(&idp, Fault::IdTokenWrongAtHash);
    let body: Value = resp.json().unwrap();
    let id = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access.as_bytes());
    let right = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    let c = claims(id);
    assert!(c["at_hash"].is_string());
    assert_ne!(c["at_hash"], right.as_str(), "at_hash does not match");
    assert!(verify(&idp, &http, id));
}

#[test]
fn malformed_but_present_claims() {
    let idp = start();
    let http = http();
    for (fault, claim) in [
        (Fault::IdTokenExpString, "exp"),
        (Fault::IdTokenIatString, "iat"),
    ] {
        let id = id_token_with(&idp, fault.clone());
        let value = &claims(&id)[claim];
        let text = value.as_str().unwrap_or_else(|| panic!("{fault}: {value}"));
        assert!(
            text.parse::<i64>().is_ok_and(|t| (t - now()).abs() < 4000),
            "{fault}: a plausible time, as a string"
        );
        assert!(verify(&idp, &http, &id));
        idp.clear_faults();
    }
    let id = id_token_with(&idp, Fault::IdTokenAudNumber);
    assert!(claims(&id)["aud"].is_number());
    assert!(verify(&idp, &http, &id));
}

#[test]
fn refresh_without_id_token_renews_the_access_token_only() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::RefreshWithoutIdToken);
    let first = tokens(&idp, &http);
    assert!(
        first["id_token"].is_string(),
        "the code exchange is unaffected"
    );
    let resp = refresh(&idp, &http, first["refresh_token"].as_str().unwrap());
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    assert!(body.get("id_token").is_none(), "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert!(verify(&idp, &http, access));
    assert_ne!(access, first["access_token"].as_str().unwrap());
    assert_eq!(body["expires_in"], 3600);
}

#[test]
fn oversized_id_token_and_responses() {
    let idp = start();
    let http = http();
    let id = id_token_with(&idp, Fault::Oversized(Oversized::IdToken, 200_000));
    assert!(
        (200_000..210_000).contains(&id.len()),
        "about 200 KB: {}",
        id.len()
    );
    assert!(verify(&idp, &http, &id), "still a valid token");
    assert!(claims(&id)["sub"].is_string());
    idp.clear_faults();

    let bytes = 1_500_000;
    let resp = token_response_with(&idp, Fault::Oversized(Oversized::TokenResponse, bytes));
    let raw = resp.bytes().unwrap();
    assert!(raw.len() >= bytes, "{}", raw.len());
    let body: Value = serde_json::from_slice(&raw).unwrap();
    assert!(verify(&idp, &http, body["id_token"].as_str().unwrap()));
    idp.clear_faults();

    idp.set_fault(Fault::Oversized(Oversized::Discovery, bytes));
    let raw = http
        .get(idp.discovery_url())
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(raw.len() >= bytes);
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(doc["issuer"], idp.issuer());
    idp.clear_faults();

    let normal = jwks(&idp, &http);
    idp.set_fault(Fault::Oversized(Oversized::Jwks, bytes));
    let url = idp.jwks_url();
    let raw = http.get(&url).send().unwrap().bytes().unwrap();
    assert!(raw.len() >= bytes, "over the size: {}", raw.len());
    let set: Value = serde_json::from_slice(&raw).unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert!(keys.len() > 1000, "a valid key set with many keys");
    for real in normal["keys"].as_array().unwrap() {
        assert_eq!(
            keys_named(&set, real["kid"].as_str().unwrap()),
            vec![real.clone()]
        );
    }
    idp.clear_faults();

    let body = tokens(&idp, &http);
    idp.set_fault(Fault::Oversized(Oversized::Userinfo, bytes));
    let raw = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(raw.len() >= bytes);
    let info: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        info["sub"],
        claims(body["id_token"].as_str().unwrap())["sub"]
    );
}

#[test]
fn jwks_cache_control_is_configurable_and_switchable() {
    let http = http();
    let cache_control = |idp: &DevIdp| {
        let url = idp.jwks_url();
        let resp = http.get(url).send().unwrap();
        assert_eq!(resp.status(), 200);
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let idp = start();
    assert_eq!(cache_control(&idp), None, "default: no Cache-Control");
    idp.set_fault(Fault::JwksMaxAge(30));
    assert_eq!(cache_control(&idp).as_deref(), Some("max-age=30"));
    idp.clear_faults();

    let idp = DevIdp::start(DevIdpConfig {
        jwks_max_age: Some(Duration::from_secs(600)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(cache_control(&idp).as_deref(), Some("max-age=600"));
    idp.set_fault(Fault::JwksMaxAge(0));
    assert_eq!(cache_control(&idp).as_deref(), Some("max-age=0"));
    idp.clear_faults();
    assert_eq!(cache_control(&idp).as_deref(), Some("max-age=600"));
}
