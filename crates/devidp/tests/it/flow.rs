//! The core Cognito flow over real HTTP: discovery, JWKS, authorize validation, the sign-in
//! form, code exchange with PKCE, code reuse/expiry/verifier errors and cookie re-sign-in.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use serde_json::Value;

#[test]
fn two_origins_like_aws_keys_on_cognito_idp_hosted_ui_on_the_pool_domain() {
    let idp = start();
    let http = http();
    let base = idp.base_url();
    let idp_origin = idp.cognito_idp_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert!(idp_origin.starts_with("http://127.0.0.1:"));
    assert_ne!(base, idp_origin, "two origins");
    assert_eq!(idp.issuer(), format!("{idp_origin}/us-east-1_DevPool01"));
    assert_eq!(
        idp.discovery_url(),
        format!("{idp_origin}/us-east-1_DevPool01/.well-known/openid-configuration")
    );
    let resp = http.get(idp.discovery_url()).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let doc: Value = resp.json().unwrap();
    assert_eq!(doc["issuer"], idp.issuer());
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/oauth2/authorize")
    );
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{base}/oauth2/userInfo"));
    assert_eq!(doc["end_session_endpoint"], format!("{base}/logout"));
    assert_eq!(doc["revocation_endpoint"], format!("{base}/oauth2/revoke"));
    assert_eq!(doc["jwks_uri"], idp.jwks_url());
    assert!(
        doc.get("code_challenge_methods_supported").is_none(),
        "Cognito does not advertise PKCE methods"
    );

    // Nothing answers on the wrong origin: a client that mixes them up fails here as on AWS.
    let on_domain = |path: &str| format!("{base}{path}");
    let on_idp = |path: &str| format!("{idp_origin}{path}");
    for wrong in [
        on_domain("/us-east-1_DevPool01/.well-known/openid-configuration"),
        on_domain("/us-east-1_DevPool01/.well-known/jwks.json"),
        on_idp("/oauth2/authorize"),
        on_idp("/login"),
        on_idp("/oauth2/userInfo"),
        on_idp("/logout"),
        on_idp("/demo-api/me"),
        on_idp("/_devidp/faults"),
    ] {
        assert_eq!(http.get(&wrong).send().unwrap().status(), 404, "{wrong}");
    }
    for wrong in [on_idp("/oauth2/token"), on_idp("/oauth2/revoke")] {
        let resp = http
            .post(&wrong)
            .form(&[("grant_type", "refresh_token")])
            .send()
            .unwrap();
        assert_eq!(resp.status(), 404, "{wrong}");
    }
    assert_eq!(idp.stats().discovery, 1);
    assert_eq!(idp.stats().jwks, 0);

    let set = jwks(&idp, &http);
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string() && key["n"].is_string() && key["e"].is_string());
    }
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
}

#[test]
fn full_sign_in_issues_cognito_shaped_tokens() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    assert_eq!(s.callback.as_str().split('?').next().unwrap(), REDIRECT);
    assert_eq!(s.state.as_deref(), Some("state-123"));
    assert!(s.cookie.starts_with("cognito="));
    for part in ["HttpOnly", "Path=/", "Max-Age=3600", "SameSite=Lax"] {
        assert!(s.cookie.contains(part), "cookie {} lacks {part}", s.cookie);
    }
    let resp = exchange(&idp, &http, &s.code, &s.pkce.verifier);
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let id = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    // Refresh token: opaque, five-part JWE shape, not a JWS.
    assert_eq!(refresh.split('.').count(), 5);

    assert!(verify(&idp, &http, id), "ID token verifies with the JWKS");
    assert!(
        verify(&idp, &http, access),
        "access token verifies with the JWKS"
    );
    assert_ne!(header(id)["kid"], header(access)["kid"], "separate keys");
    assert_eq!(header(id)["alg"], "RS256");

    let c = claims(id);
    let now = now();
    assert_eq!(c["iss"], idp.issuer());
    assert_eq!(c["aud"], idp.client_id());
    assert_eq!(c["token_use"], "id");
    // The Demo pool signs in with e-mail: Cognito generates the username, equal to sub.
    assert_eq!(c["cognito:username"], c["sub"]);
    assert_eq!(c["email"], DEMO_USERNAME);
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["nonce"], "nonce-456");
    assert_eq!(c["cognito:groups"], serde_json::json!(["users", "admins"]));
    assert_eq!(c["custom:tenant"], "latchkey-demo");
    assert!(uuid::Uuid::parse_str(c["sub"].as_str().unwrap()).is_ok());
    for claim in ["jti", "origin_jti", "event_id", "auth_time"] {
        assert!(!c[claim].is_null(), "ID token has {claim}");
    }
    let iat = c["iat"].as_i64().unwrap();
    assert!((iat - now).abs() < 30);
    assert_eq!(c["exp"].as_i64().unwrap() - iat, 3600);
    // at_hash = base64url(left half of SHA-256(access token))
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access.as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    assert_eq!(c["at_hash"], expected);

    let a = claims(access);
    assert_eq!(a["token_use"], "access");
    assert_eq!(a["client_id"], idp.client_id());
    assert_eq!(a["username"], c["sub"]);
    assert_eq!(a["scope"], "openid email profile");
    assert!(a.get("aud").is_none(), "access tokens have no aud");
    assert_eq!(a["sub"], c["sub"]);
    assert_eq!(a["origin_jti"], c["origin_jti"]);

    let stats = idp.stats();
    assert_eq!(stats.authorize, 1);
    assert_eq!(stats.logins, 1);
    assert_eq!(stats.token_authorization_code, 1);
    assert_eq!(stats.token_refresh_token, 0);
    // No secret appears in the log.
    let log = idp.log_tail(200).join("\n");
    for secret in [
        s.code.as_str(),
        id,
        access,
        refresh,
        "state-123",
        latchkey_devidp::DEMO_PASSWORD,
    ] {
        assert!(!log.contains(secret), "log leaks a secret");
    }
}

#[test]
fn login_page_carries_the_authorize_parameters() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let params = authorize_params(&idp, &pkce);
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let login = location(&resp);
    assert_eq!(login.path(), "/login");
    assert_eq!(login.query(), Some(query(&params).as_str()), "same query");
    let page = http.get(login.as_str()).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    for needle in [
        r#"method="post" action="/login?response_type=code&amp;client_id="#,
        r#"<input id="username" name="username""#,
        r#"<input id="password" name="password" type="password""#,
        r#"<button id="signin""#,
        r#"id="signup-link" href="/signup?"#,
        r#"<label for="username">"#,
        r#"&amp;state=state-123&amp;"#,
        r#"<input type="hidden" name="cognitoAsfData" value="">"#,
        r#"name="signInSubmitButton""#,
    ] {
        assert!(html.contains(needle), "login page lacks {needle}");
    }
    assert!(
        !html.contains("http://") || !html.contains("<script"),
        "no scripts"
    );
    assert!(!html.contains("<link"), "no external stylesheets");
}

#[test]
fn wrong_password_shows_the_form_again_with_an_error() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let mut form = authorize_params(&idp, &pkce);
    let token = csrf(&idp, &http, &form);
    form.push(("username".into(), DEMO_USERNAME.into()));
    form.push(("password".into(), "wrong-password".into()));
    let resp = post_form(&idp, &http, "/login", &form, &token);
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("set-cookie").is_none());
    let html = resp.text().unwrap();
    assert!(html.contains(r#"id="error""#));
    assert!(html.contains("Incorrect username or password."));
    assert!(html.contains(r#"id="password""#));
    assert_eq!(idp.stats().failed_logins, 1);
    assert_eq!(idp.stats().logins, 0);
}

#[test]
fn things_cognito_does_not_have_are_not_here_either() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let params = authorize_params(&idp, &pkce);
    // No cancel link: on AWS a user who gives up closes the tab.
    let html = http
        .get(format!("{}/login?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !html.contains("cancel"),
        "no cancel link on the sign-in page"
    );
    let resp = http
        .get(format!("{}/cancel?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404, "no /cancel endpoint");
    // userInfo is spelled with a capital I; the lower-case path is not an alias.
    let access = tokens(&idp, &http)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    let lower = http
        .get(format!("{}/oauth2/userinfo", idp.base_url()))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(lower.status(), 404);
}

#[test]
fn registration_refuses_what_a_cognito_app_client_refuses() {
    let start_with = |tweak: &dyn Fn(&mut latchkey_devidp::DevIdpConfig)| {
        let mut config = latchkey_devidp::DevIdpConfig::default();
        tweak(&mut config);
        latchkey_devidp::DevIdp::start(config)
            .map(|_| ())
            .map_err(|e| match e {
                latchkey_devidp::DevIdpError::Config(reason) => reason,
                other => panic!("not a configuration error: {other}"),
            })
    };
    // http callback URLs: localhost and 127.0.0.1 only; [::1] has no AWS source.
    for refused in [
        "http://[::1]:53682/callback",
        "http://192.168.1.5:53682/callback",
        "http://example.com/callback",
    ] {
        let err = start_with(&|c| c.client.callback_urls = vec![refused.to_string()]).unwrap_err();
        assert!(
            err.contains("cannot use the HTTP protocol"),
            "{refused}: {err}"
        );
    }
    assert!(start_with(&|c| c.client.callback_urls = vec!["http://127.0.0.1:1/cb".into()]).is_ok());
    // Token lifetimes outside the console's ranges are refused at start, not just logged.
    for (tweak, range) in [
        (
            (&|c: &mut latchkey_devidp::DevIdpConfig| {
                c.client.id_token_ttl = Duration::from_secs(60)
            }) as &dyn Fn(&mut latchkey_devidp::DevIdpConfig),
            "5 minutes to 1 day",
        ),
        (
            &|c: &mut latchkey_devidp::DevIdpConfig| {
                c.client.access_token_ttl = Duration::from_secs(2 * 86_400)
            },
            "5 minutes to 1 day",
        ),
        (
            &|c: &mut latchkey_devidp::DevIdpConfig| {
                c.client.refresh_token_ttl = Duration::from_secs(1800)
            },
            "60 minutes to 10 years",
        ),
    ] {
        let err = start_with(tweak).unwrap_err();
        assert!(err.contains(range), "{err}");
    }
    assert!(start_with(&|c| c.client.id_token_ttl = Duration::from_secs(300)).is_ok());
}

#[test]
fn unregistered_redirect_uri_goes_to_the_error_page_never_the_app() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    for bad in [
        "http://localhost:53699/callback",
        "http://localhost:53682/callback/",
        "http://localhost:53682/Callback",
        "https://localhost:53682/callback",
        "http://evil.example/callback",
        "http://localhost:53682/callback?x=1",
    ] {
        let mut params = authorize_params(&idp, &pkce);
        params.retain(|(k, _)| k != "redirect_uri");
        params.push(("redirect_uri".into(), bad.into()));
        let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
        assert_eq!(resp.status(), 302, "{bad}");
        let to = location(&resp);
        assert_eq!(
            to.origin().ascii_serialization(),
            idp.base_url(),
            "{bad}: stays on the provider"
        );
        assert_eq!(to.path(), "/error");
        assert_eq!(param(&to, "error").as_deref(), Some("redirect_mismatch"));
        assert_eq!(param(&to, "client_id"), Some(idp.client_id()));
        let page = http.get(to.as_str()).send().unwrap();
        assert_eq!(page.status(), 400);
        assert!(page
            .text()
            .unwrap()
            .contains("An error was encountered with the requested page."));
    }
    // Unknown client id: the error page too.
    let mut params = authorize_params(&idp, &pkce);
    params.retain(|(k, _)| k != "client_id");
    params.push(("client_id".into(), "nope".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(location(&resp).path(), "/error");
}

#[test]
fn authorize_errors_go_back_to_the_client_with_state() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("response_type", None, "invalid_request"),
        ("response_type", Some("token"), "unauthorized_client"),
        ("scope", Some("unknown.scope/other"), "invalid_scope"),
        ("identity_provider", Some("Google"), "invalid_request"),
    ];
    for (name, value, expected) in cases {
        let mut params = authorize_params(&idp, &pkce);
        params.retain(|(k, _)| k != name);
        if let Some(v) = value {
            params.push((name.into(), v.into()));
        }
        let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
        assert_eq!(resp.status(), 302);
        let to = location(&resp);
        assert!(
            to.as_str().starts_with(REDIRECT),
            "{name}={value:?} goes to the client"
        );
        assert_eq!(
            param(&to, "error").as_deref(),
            Some(expected),
            "{name}={value:?}"
        );
        assert_eq!(param(&to, "state").as_deref(), Some("state-123"));
    }
    // COGNITO as identity_provider and lang are accepted.
    let mut params = authorize_params(&idp, &pkce);
    params.push(("identity_provider".into(), "COGNITO".into()));
    params.push(("lang".into(), "ja".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(location(&resp).path(), "/login");
}

#[test]
fn code_is_single_use() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        200
    );
    let again = exchange(&idp, &http, &s.code, &s.pkce.verifier);
    assert_eq!(again.status(), 400);
    let body: Value = again.json().unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let unknown = exchange(&idp, &http, "not-a-code", &s.pkce.verifier);
    assert_eq!(unknown.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn expired_code_is_invalid_grant() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    idp.advance_clock(Duration::from_secs(301));
    let resp = exchange(&idp, &http, &s.code, &s.pkce.verifier);
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn code_within_five_minutes_still_works() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    idp.advance_clock(Duration::from_secs(280));
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        200
    );
}

#[test]
fn wrong_or_missing_verifier_is_invalid_grant_and_a_wrong_redirect_unauthorized_client() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    let wrong = exchange(&idp, &http, &s.code, &pkce().verifier);
    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.json::<Value>().unwrap()["error"], "invalid_grant");

    let s = sign_in(&idp, &http);
    let missing = http
        .post(format!("{}/oauth2/token", idp.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &idp.client_id()),
            ("code", &s.code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .unwrap();
    assert_eq!(missing.json::<Value>().unwrap()["error"], "invalid_grant");

    let s = sign_in(&idp, &http);
    let other_redirect = http
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
    // Cognito's code for it (wire_shapes.rs holds the whole answer against the fixture).
    assert_eq!(
        other_redirect.json::<Value>().unwrap()["error"],
        "unauthorized_client"
    );
}

#[test]
fn token_endpoint_request_errors() {
    let idp = start();
    let http = http();
    let url = format!("{}/oauth2/token", idp.base_url());
    // JSON body: form-encoded only.
    let resp = http
        .post(&url)
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_request");
    let post = |form: &[(&str, &str)]| -> (u16, Value) {
        let r = http.post(&url).form(form).send().unwrap();
        (r.status().as_u16(), r.json().unwrap())
    };
    let cid = idp.client_id();
    let (status, body) = post(&[
        ("grant_type", "authorization_code"),
        ("client_id", "other"),
        ("code", "x"),
    ]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    let (_, body) = post(&[("grant_type", "password"), ("client_id", &cid)]);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (_, body) = post(&[("client_id", &cid)]);
    assert_eq!(body["error"], "invalid_request");
    let (_, body) = post(&[("grant_type", "refresh_token"), ("client_id", &cid)]);
    assert_eq!(body["error"], "invalid_request");
    let (_, body) = post(&[("grant_type", "client_credentials"), ("client_id", &cid)]);
    assert_eq!(body["error"], "unauthorized_client");
    let resp = http.get(&url).send().unwrap();
    assert_eq!(resp.status(), 405);
}

#[test]
fn cookie_allows_silent_re_sign_in_for_an_hour() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    let cookie = s.cookie.split(';').next().unwrap().to_string();
    let pkce = pkce();
    let params = authorize_params(&idp, &pkce);
    let resp = http
        .get(authorize_url(&idp, &params))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert!(
        to.as_str().starts_with(REDIRECT),
        "straight back to the app"
    );
    let code = param(&to, "code").expect("a code without a password");
    assert_eq!(param(&to, "state").as_deref(), Some("state-123"));
    let body: Value = exchange(&idp, &http, &code, &pkce.verifier).json().unwrap();
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["email"],
        DEMO_USERNAME
    );
    assert_eq!(idp.stats().cookie_logins, 1);
    assert_eq!(
        idp.stats().logins,
        1,
        "only the first sign-in used the password"
    );

    // After an hour the cookie no longer works.
    idp.advance_clock(Duration::from_secs(3601));
    let resp = http
        .get(authorize_url(&idp, &params))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(location(&resp).path(), "/login");
}

#[test]
fn viewer_signs_in_with_users_group_only() {
    let idp = start();
    let http = http();
    let body = tokens_as(&idp, &http, VIEWER_USERNAME, VIEWER_PASSWORD);
    let c = claims(body["id_token"].as_str().unwrap());
    assert_eq!(c["cognito:groups"], serde_json::json!(["users"]));
}

#[test]
fn scope_without_openid_gives_no_id_token() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let mut params = authorize_params(&idp, &pkce);
    params.retain(|(k, _)| k != "scope");
    params.push(("scope".into(), "aws.cognito.signin.user.admin".into()));
    let mut form = params.clone();
    let token = csrf(&idp, &http, &form);
    form.push(("username".into(), DEMO_USERNAME.into()));
    form.push(("password".into(), latchkey_devidp::DEMO_PASSWORD.into()));
    let resp = post_form(&idp, &http, "/login", &form, &token);
    let code = param(&location(&resp), "code").unwrap();
    let body: Value = exchange(&idp, &http, &code, &pkce.verifier).json().unwrap();
    assert!(body.get("id_token").is_none());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "aws.cognito.signin.user.admin"
    );
}

#[test]
fn any_loopback_port_mode_accepts_other_ports() {
    let mut config = latchkey_devidp::DevIdpConfig::default();
    config.client.any_loopback_port = true;
    let idp = latchkey_devidp::DevIdp::start(config).unwrap();
    let http = http();
    let pkce = pkce();
    let mut params = authorize_params(&idp, &pkce);
    params.retain(|(k, _)| k != "redirect_uri");
    params.push((
        "redirect_uri".into(),
        "http://127.0.0.1:40123/callback".into(),
    ));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(location(&resp).path(), "/login");
    // Path still has to match.
    params.retain(|(k, _)| k != "redirect_uri");
    params.push(("redirect_uri".into(), "http://127.0.0.1:40123/other".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(location(&resp).path(), "/error");
}

#[test]
fn drop_frees_the_port() {
    let idp = start();
    let port = idp.port();
    drop(idp);
    let config = latchkey_devidp::DevIdpConfig {
        port,
        ..Default::default()
    };
    let again = latchkey_devidp::DevIdp::start(config).expect("the port is free again");
    assert_eq!(again.port(), port);
}
