//! devidp's answers held against what the real service returns (fixtures/, each file's
//! source in fixtures/README.md): the discovery document, the JWKS, the shape of ID and
//! access tokens and the error bodies, field by field. The next difference is a failing test.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use latchkey_devidp::{DemoApiConfig, DevIdp, DevIdpConfig, Fault, FederatedIdp};
use serde_json::{Map, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// The JSON type of a value, for "same type" comparisons.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn discovery_is_cognitos_document_field_for_field() {
    let idp = start();
    let ours: Value = http()
        .get(idp.discovery_url())
        .send()
        .unwrap()
        .json()
        .unwrap();
    // The fixture with its placeholders put back: the same document, exactly.
    let text = fixture("discovery.json")
        .to_string()
        .replace(
            "https://cognito-idp.REGION.amazonaws.com/POOL",
            &idp.issuer(),
        )
        .replace("https://DOMAIN", &idp.base_url());
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(keys(&ours), keys(&expected), "the same fields, no more");
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&ours[field], value, "{field}");
    }
}

#[test]
fn jwks_has_cognitos_shape() {
    let idp = start();
    let ours = jwks(&idp, &http());
    let real = fixture("jwks.json");
    let (ours, real) = (
        ours["keys"].as_array().unwrap(),
        real["keys"].as_array().unwrap(),
    );
    assert_eq!(
        ours.len(),
        real.len(),
        "two keys: one for ID, one for access tokens"
    );
    for (key, model) in ours.iter().zip(real) {
        assert_eq!(keys(key), keys(model), "members of a key");
        for constant in ["alg", "e", "kty", "use"] {
            assert_eq!(key[constant], model[constant], "{constant}");
        }
        // A kid like Cognito's: standard base64 of 32 bytes; a 2048-bit modulus.
        let (kid, real_kid) = (key["kid"].as_str().unwrap(), model["kid"].as_str().unwrap());
        assert_eq!(kid.len(), real_kid.len());
        assert!(kid.ends_with('=') && real_kid.ends_with('='));
        assert_eq!(
            key["n"].as_str().unwrap().len(),
            model["n"].as_str().unwrap().len()
        );
    }
}

/// Every claim of the AWS example is in ours with the same JSON type, and every claim of ours
/// that the example lacks is one the documentation names elsewhere.
fn same_shape(
    ours: &Map<String, Value>,
    model: &Map<String, Value>,
    documented_extras: &[&str],
    user_specific: &[&str],
) {
    for (claim, value) in model {
        if user_specific.contains(&claim.as_str()) {
            continue;
        }
        let mine = ours
            .get(claim)
            .unwrap_or_else(|| panic!("{claim} is missing"));
        assert_eq!(kind(mine), kind(value), "{claim}: {mine} vs {value}");
    }
    for claim in ours.keys() {
        assert!(
            model.contains_key(claim)
                || documented_extras.contains(&claim.as_str())
                || claim.starts_with("custom:"),
            "{claim} is in no Cognito token we know of"
        );
    }
}

#[test]
fn tokens_have_the_claims_and_types_of_cognitos() {
    let idp = start();
    let http = http();
    let s = sign_in_with_scope(
        &idp,
        &http,
        "openid email profile aws.cognito.signin.user.admin",
    );
    let body: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let model = fixture("id_token.json");
    let id = body["id_token"].as_str().unwrap();
    assert_eq!(
        keys(&header(id)),
        keys(&model["header"]),
        "header: kid and alg only"
    );
    same_shape(
        claims(id).as_object().unwrap(),
        model["claims"].as_object().unwrap(),
        // Named by AWS's ID-token page (cognito:groups, nonce, event_id, at_hash on hosted-UI
        // tokens; cognito:roles and cognito:preferred_role when the user's groups have IAM
        // roles) or by the captured federated token (at_hash, name).
        &[
            "cognito:groups",
            "cognito:roles",
            "cognito:preferred_role",
            "nonce",
            "event_id",
            "at_hash",
            "name",
        ],
        &["given_name"],
    );
    let model = fixture("access_token.json");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(keys(&header(access)), keys(&model["header"]));
    same_shape(
        claims(access).as_object().unwrap(),
        model["claims"].as_object().unwrap(),
        // version: the captured access token; event_id: AWS's ID-token page names it, for
        // access tokens only emulators and public decoded tokens do (fixtures/README.md).
        &["version", "event_id"],
        &["device_key"],
    );
    assert!(
        claims(access).get("aud").is_none(),
        "access tokens have no aud"
    );
}

#[test]
fn a_federated_user_looks_like_the_captured_google_token() {
    let idp = DevIdp::start(DevIdpConfig {
        identity_providers: vec![FederatedIdp::named("Google")],
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let pkce = pkce();
    let mut params = authorize_params(&idp, &pkce);
    params.push(("identity_provider".into(), "Google".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    let external = location(&resp);
    let token = csrf_cookie(&http.get(external.as_str()).send().unwrap()).unwrap();
    let mut form: Vec<(String, String)> = external.query_pairs().into_owned().collect();
    form.push(("user_id".into(), "109354484677663308178".into()));
    form.push(("email".into(), "daniel@example.com".into()));
    form.push(("name".into(), "Daniel".into()));
    let back = location(&post_form(&idp, &http, external.path(), &form, &token));
    let callback = location(&http.get(back.as_str()).send().unwrap());
    let code = param(&callback, "code").unwrap();
    let body: Value = exchange(&idp, &http, &code, &pkce.verifier).json().unwrap();
    let ours = claims(body["id_token"].as_str().unwrap());
    let real = fixture("federated_id_token.json");
    // Pools today write the 2019 token's `Google_<id>` in lower case
    // (fixtures/federated_access_token_2026.json).
    let username = real["cognito:username"].as_str().unwrap().to_lowercase();
    assert_eq!(ours["cognito:username"], username.as_str());
    assert_eq!(
        ours["cognito:groups"][0].as_str().unwrap(),
        format!("{}_Google", idp.user_pool_id())
    );
    let (mine, theirs) = (&ours["identities"][0], &real["identities"][0]);
    assert_eq!(keys(mine), keys(theirs), "identities entry members");
    for member in keys(theirs) {
        assert_eq!(kind(&mine[&member]), kind(&theirs[&member]), "{member}");
    }
    for constant in [
        "userId",
        "providerName",
        "providerType",
        "primary",
        "issuer",
    ] {
        assert_eq!(mine[constant], theirs[constant], "{constant}");
    }
}

#[test]
fn error_answers_are_shaped_like_the_real_ones() {
    let errors = fixture("errors.json");
    let idp = DevIdp::start(DevIdpConfig {
        demo_api: DemoApiConfig::default(),
        ..Default::default()
    })
    .unwrap();
    let http = http();

    // Token endpoint: {"error": …} and nothing else.
    let e = &errors["token_endpoint"];
    let resp = exchange(&idp, &http, "no-such-code", &pkce().verifier);
    assert_eq!(resp.status().as_u16() as u64, e["status"].as_u64().unwrap());
    assert_eq!(
        resp.headers()["content-type"],
        e["content_type"].as_str().unwrap()
    );
    assert_eq!(resp.json::<Value>().unwrap(), e["body"]);
    assert!(
        idp.log_tail(5).iter().any(|l| l.contains("invalid_grant")),
        "the reason is logged"
    );
    // The fault that adds a description, for clients that show it.
    idp.set_fault(Fault::TokenErrorDescription);
    let body: Value = exchange(&idp, &http, "no-such-code", &pkce().verifier)
        .json()
        .unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
    idp.clear_faults();

    // userInfo with a bad token.
    let e = &errors["userinfo_invalid_token"];
    let resp = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16() as u64, e["status"].as_u64().unwrap());
    assert_eq!(
        resp.headers()["www-authenticate"],
        e["www_authenticate"].as_str().unwrap()
    );

    // API Gateway.
    let answer = |path: &str, auth: Option<&str>| {
        let mut req = http.get(format!("{}{path}", idp.base_url()));
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16() as u64;
        let www = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        (status, resp.json::<Value>().unwrap(), www)
    };
    let check = |name: &str, (status, body, _): (u64, Value, Option<String>)| {
        assert_eq!(status, errors[name]["status"].as_u64().unwrap(), "{name}");
        assert_eq!(body, errors[name]["body"], "{name}");
    };
    check("rest_api_unauthorized", answer("/demo-api/me", None));
    check(
        "rest_api_unknown_resource",
        answer("/demo-api/nothing", None),
    );
    let body = tokens(&idp, &http);
    let id = body["id_token"].as_str().unwrap().to_string();
    idp.set_fault(Fault::IdTokenWrongAudience);
    let other_client = tokens(&idp, &http)["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    idp.clear_faults();
    let http_api = answer("/demo-http-api/me", Some(&other_client));
    assert_eq!(
        http_api.2.as_deref(),
        errors["http_api_unauthorized"]["www_authenticate"].as_str()
    );
    check("http_api_unauthorized", http_api);
    idp.advance_clock(std::time::Duration::from_secs(3601));
    check("rest_api_expired", answer("/demo-api/me", Some(&id)));
    idp.advance_clock(std::time::Duration::from_secs(0));

    // cognito-idp JSON API.
    let fresh = DevIdp::start(DevIdpConfig::default()).unwrap();
    let s = sign_in_with_scope(&fresh, &http, "openid aws.cognito.signin.user.admin");
    let body: Value = exchange(&fresh, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let sign_out = || {
        let resp = http
            .post(format!("{}/", fresh.cognito_idp_url()))
            .header(
                "X-Amz-Target",
                "AWSCognitoIdentityProviderService.GlobalSignOut",
            )
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(serde_json::json!({"AccessToken": body["access_token"]}).to_string())
            .send()
            .unwrap();
        (resp.status().as_u16() as u64, resp.json::<Value>().unwrap())
    };
    assert_eq!(sign_out().0, 200);
    let (status, err) = sign_out();
    let e = &errors["json_api_not_authorized"];
    assert_eq!(status, e["status"].as_u64().unwrap());
    assert_eq!(err, e["body"]);
}
