//! Sign-up over the hosted UI's forms: the sign-up page, the password policy, the
//! confirmation step with its dev banner, then the redirect with a code and a cookie.

use crate::common;

use common::*;
use serde_json::Value;

fn extract_dev_code(html: &str) -> String {
    let start = html.find("id=\"dev-code\">").expect("dev banner") + "id=\"dev-code\">".len();
    html[start..start + 6].to_string()
}

#[test]
fn sign_up_confirm_and_sign_in_by_posting_the_forms() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let params = authorize_params(&idp, &pkce);
    // The sign-in page links to the sign-up page with the same parameters.
    let login = http
        .get(format!("{}/login?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(login.contains(&format!(
        "id=\"signup-link\" href=\"/signup?{}",
        query(&params).replace('&', "&amp;")
    )));
    let page = http
        .get(format!("{}/signup?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    for needle in [
        r#"<input id="username" name="username" type="email""#,
        r#"<input id="password" name="password" type="password""#,
        r#"<button id="signup""#,
        r#"action="/signup?"#,
    ] {
        assert!(html.contains(needle), "sign-up page lacks {needle}");
    }

    // Weak password and bad e-mail are refused with #error.
    let token = csrf(&idp, &http, &params);
    let post = |extra: &[(&str, &str)], path: &str| {
        let mut form = params.clone();
        for (k, v) in extra {
            form.push((k.to_string(), v.to_string()));
        }
        post_form(&idp, &http, path, &form, &token)
    };
    let resp = post(
        &[("username", "new@example.com"), ("password", "weak")],
        "/signup",
    );
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("id=\"error\""));
    let resp = post(
        &[("username", "not-an-email"), ("password", "Str0ng-pass!")],
        "/signup",
    );
    assert_eq!(resp.status(), 400);
    let resp = post(
        &[
            ("username", latchkey_devidp::DEMO_USERNAME),
            ("password", "Str0ng-pass!"),
        ],
        "/signup",
    );
    assert!(resp.text().unwrap().contains("already exists"));

    // A good sign-up shows the confirmation step with the code in the dev banner.
    let resp = post(
        &[
            ("username", "new@example.com"),
            ("password", "Str0ng-pass!"),
        ],
        "/signup",
    );
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    for needle in [
        r#"<input id="code" name="code""#,
        r#"<button id="confirm""#,
        r#"action="/confirm?"#,
    ] {
        assert!(html.contains(needle), "confirm page lacks {needle}");
    }
    let code = extract_dev_code(&html);
    assert_eq!(idp.last_confirmation_code().as_deref(), Some(code.as_str()));
    assert!(
        idp.log_tail(50).iter().any(|l| l.contains(&code)),
        "code is printed to the log"
    );

    // Signing up again with the same address is refused while the first sign-up is pending
    // (Cognito: UsernameExistsException), and the pending code stays the same.
    let resp = post(
        &[
            ("username", "new@example.com"),
            ("password", "Other-pass-2!"),
        ],
        "/signup",
    );
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("already exists"));
    assert_eq!(idp.last_confirmation_code().as_deref(), Some(code.as_str()));

    // An unconfirmed user cannot sign in yet: the confirmation step is shown instead.
    let resp = post(
        &[
            ("username", "new@example.com"),
            ("password", "Str0ng-pass!"),
        ],
        "/login",
    );
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("id=\"code\""));

    // Wrong code, then the right one.
    let resp = post(
        &[("username", "new@example.com"), ("code", "000000x")],
        "/confirm",
    );
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("id=\"error\""));
    let resp = post(
        &[("username", "new@example.com"), ("code", &code)],
        "/confirm",
    );
    assert_eq!(resp.status(), 302);
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("cognito="));
    let to = location(&resp);
    assert!(to.as_str().starts_with(REDIRECT));
    assert_eq!(param(&to, "state").as_deref(), Some("state-123"));
    let code = param(&to, "code").unwrap();
    let body: Value = exchange(&idp, &http, &code, &pkce.verifier).json().unwrap();
    let c = claims(body["id_token"].as_str().unwrap());
    assert_eq!(c["cognito:username"], c["sub"], "a generated username");
    assert_eq!(c["email"], "new@example.com");
    assert_eq!(idp.stats().signups, 1);

    // And the new user can now sign in with the password.
    let s = sign_in_as(&idp, &http, "new@example.com", "Str0ng-pass!");
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        200
    );
}

/// Users sign in with what the pool's `username_attributes` say; `cognito:username` is the
/// generated UUID in e-mail and phone pools and the chosen name in a plain-username pool.
#[test]
fn sign_in_names_follow_the_pools_username_attributes() {
    use latchkey_devidp::{DevIdp, DevIdpConfig, UserRecord, UsernameAttribute};
    let user = |username: &str, email: &str, phone: Option<&str>| UserRecord {
        username: username.into(),
        password: "Pass-word-1".into(),
        email: email.into(),
        groups: vec![],
        attributes: phone
            .map(|p| [("phone_number".to_string(), p.to_string())].into())
            .unwrap_or_default(),
        ..UserRecord::default()
    };
    let http = http();
    let id_claims = |idp: &DevIdp, name: &str| {
        claims(
            tokens_as(idp, &http, name, "Pass-word-1")["id_token"]
                .as_str()
                .unwrap(),
        )
    };

    // Plain usernames: the name in the users file is the username; the e-mail is no alias.
    let plain = DevIdp::start(DevIdpConfig {
        users: vec![user("alice", "alice@example.com", None)],
        username_attributes: vec![],
        ..Default::default()
    })
    .unwrap();
    let c = id_claims(&plain, "alice");
    assert_eq!(c["cognito:username"], "alice");
    assert_eq!(c["email"], "alice@example.com");
    let mut form = authorize_params(&plain, &pkce());
    let token = csrf(&plain, &http, &form);
    form.push(("username".into(), "alice@example.com".into()));
    form.push(("password".into(), "Pass-word-1".into()));
    let resp = post_form(&plain, &http, "/login", &form, &token);
    assert_eq!(resp.status(), 400, "the e-mail is not a sign-in name here");
    // Its sign-up form asks for a username and an e-mail.
    let page = http
        .get(format!(
            "{}/signup?{}",
            plain.base_url(),
            query(&authorize_params(&plain, &pkce()))
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(r#"<input id="email" name="email" type="email""#));

    // Phone numbers: sign in with the number; the username is generated.
    let phone = DevIdp::start(DevIdpConfig {
        users: vec![user(
            "bob@example.com",
            "bob@example.com",
            Some("+15555550100"),
        )],
        username_attributes: vec![UsernameAttribute::PhoneNumber],
        ..Default::default()
    })
    .unwrap();
    let c = id_claims(&phone, "+15555550100");
    assert_eq!(c["cognito:username"], c["sub"]);
    assert!(uuid::Uuid::parse_str(c["sub"].as_str().unwrap()).is_ok());

    // An e-mail pool needs an address for everyone, and addresses are unique.
    for users in [
        vec![user("carol", "", None)],
        vec![
            user("a", "same@example.com", None),
            user("b", "same@example.com", None),
        ],
    ] {
        let err = DevIdp::start(DevIdpConfig {
            users,
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(err, latchkey_devidp::DevIdpError::Config(_)),
            "{err}"
        );
    }
}
