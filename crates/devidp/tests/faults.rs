//! Every fault switch, over real HTTP: what the client sees when each one is on, that
//! faults accumulate, and that clearing them restores normal behaviour.

mod common;

use std::time::{Duration, Instant};

use common::*;
use latchkey_devidp::{DevIdp, Fault, FAULT_NAMES};
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
        let text = name.replace("MILLIS", "1500").replace("SECS", "-30");
        let fault: Fault = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let again: Fault = fault.to_string().parse().unwrap();
        assert_eq!(fault, again);
    }
    assert!("nope".parse::<Fault>().is_err());
    assert!("token_slow".parse::<Fault>().is_err());
    assert!("id_token_expired=3".parse::<Fault>().is_err());
}
