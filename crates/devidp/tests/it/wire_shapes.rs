//! devidp's byte shapes held against the round-3 fixtures (fixtures/README.md names each
//! source): the hosted-UI form protocol, error codes, identity-pool bytes and claim details.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use latchkey_devidp::{
    DevIdp, DevIdpConfig, Fault, FederatedIdp, IdentityPoolConfig, UserRecord,
    DEMO_IDENTITY_POOL_ID, DEMO_PASSWORD, DEMO_USERNAME,
};
use reqwest::blocking::{Client, Response};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The value of `attribute` in the first tag of `html` that contains `marker`.
fn attribute_of(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let needle = format!("{attribute}=\"");
    let from = tag.find(&needle)? + needle.len();
    let value = &tag[from..from + tag[from..].find('"')?];
    Some(value.replace("&amp;", "&"))
}

/// The names of every input and button of the form `id` that a browser would submit.
fn submitted_names(html: &str, form_id: &str) -> BTreeSet<String> {
    let start = html.find(&format!("id=\"{form_id}\"")).expect("the form");
    let form = &html[start..start + html[start..].find("</form>").expect("its end")];
    form.split('<')
        .filter(|tag| tag.starts_with("input") || tag.starts_with("button"))
        .filter_map(|tag| {
            let from = tag.find("name=\"")? + 6;
            Some(tag[from..from + tag[from..].find('"')?].to_string())
        })
        .collect()
}

#[test]
fn the_login_form_posts_back_to_its_authorize_query_with_cognitos_body() {
    let model = fixture("hosted_ui_form.json");
    let idp = start();
    let http = http();
    let params = authorize_params(&idp, &pkce());
    let login = location(&http.get(authorize_url(&idp, &params)).send().unwrap());
    let page = http.get(login.as_str()).send().unwrap();
    let token = csrf_cookie(&page).expect("the login page sets XSRF-TOKEN");
    let html = page.text().unwrap();

    let form = &model["login_form"];
    let marker = format!("name=\"{}\"", form["name"].as_str().unwrap());
    let action = attribute_of(&html, &marker, "action").expect("the sign-in form's action");
    assert_eq!(
        attribute_of(&html, &marker, "method").as_deref(),
        form["method"].as_str()
    );
    let (path, action_query) = action.split_once('?').expect("an action with a query");
    assert_eq!(path, form["action_path"].as_str().unwrap());
    assert_eq!(
        parse_query(action_query),
        params,
        "the authorize query, unchanged"
    );
    let body = model["login_post"]["body"].as_object().unwrap();
    let expected: BTreeSet<String> = body.keys().cloned().collect();
    assert_eq!(submitted_names(&html, "signin-form"), expected);

    // Exactly the body and cookies a browser sends to AWS's form.
    let fields: Vec<(String, String)> = body
        .iter()
        .map(|(k, v)| {
            let value = match k.as_str() {
                "_csrf" => token.clone(),
                "username" => DEMO_USERNAME.to_string(),
                "password" => DEMO_PASSWORD.to_string(),
                _ => v.as_str().unwrap().to_string(),
            };
            (k.clone(), value)
        })
        .collect();
    let cookies: Vec<String> = model["login_post"]["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| match name.as_str().unwrap() {
            "XSRF-TOKEN" => format!("XSRF-TOKEN={token}"),
            other => format!("{other}=opaque-value-from-the-page"),
        })
        .collect();
    let resp = http
        .post(format!("{}{action}", idp.base_url()))
        .header("Cookie", cookies.join("; "))
        .form(&fields)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302);
    let callback = location(&resp);
    assert_eq!(callback.as_str().split('?').next(), Some(REDIRECT));
    assert!(param(&callback, "code").is_some(), "signed in");
    assert_eq!(idp.stats().logins, 1);
}

#[test]
fn the_sign_up_code_page_is_confirm_and_confirm_user_is_not_it() {
    let model = fixture("hosted_ui_form.json");
    let idp = start();
    let http = http();
    let params = authorize_params(&idp, &pkce());
    let token = csrf(&idp, &http, &params);
    let mut form = params.clone();
    form.push(("username".into(), "new.person@example.com".into()));
    form.push(("password".into(), "Sign-up-1".into()));
    let html = post_form(&idp, &http, "/signup", &form, &token)
        .text()
        .unwrap();
    let action = attribute_of(&html, "id=\"confirm-form\"", "action").expect("the code form");
    let (path, action_query) = action.split_once('?').expect("an action with a query");
    assert_eq!(path, model["pages"]["sign_up_code"].as_str().unwrap());
    assert_eq!(parse_query(action_query), params);
    let email_link = model["pages"]["email_link"].as_str().unwrap();
    let wrong = http
        .get(format!("{}{email_link}?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap();
    assert_eq!(
        wrong.status(),
        404,
        "AWS's e-mail-link page is not the code page"
    );
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A Google-federated sign-in through the stand-in provider; returns the token response.
fn federated_tokens(idp: &DevIdp, http: &Client, user_id: &str) -> Value {
    let pkce = pkce();
    let mut params = authorize_params(idp, &pkce);
    params.push(("identity_provider".into(), "Google".into()));
    let external = location(&http.get(authorize_url(idp, &params)).send().unwrap());
    let token = csrf_cookie(&http.get(external.as_str()).send().unwrap()).unwrap();
    let mut form: Vec<(String, String)> = external.query_pairs().into_owned().collect();
    form.push(("user_id".into(), user_id.into()));
    form.push(("email".into(), "daniel@example.com".into()));
    let back = location(&post_form(idp, http, external.path(), &form, &token));
    let callback = location(&http.get(back.as_str()).send().unwrap());
    let code = param(&callback, "code").unwrap();
    exchange(idp, http, &code, &pkce.verifier).json().unwrap()
}

fn with_google() -> DevIdp {
    DevIdp::start(DevIdpConfig {
        identity_providers: vec![FederatedIdp::named("Google")],
        ..Default::default()
    })
    .unwrap()
}

fn claim_names(jwt: &str) -> BTreeSet<String> {
    claims(jwt).as_object().unwrap().keys().cloned().collect()
}

#[test]
fn a_federated_user_is_named_in_lower_case_and_its_email_is_unverified() {
    let model = fixture("federated_access_token_2026.json");
    let idp = with_google();
    let http = http();
    let body = federated_tokens(&idp, &http, "109354484677663308178");
    let access = body["access_token"].as_str().unwrap();
    let expected = model["claims"].as_object().unwrap();
    assert_eq!(claims(access)["username"], expected["username"]);
    assert_eq!(
        claim_names(access),
        expected.keys().cloned().collect::<BTreeSet<_>>(),
        "exactly the claims of a 2026 federated access token"
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], expected["username"]);
    assert_eq!(id["email_verified"], false, "mapped e-mail is unverified");
    let info: Value = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(access)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["email_verified"], "false");
    assert_eq!(info["username"], expected["username"]);
}

#[test]
fn event_id_marks_a_sign_in_and_nothing_else() {
    let idp = start();
    let http = http();
    let signed_in = tokens(&idp, &http);
    for token in ["id_token", "access_token"] {
        let jwt = signed_in[token].as_str().unwrap();
        assert!(claims(jwt)["event_id"].is_string(), "{token} of a sign-in");
    }
    let refreshed: Value = refresh(&idp, &http, signed_in["refresh_token"].as_str().unwrap())
        .json()
        .unwrap();
    for token in ["id_token", "access_token"] {
        let jwt = refreshed[token].as_str().unwrap();
        assert!(claims(jwt).get("event_id").is_none(), "refreshed {token}");
    }
    let google = with_google();
    let federated = federated_tokens(&google, &http, "109354484677663308178");
    for token in ["id_token", "access_token"] {
        let jwt = federated[token].as_str().unwrap();
        assert!(claims(jwt).get("event_id").is_none(), "federated {token}");
    }
}

#[test]
fn a_phone_number_comes_with_phone_number_verified() {
    let mut config = DevIdpConfig::default();
    let mut user = UserRecord {
        username: "phoned".into(),
        password: "Phone-Pass-1".into(),
        email: "phoned@example.com".into(),
        ..UserRecord::default()
    };
    user.attributes
        .insert("phone_number".into(), "+15555550100".into());
    config.users.push(user);
    let idp = DevIdp::start(config).unwrap();
    let http = http();
    let body = tokens_as(&idp, &http, "phoned@example.com", "Phone-Pass-1");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["phone_number"], "+15555550100");
    assert_eq!(id["phone_number_verified"], true);
}

#[test]
fn the_default_client_id_is_shaped_like_cognitos() {
    let id = latchkey_devidp::DEFAULT_CLIENT_ID;
    assert_eq!(id.len(), 26, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{id}"
    );
}

#[test]
fn a_redirect_uri_mismatch_at_the_token_endpoint_is_unauthorized_client() {
    let model = &fixture("error_codes.json")["token_redirect_uri_mismatch"];
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    let resp = http
        .post(format!("{}/oauth2/token", idp.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &idp.client_id()),
            ("code", &s.code),
            ("redirect_uri", "http://localhost:53683/callback"),
            ("code_verifier", &s.pkce.verifier),
        ])
        .send()
        .unwrap();
    assert_same_answer(resp, model);
}

#[test]
fn the_token_and_revocation_endpoints_answer_other_methods_like_their_errors() {
    let model = &fixture("error_codes.json")["method_not_allowed"];
    let idp = start();
    let http = http();
    for path in ["/oauth2/token", "/oauth2/revoke"] {
        let resp = http
            .get(format!("{}{path}", idp.base_url()))
            .send()
            .unwrap();
        assert_eq!(resp.headers()["allow"], "POST");
        assert_same_answer(resp, model);
    }
}

#[test]
fn user_info_refuses_a_bad_token_with_the_header_alone() {
    let idp = start();
    let resp = http()
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert!(resp.headers().get("content-type").is_none());
    assert!(resp.bytes().unwrap().is_empty(), "no body");
}

#[test]
fn the_user_pool_throttles_with_http_400_like_aws() {
    let model = &fixture("error_codes.json")["throttled_user_pool"];
    let idp = start();
    idp.set_fault(Fault::UserPoolThrottled);
    let resp = http()
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.GlobalSignOut",
        )
        .body(r#"{"AccessToken":"x"}"#)
        .send()
        .unwrap();
    assert_same_answer(resp, model);
}

/// Status, the one `Content-Type` and the JSON body, as in the fixture entry.
fn assert_same_answer(resp: Response, model: &Value) {
    assert_eq!(
        u64::from(resp.status().as_u16()),
        model["status"].as_u64().unwrap()
    );
    let types: Vec<_> = resp.headers().get_all("content-type").iter().collect();
    assert_eq!(types.len(), 1, "one Content-Type: {types:?}");
    assert_eq!(types[0], model["content_type"].as_str().unwrap());
    assert_eq!(resp.json::<Value>().unwrap(), model["body"]);
}

/// One raw Cognito Identity call: the response as it came.
fn identity_call(idp: &DevIdp, http: &Client, operation: &str, body: &Value) -> Response {
    http.post(idp.identity_endpoint().unwrap())
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .unwrap()
}

#[test]
fn identity_answers_carry_one_content_type_and_cognitos_expiration_bytes() {
    let model = fixture("identity_credentials.json");
    let idp = DevIdp::start(DevIdpConfig {
        identity_pool: Some(IdentityPoolConfig::default()),
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let token = tokens(&idp, &http)["id_token"].as_str().unwrap().to_owned();
    // The Logins key names the pool as AWS spells it, whatever devidp's own origin.
    let logins =
        serde_json::json!({ "cognito-idp.us-east-1.amazonaws.com/us-east-1_DevPool01": token });
    let id = identity_call(
        &idp,
        &http,
        "GetId",
        &serde_json::json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins}),
    );
    let identity_id = id.json::<Value>().unwrap()["IdentityId"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = identity_call(
        &idp,
        &http,
        "GetCredentialsForIdentity",
        &serde_json::json!({"IdentityId": identity_id, "Logins": logins}),
    );
    assert_eq!(resp.status(), 200);
    let types: Vec<_> = resp.headers().get_all("content-type").iter().collect();
    assert_eq!(types, [model["content_type"].as_str().unwrap()]);
    let ours = resp.text().unwrap();
    let theirs = model["body"].as_str().unwrap();
    assert_eq!(
        expiration_bytes(&ours).map(scientific_shape),
        expiration_bytes(theirs).map(scientific_shape),
        "Expiration written as Cognito writes it: {ours}"
    );
    let seconds: f64 = expiration_bytes(&ours).unwrap().parse().unwrap();
    assert!((seconds as i64 - now() - 3600).abs() <= 5);
}

/// The raw bytes of the `Expiration` number in a credentials answer.
fn expiration_bytes(body: &str) -> Option<&str> {
    let from = body.find("\"Expiration\":")? + "\"Expiration\":".len();
    let rest = &body[from..];
    Some(rest[..rest.find([',', '}'])?].trim())
}

/// A number's notation with its digits blurred: `1.659377625E9` → `d.dE9`.
fn scientific_shape(number: &str) -> String {
    let (mantissa, exponent) = number.split_once('E').unwrap_or((number, ""));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let blur = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            "d".into()
        }
    };
    format!("{}.{}E{exponent}", blur(whole), blur(fraction))
}

#[test]
fn five_wrong_reset_codes_use_up_the_attempts_even_for_the_right_one() {
    let idp = start();
    let http = http();
    let params = authorize_params(&idp, &pkce());
    let token = csrf(&idp, &http, &params);
    let post = |path: &str, fields: &[(&str, &str)]| {
        let mut form = params.clone();
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        post_form(&idp, &http, path, &form, &token)
    };
    let html = post("/forgotPassword", &[("username", DEMO_USERNAME)])
        .text()
        .unwrap();
    let start = html.find("id=\"dev-code\">").expect("the code") + 14;
    let code = html[start..start + 6].to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |code: &str| {
        post(
            "/confirmforgotPassword",
            &[
                ("username", DEMO_USERNAME),
                ("code", code),
                ("password", "Brand-new-1!"),
                ("confirmPassword", "Brand-new-1!"),
            ],
        )
        .status()
    };
    for _ in 0..5 {
        assert_eq!(confirm(wrong), 400);
    }
    assert_eq!(
        idp.stats().code_attempts_exceeded,
        0,
        "five are CodeMismatch"
    );
    assert_eq!(confirm(&code), 400, "the right code, too late");
    assert_eq!(idp.stats().code_attempts_exceeded, 1);
    sign_in_as(&idp, &http, DEMO_USERNAME, DEMO_PASSWORD);
}
