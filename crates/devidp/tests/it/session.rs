//! After sign-in: refresh without and with rotation (grace period, remaining lifetime),
//! revocation cascade, userInfo, logout, and persistence through the state file.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, Rotation, DEMO_USERNAME};
use serde_json::Value;

fn start_with_rotation(grace_secs: u64) -> DevIdp {
    DevIdp::start(DevIdpConfig {
        client: ClientConfig {
            rotation: Some(Rotation {
                grace_period: Duration::from_secs(grace_secs),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap()
}

fn userinfo(
    idp: &DevIdp,
    http: &reqwest::blocking::Client,
    access: &str,
) -> reqwest::blocking::Response {
    http.get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(access)
        .send()
        .unwrap()
}

fn revoke(
    idp: &DevIdp,
    http: &reqwest::blocking::Client,
    token: &str,
) -> reqwest::blocking::Response {
    http.post(format!("{}/oauth2/revoke", idp.base_url()))
        .form(&[("token", token), ("client_id", &idp.client_id())])
        .send()
        .unwrap()
}

#[test]
fn refresh_without_rotation_returns_no_refresh_token() {
    let idp = start();
    let http = http();
    let first = tokens(&idp, &http);
    let rt = first["refresh_token"].as_str().unwrap();
    let resp = refresh(&idp, &http, rt);
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "Cognito returns no new refresh token"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let id = body["id_token"].as_str().unwrap();
    assert!(verify(&idp, &http, id));
    let old = claims(first["id_token"].as_str().unwrap());
    let new = claims(id);
    assert_eq!(new["sub"], old["sub"]);
    assert_eq!(
        new["auth_time"], old["auth_time"],
        "auth_time is kept across refreshes"
    );
    assert_eq!(new["origin_jti"], old["origin_jti"]);
    assert_ne!(new["jti"], old["jti"]);
    // The same refresh token keeps working.
    assert_eq!(refresh(&idp, &http, rt).status(), 200);
    assert_eq!(idp.stats().token_refresh_token, 2);

    let bad = refresh(&idp, &http, "not-a-refresh-token");
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn refresh_token_expires_after_its_lifetime() {
    let idp = start();
    let http = http();
    let first = tokens(&idp, &http);
    idp.advance_clock(Duration::from_secs(30 * 86_400 + 1));
    let resp = refresh(&idp, &http, first["refresh_token"].as_str().unwrap());
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn rotation_issues_new_tokens_and_honours_the_grace_period() {
    let idp = start_with_rotation(10);
    let http = http();
    let first = tokens(&idp, &http);
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let body: Value = refresh(&idp, &http, &rt1).json().unwrap();
    let rt2 = body["refresh_token"]
        .as_str()
        .expect("rotation returns a new refresh token")
        .to_string();
    assert_ne!(rt1, rt2);
    // Within the grace period the old one still works.
    idp.advance_clock(Duration::from_secs(5));
    assert_eq!(refresh(&idp, &http, &rt1).status(), 200);
    // After it, the old one is dead, the new one works.
    idp.advance_clock(Duration::from_secs(6));
    let dead = refresh(&idp, &http, &rt1);
    assert_eq!(dead.status(), 400);
    assert_eq!(dead.json::<Value>().unwrap()["error"], "invalid_grant");
    let body: Value = refresh(&idp, &http, &rt2).json().unwrap();
    let rt3 = body["refresh_token"].as_str().unwrap().to_string();
    // The new token keeps only the remaining lifetime of the original.
    idp.advance_clock(Duration::from_secs(30 * 86_400));
    assert_eq!(
        refresh(&idp, &http, &rt3).json::<Value>().unwrap()["error"],
        "invalid_grant"
    );
}

#[test]
fn rotation_with_zero_grace_kills_the_old_token_at_once() {
    let idp = start_with_rotation(0);
    let http = http();
    let first = tokens(&idp, &http);
    let rt1 = first["refresh_token"].as_str().unwrap();
    let body: Value = refresh(&idp, &http, rt1).json().unwrap();
    assert!(body["refresh_token"].is_string());
    idp.advance_clock(Duration::from_secs(1));
    assert_eq!(refresh(&idp, &http, rt1).status(), 400);
}

#[test]
fn revoke_cascades_to_tokens_issued_from_the_refresh_token() {
    let idp = start();
    let http = http();
    let first = tokens(&idp, &http);
    let rt = first["refresh_token"].as_str().unwrap();
    let access = first["access_token"].as_str().unwrap();
    let refreshed: Value = refresh(&idp, &http, rt).json().unwrap();
    let access2 = refreshed["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&idp, &http, access).status(), 200);

    // An access token is not revocable.
    let resp = revoke(&idp, &http, access);
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().unwrap()["error"],
        "unsupported_token_type"
    );

    let resp = revoke(&idp, &http, rt);
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().unwrap().is_empty());
    assert_eq!(
        refresh(&idp, &http, rt).json::<Value>().unwrap()["error"],
        "invalid_grant"
    );
    for token in [access, access2] {
        let resp = userinfo(&idp, &http, token);
        assert_eq!(resp.status(), 401);
        assert!(resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
    // Revoked JWTs still pass offline checks (Cognito).
    assert!(verify(&idp, &http, access));
    // Unknown and already-revoked tokens: 200.
    assert_eq!(revoke(&idp, &http, "unknown-token").status(), 200);
    assert_eq!(revoke(&idp, &http, rt).status(), 200);
    assert_eq!(idp.stats().revocations, 4);

    // Request errors.
    let url = format!("{}/oauth2/revoke", idp.base_url());
    let resp = http
        .post(&url)
        .form(&[("client_id", idp.client_id())])
        .send()
        .unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.json::<Value>().unwrap()["error"].clone()
        ),
        (400, "invalid_request".into())
    );
    let resp = http
        .post(&url)
        .form(&[("token", "x"), ("client_id", "other")])
        .send()
        .unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.json::<Value>().unwrap()["error"].clone()
        ),
        (401, "invalid_client".into())
    );
}

#[test]
fn userinfo_answers_with_the_users_attributes() {
    let idp = start();
    let http = http();
    let body = tokens(&idp, &http);
    let access = body["access_token"].as_str().unwrap();
    let resp = userinfo(&idp, &http, access);
    assert_eq!(resp.status(), 200);
    let info: Value = resp.json().unwrap();
    assert_eq!(
        info["sub"],
        claims(body["id_token"].as_str().unwrap())["sub"]
    );
    assert_eq!(info["email"], DEMO_USERNAME);
    assert_eq!(info["email_verified"], "true");
    assert!(uuid::Uuid::parse_str(info["username"].as_str().unwrap()).is_ok());
    assert_eq!(info["username"], info["sub"], "the generated username");
    assert_eq!(info["custom:tenant"], "latchkey-demo");
    // POST works too.
    let resp = http
        .post(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(access)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(idp.stats().userinfo, 2);

    // No token: 400 invalid_request.
    let resp = http
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_request"));
    // The ID token is not an access token.
    let resp = userinfo(&idp, &http, body["id_token"].as_str().unwrap());
    assert_eq!(resp.status(), 401);
    // Expired access token.
    idp.advance_clock(Duration::from_secs(3601));
    assert_eq!(userinfo(&idp, &http, access).status(), 401);
}

#[test]
fn logout_with_logout_uri_redirects_and_clears_the_cookie() {
    let idp = start();
    let http = http();
    let s = sign_in(&idp, &http);
    let cookie = s.cookie.split(';').next().unwrap().to_string();
    let resp = http
        .get(format!(
            "{}/logout?client_id={}&logout_uri={}",
            idp.base_url(),
            idp.client_id(),
            "http%3A%2F%2Flocalhost%3A53682%2Fsigned-out"
        ))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"],
        "http://localhost:53682/signed-out"
    );
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("cognito=;") && set_cookie.contains("Max-Age=0"));
    assert_eq!(idp.stats().logouts, 1);
    // The old cookie no longer signs in silently.
    let pkce = pkce();
    let resp = http
        .get(authorize_url(&idp, &authorize_params(&idp, &pkce)))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(location(&resp).path(), "/login");
    // Logout does not revoke: the code still exchanges, tokens still refresh.
    let body: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    assert_eq!(
        refresh(&idp, &http, body["refresh_token"].as_str().unwrap()).status(),
        200
    );
}

#[test]
fn logout_with_redirect_uri_goes_back_to_login() {
    let idp = start();
    let http = http();
    let resp = http
        .get(format!("{}/logout", idp.base_url()))
        .query(&[
            ("client_id", idp.client_id().as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", "s-1"),
        ])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(to.path(), "/login");
    assert_eq!(param(&to, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param(&to, "state").as_deref(), Some("s-1"));
    assert_eq!(
        param(&to, "scope").as_deref(),
        Some("openid email profile aws.cognito.signin.user.admin"),
        "scope defaults to all of the client's scopes"
    );
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[test]
fn logout_rejects_unregistered_targets() {
    let idp = start();
    let http = http();
    for query in [
        format!(
            "client_id={}&logout_uri=http%3A%2F%2Flocalhost%3A53682%2Fsigned-out%2F",
            idp.client_id()
        ),
        format!(
            "client_id={}&logout_uri=https%3A%2F%2Fevil.example%2F",
            idp.client_id()
        ),
        "client_id=other&logout_uri=http%3A%2F%2Flocalhost%3A53682%2Fsigned-out".to_string(),
        format!("client_id={}", idp.client_id()),
    ] {
        let resp = http
            .get(format!("{}/logout?{query}", idp.base_url()))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 302, "{query}");
        let to = location(&resp);
        assert_eq!(to.origin().ascii_serialization(), idp.base_url(), "{query}");
        assert_eq!(to.path(), "/error", "{query}");
        assert!(resp.headers().get("set-cookie").is_none());
    }
}

#[test]
fn state_file_keeps_keys_grants_and_signed_up_users_across_restarts() {
    let dir = std::env::temp_dir().join(format!("devidp-state-{}", uuid::Uuid::new_v4()));
    let path = dir.join("state.json");
    let config = || DevIdpConfig {
        state_file: Some(path.clone()),
        ..Default::default()
    };
    let http = http();
    let (rt, kid, port) = {
        let idp = DevIdp::start(config()).unwrap();
        sign_up(&idp, &http, "kept@example.com", "Kept-pass-1!");
        let body = tokens(&idp, &http);
        let kid = header(body["id_token"].as_str().unwrap())["kid"].clone();
        (
            body["refresh_token"].as_str().unwrap().to_string(),
            kid,
            idp.port(),
        )
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(&rt),
        "the refresh token itself is never written"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o077,
            0
        );
    }
    let idp = DevIdp::start(DevIdpConfig { port, ..config() }).unwrap();
    let body: Value = refresh(&idp, &http, &rt).json().unwrap();
    assert_eq!(
        header(body["id_token"].as_str().unwrap())["kid"],
        kid,
        "same keys"
    );
    drop(idp);
    // A corrupt state file is a clear start-up error.
    std::fs::write(&path, "not json").unwrap();
    let err = DevIdp::start(config()).unwrap_err().to_string();
    assert!(
        err.contains("state file") && err.contains("state.json"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Signs up and confirms a user through the forms.
fn sign_up(idp: &DevIdp, http: &reqwest::blocking::Client, username: &str, password: &str) {
    let pkce = pkce();
    let mut form = authorize_params(idp, &pkce);
    let token = csrf(idp, http, &form);
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let resp = post_form(idp, http, "/signup", &form, &token);
    assert_eq!(resp.status(), 200);
    let code = idp.last_confirmation_code().unwrap();
    form.retain(|(k, _)| k != "password");
    form.push(("code".into(), code));
    let resp = post_form(idp, http, "/confirm", &form, &token);
    assert_eq!(resp.status(), 302);
}

/// Calls the cognito-idp JSON API like the AWS SDKs do.
fn global_sign_out(idp: &DevIdp, http: &reqwest::blocking::Client, access: &str) -> (u16, Value) {
    let resp = http
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.GlobalSignOut",
        )
        .body(serde_json::json!({ "AccessToken": access }).to_string())
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

#[test]
fn global_sign_out_ends_every_refresh_token_of_the_user_but_not_the_browser_cookie() {
    let idp = start();
    let http = http();
    // Two devices of the demo user, one session of another user. The laptop's access token
    // carries aws.cognito.signin.user.admin, which the user's own operations need.
    let laptop = sign_in_with_scope(&idp, &http, "openid email aws.cognito.signin.user.admin");
    let laptop_tokens: Value = exchange(&idp, &http, &laptop.code, &laptop.pkce.verifier)
        .json()
        .unwrap();
    let phone = tokens(&idp, &http);
    let viewer = tokens_as(
        &idp,
        &http,
        latchkey_devidp::VIEWER_USERNAME,
        latchkey_devidp::VIEWER_PASSWORD,
    );
    let access = laptop_tokens["access_token"].as_str().unwrap();

    let (status, body) = global_sign_out(&idp, &http, access);
    assert_eq!((status, body), (200, serde_json::json!({})));
    assert_eq!(idp.stats().global_sign_outs, 1);
    for rt in [&laptop_tokens, &phone] {
        let resp = refresh(&idp, &http, rt["refresh_token"].as_str().unwrap());
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
    }
    assert_eq!(userinfo(&idp, &http, access).status(), 401);
    assert_eq!(
        refresh(&idp, &http, viewer["refresh_token"].as_str().unwrap()).status(),
        200,
        "other users keep their sessions"
    );
    // The token is now refused by the API itself.
    let (status, body) = global_sign_out(&idp, &http, access);
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "NotAuthorizedException");
    assert_eq!(body["message"], "Access Token has been revoked");
    // The hosted UI's cookie still signs the browser in silently (AWS: API_GlobalSignOut).
    let cookie = laptop.cookie.split(';').next().unwrap().to_string();
    let pkce = pkce();
    let resp = http
        .get(authorize_url(&idp, &authorize_params(&idp, &pkce)))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert!(location(&resp).as_str().starts_with(REDIRECT));
}

#[test]
fn global_sign_out_needs_the_admin_scope_and_a_valid_token() {
    let idp = start();
    let http = http();
    // An access token without aws.cognito.signin.user.admin.
    let s = sign_in_with_scope(&idp, &http, "openid email");
    let body: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let (status, err) = global_sign_out(&idp, &http, body["access_token"].as_str().unwrap());
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "NotAuthorizedException");
    assert_eq!(err["message"], "Access Token does not have required scopes");
    assert_eq!(
        refresh(&idp, &http, body["refresh_token"].as_str().unwrap()).status(),
        200,
        "nothing was revoked"
    );
    // An ID token, garbage, or no token at all.
    let (status, err) = global_sign_out(&idp, &http, body["id_token"].as_str().unwrap());
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("NotAuthorizedException"))
    );
    let resp = http
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.GlobalSignOut",
        )
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().unwrap()["__type"],
        "InvalidParameterException"
    );
    // Only on the cognito-idp origin.
    let resp = http
        .post(format!("{}/", idp.base_url()))
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.GlobalSignOut",
        )
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// Cognito's "sign in as another user": `/logout` with `redirect_uri` + `response_type` ends
/// the browser session and lands on the login page, where someone else signs in.
#[test]
fn logout_to_the_login_page_lets_another_user_sign_in() {
    let idp = start();
    let http = http();
    let first = sign_in(&idp, &http);
    let cookie = first.cookie.split(';').next().unwrap().to_string();
    let resp = http
        .get(format!("{}/logout", idp.base_url()))
        .query(&[
            ("client_id", idp.client_id().as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
        ])
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(location(&resp).path(), "/login");
    // The old cookie no longer signs anyone in silently: the session ended at the provider.
    let pkce = pkce();
    let resp = http
        .get(authorize_url(&idp, &authorize_params(&idp, &pkce)))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(location(&resp).path(), "/login");
    assert_eq!(idp.stats().cookie_logins, 0);
    let body = tokens_as(
        &idp,
        &http,
        latchkey_devidp::VIEWER_USERNAME,
        latchkey_devidp::VIEWER_PASSWORD,
    );
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["email"],
        latchkey_devidp::VIEWER_USERNAME
    );
}
