//! The hosted UI's other flows, over real HTTP like a browser: the forms' CSRF token, the
//! lockout after failed sign-ins, a new password for an administrator-created user, forgot
//! password, TOTP MFA (set-up and challenge) and a federated sign-in through `/oauth2/idpresponse`.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{
    DevIdp, DevIdpConfig, FederatedIdp, MfaMode, UserRecord, DEMO_PASSWORD, DEMO_USERNAME,
};
use reqwest::blocking::{Client, Response};
use serde_json::Value;

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

/// Exchanges the code of a callback redirect and returns the token response.
fn tokens_from(idp: &DevIdp, http: &Client, resp: Response, verifier: &str) -> Value {
    assert_eq!(resp.status(), 302, "back to the app");
    let callback = location(&resp);
    assert!(callback.as_str().starts_with(REDIRECT), "{callback}");
    let code = param(&callback, "code").expect("a code");
    let resp = exchange(idp, http, &code, verifier);
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

/// A sign-in form post, with what an authorize request and the login page gave.
pub(crate) struct Browser {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) pkce: Pkce,
    pub(crate) token: String,
}

impl Browser {
    fn open(idp: &DevIdp, http: &Client) -> Browser {
        Browser::open_in(idp, http, None)
    }

    /// [`Browser::open`] with the authorize query's `lang` (managed login's page language).
    pub(crate) fn open_in(idp: &DevIdp, http: &Client, lang: Option<&str>) -> Browser {
        let pkce = pkce();
        let mut params = authorize_params(idp, &pkce);
        if let Some(lang) = lang {
            params.push(("lang".into(), lang.into()));
        }
        let token = csrf(idp, http, &params);
        Browser {
            params,
            pkce,
            token,
        }
    }

    pub(crate) fn post(
        &self,
        idp: &DevIdp,
        http: &Client,
        path: &str,
        extra: &[(&str, &str)],
    ) -> Response {
        let mut form = self.params.clone();
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        post_form(idp, http, path, &form, &self.token)
    }
}

fn user(username: &str, password: &str) -> UserRecord {
    UserRecord {
        username: username.into(),
        password: password.into(),
        email: username.into(),
        ..UserRecord::default()
    }
}

/// TOTP (RFC 6238, SHA-1, 6 digits) computed here, independently of the provider.
fn totp(secret: &str, now: i64) -> String {
    use hmac::Mac;
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut key, mut buffer, mut bits) = (Vec::new(), 0u64, 0);
    for c in secret.chars().filter(|c| c.is_ascii_alphanumeric()) {
        buffer = (buffer << 5) | ALPHABET.find(c.to_ascii_uppercase()).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            key.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&((now / 30) as u64).to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = (d[19] & 15) as usize;
    let v = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]);
    format!("{:06}", v % 1_000_000)
}

#[test]
fn forms_carry_a_csrf_token_and_posts_without_it_are_refused() {
    let idp = start();
    let http = http();
    let pkce = pkce();
    let params = authorize_params(&idp, &pkce);
    let page = http
        .get(format!("{}/login?{}", idp.base_url(), query(&params)))
        .send()
        .unwrap();
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("XSRF-TOKEN="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let token = csrf_cookie(&page).unwrap();
    let html = page.text().unwrap();
    assert_eq!(
        hidden(&html, "_csrf").as_deref(),
        Some(token.as_str()),
        "field = cookie"
    );

    let mut form = params.clone();
    form.push(("username".into(), DEMO_USERNAME.into()));
    form.push(("password".into(), DEMO_PASSWORD.into()));
    // A script that skips the page (no cookie, no field), or a cross-site form (a field it
    // guessed, no cookie), or a mismatch: 403, and nobody signs in.
    let bare = http
        .post(format!("{}/login", idp.base_url()))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(bare.status(), 403);
    let mut guessed = form.clone();
    guessed.push(("_csrf".into(), token.clone()));
    let no_cookie = http
        .post(format!("{}/login", idp.base_url()))
        .form(&guessed)
        .send()
        .unwrap();
    assert_eq!(no_cookie.status(), 403);
    let mismatch = http
        .post(format!("{}/login", idp.base_url()))
        .header("Cookie", "XSRF-TOKEN=another-token-of-some-length")
        .form(&guessed)
        .send()
        .unwrap();
    assert_eq!(mismatch.status(), 403);
    assert_eq!(idp.stats().logins, 0);
    // With both, the same post signs in.
    assert_eq!(
        post_form(&idp, &http, "/login", &form, &token).status(),
        302
    );
    assert_eq!(idp.stats().logins, 1);
}

#[test]
fn repeated_wrong_passwords_lock_the_user_out_like_cognito() {
    let idp = start();
    let http = http();
    let b = Browser::open(&idp, &http);
    let attempt = |password: &str| {
        let resp = b.post(
            &idp,
            &http,
            "/login",
            &[("username", DEMO_USERNAME), ("password", password)],
        );
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    };
    for n in 1..=5 {
        let (status, html) = attempt("wrong-password");
        assert_eq!(status, 400, "attempt {n}");
        assert!(
            html.contains("Incorrect username or password."),
            "attempt {n}"
        );
    }
    // Five failures: locked for 2^0 s. Even the right password is refused meanwhile.
    let (status, html) = attempt(DEMO_PASSWORD);
    assert_eq!(status, 400);
    assert!(html.contains("Password attempts exceeded"), "{html}");
    assert_eq!(idp.stats().locked_out_logins, 1);
    assert_eq!(
        idp.stats().failed_logins,
        5,
        "refusals in a lockout do not count"
    );
    // The sixth failure after the lockout locks for 2^1 s, the seventh for 2^2 s. The clock
    // counts whole seconds of real time plus what the test advances: a check inside a lockout
    // keeps two seconds of margin for the test's own pace (a loaded machine), and a check after
    // one only advances past its end, so neither depends on how fast the test runs.
    idp.advance_clock(Duration::from_secs(2));
    assert!(attempt("wrong-password").1.contains("Incorrect"));
    idp.advance_clock(Duration::from_secs(2));
    assert!(attempt("wrong-password").1.contains("Incorrect"));
    idp.advance_clock(Duration::from_secs(2));
    assert!(attempt(DEMO_PASSWORD)
        .1
        .contains("Password attempts exceeded"));
    idp.advance_clock(Duration::from_secs(2));
    let (status, _) = attempt(DEMO_PASSWORD);
    assert_eq!(status, 302, "signed in once the lockout is over");
    // Success reset the count: one wrong password is just wrong again.
    assert!(attempt("wrong-password").1.contains("Incorrect"));
    assert!(idp.log_tail(100).iter().any(|l| l.contains("locked out")));
}

#[test]
fn an_administrator_created_user_sets_a_new_password_at_first_sign_in() {
    let mut temp = user("newbie@example.com", "Temp-pass-1!");
    temp.force_change_password = true;
    let idp = DevIdp::start(DevIdpConfig {
        users: vec![temp],
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let b = Browser::open(&idp, &http);
    let resp = b.post(
        &idp,
        &http,
        "/login",
        &[
            ("username", "newbie@example.com"),
            ("password", "Temp-pass-1!"),
        ],
    );
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    assert!(html.contains(r#"action="/forceChangePassword?"#), "{html}");
    let session = hidden(&html, "session").expect("a challenge session");
    for (new, again, error) in [
        ("New-pass-2!", "Other-pass-3!", "do not match"),
        ("weak", "weak", "conform with policy"),
    ] {
        let resp = b.post(
            &idp,
            &http,
            "/forceChangePassword",
            &[
                ("session", &session),
                ("password", new),
                ("confirmPassword", again),
            ],
        );
        assert_eq!(resp.status(), 400);
        assert!(resp.text().unwrap().contains(error));
    }
    let resp = b.post(
        &idp,
        &http,
        "/forceChangePassword",
        &[
            ("session", &session),
            ("password", "New-pass-2!"),
            ("confirmPassword", "New-pass-2!"),
        ],
    );
    let body = tokens_from(&idp, &http, resp, &b.pkce.verifier);
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["email"],
        "newbie@example.com"
    );
    // The session is used up; the new password works from now on, the old one not.
    let reuse = b.post(
        &idp,
        &http,
        "/forceChangePassword",
        &[
            ("session", &session),
            ("password", "New-pass-4!"),
            ("confirmPassword", "New-pass-4!"),
        ],
    );
    assert_eq!(reuse.status(), 400);
    sign_in_as(&idp, &http, "newbie@example.com", "New-pass-2!");
    let old = b.post(
        &idp,
        &http,
        "/login",
        &[
            ("username", "newbie@example.com"),
            ("password", "Temp-pass-1!"),
        ],
    );
    assert_eq!(old.status(), 400);
}

#[test]
fn forgot_password_code_and_new_password() {
    let idp = start();
    let http = http();
    let b = Browser::open(&idp, &http);
    let page = http
        .get(format!(
            "{}/forgotPassword?{}",
            idp.base_url(),
            query(&b.params)
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(r#"action="/forgotPassword?"#));
    let resp = b.post(
        &idp,
        &http,
        "/forgotPassword",
        &[("username", DEMO_USERNAME)],
    );
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    assert!(html.contains(r#"action="/confirmforgotPassword?"#));
    let start = html
        .find("id=\"dev-code\">")
        .expect("the code, where the sign-up code is")
        + 14;
    let code = html[start..start + 6].to_string();
    assert!(
        idp.log_tail(20).iter().any(|l| l.contains(&code)),
        "and in the log"
    );

    let confirm = |code: &str, password: &str| {
        b.post(
            &idp,
            &http,
            "/confirmforgotPassword",
            &[
                ("username", DEMO_USERNAME),
                ("code", code),
                ("password", password),
                ("confirmPassword", password),
            ],
        )
    };
    let resp = confirm("000000", "Brand-new-1!");
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("Invalid verification code"));
    let resp = confirm(&code, "Brand-new-1!");
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(to.path(), "/login", "back to sign in");
    assert_eq!(param(&to, "state").as_deref(), Some("state-123"));
    sign_in_as(&idp, &http, DEMO_USERNAME, "Brand-new-1!");
    let old = b.post(
        &idp,
        &http,
        "/login",
        &[("username", DEMO_USERNAME), ("password", DEMO_PASSWORD)],
    );
    assert_eq!(old.status(), 400, "the old password is gone");
    // The code worked once.
    assert_eq!(confirm(&code, "Other-new-2!").status(), 400);

    // Nobody by that name: the same page, no code (and nothing that says so but the banner).
    let resp = b.post(
        &idp,
        &http,
        "/forgotPassword",
        &[("username", "nobody@example.com")],
    );
    assert_eq!(resp.status(), 200);
    assert!(!resp.text().unwrap().contains("id=\"dev-code\""));
}

#[test]
fn required_totp_mfa_is_set_up_at_first_sign_in_then_challenged() {
    let idp = DevIdp::start(DevIdpConfig {
        mfa: MfaMode::Required,
        amr_claims: true,
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let b = Browser::open(&idp, &http);
    let resp = b.post(
        &idp,
        &http,
        "/login",
        &[("username", DEMO_USERNAME), ("password", DEMO_PASSWORD)],
    );
    assert_eq!(resp.status(), 200);
    let html = resp.text().unwrap();
    assert!(html.contains("<svg"), "a QR code");
    let start = html.find("id=\"totp-secret\">").unwrap() + 17;
    let secret = html[start..start + html[start..].find('<').unwrap()].to_string();
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(html.contains("otpauth://totp/"));
    let session = hidden(&html, "session").unwrap();
    let wrong = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", "123456")],
    );
    assert_eq!(wrong.status(), 400);
    let code = totp(&secret, now());
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &code)],
    );
    let body = tokens_from(&idp, &http, resp, &b.pkce.verifier);
    let c = claims(body["id_token"].as_str().unwrap());
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // Next sign-in (a new browser): password, then the code prompt.
    let b = Browser::open(&idp, &http);
    let resp = b.post(
        &idp,
        &http,
        "/login",
        &[("username", DEMO_USERNAME), ("password", DEMO_PASSWORD)],
    );
    let html = resp.text().unwrap();
    assert!(html.contains(r#"id="mfa-form""#) && !html.contains("<svg"));
    let session = hidden(&html, "session").unwrap();
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &totp(&secret, now()))],
    );
    assert_eq!(resp.status(), 302);
}

#[test]
fn optional_mfa_asks_only_users_with_an_authenticator_and_amr_is_off_by_default() {
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let mut with_app = user("app@example.com", "App-pass-1!");
    with_app.totp_secret = Some(secret.into());
    let idp = DevIdp::start(DevIdpConfig {
        users: vec![with_app, user("plain@example.com", "Plain-pass-1!")],
        mfa: MfaMode::Optional,
        ..Default::default()
    })
    .unwrap();
    let http = http();
    // Without an authenticator: straight through, and no amr (classic Cognito tokens).
    let c = claims(
        tokens_as(&idp, &http, "plain@example.com", "Plain-pass-1!")["id_token"]
            .as_str()
            .unwrap(),
    );
    assert!(c.get("amr").is_none());
    let b = Browser::open(&idp, &http);
    let html = b
        .post(
            &idp,
            &http,
            "/login",
            &[("username", "app@example.com"), ("password", "App-pass-1!")],
        )
        .text()
        .unwrap();
    let session = hidden(&html, "session").expect("an MFA challenge");
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &totp(secret, now()))],
    );
    let body = tokens_from(&idp, &http, resp, &b.pkce.verifier);
    assert!(claims(body["id_token"].as_str().unwrap())
        .get("amr")
        .is_none());
}

#[test]
fn federated_sign_in_through_the_stand_in_provider_and_idpresponse() {
    let mut google = FederatedIdp::named("Google");
    google.identifiers = vec!["example.com".into()];
    let idp = DevIdp::start(DevIdpConfig {
        identity_providers: vec![google],
        ..Default::default()
    })
    .unwrap();
    let http = http();
    // The login page offers the provider.
    let b = Browser::open(&idp, &http);
    let page = http
        .get(format!("{}/login?{}", idp.base_url(), query(&b.params)))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("Continue with Google"));

    let pkce = pkce();
    let mut params = authorize_params(&idp, &pkce);
    params.push(("identity_provider".into(), "Google".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(resp.status(), 302);
    let external = location(&resp);
    assert_eq!(
        external.path(),
        "/external-idp/Google",
        "straight to the provider"
    );
    let page = http.get(external.as_str()).send().unwrap();
    let token = csrf_cookie(&page).unwrap();
    let mut form: Vec<(String, String)> = external.query_pairs().into_owned().collect();
    form.push(("user_id".into(), "109354484677663308178".into()));
    form.push(("email".into(), "daniel@example.com".into()));
    form.push(("name".into(), "Daniel".into()));
    let resp = post_form(&idp, &http, "/external-idp/Google", &form, &token);
    assert_eq!(resp.status(), 302);
    let back = location(&resp);
    assert_eq!(back.path(), "/oauth2/idpresponse");
    let resp = http.get(back.as_str()).send().unwrap();
    let body = tokens_from(&idp, &http, resp, &pkce.verifier);
    let c = claims(body["id_token"].as_str().unwrap());
    assert_eq!(c["cognito:username"], "google_109354484677663308178");
    assert_eq!(c["email"], "daniel@example.com");
    let group = format!("{}_Google", idp.user_pool_id());
    assert_eq!(c["cognito:groups"], serde_json::json!([group]));
    let identity = &c["identities"][0];
    assert_eq!(identity["userId"], "109354484677663308178");
    assert_eq!(identity["providerName"], "Google");
    assert_eq!(identity["providerType"], "Google");
    assert!(identity["issuer"].is_null());
    assert_eq!(identity["primary"], "true");
    assert!(identity["dateCreated"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    let a = claims(body["access_token"].as_str().unwrap());
    assert_eq!(a["username"], "google_109354484677663308178");
    // The provider's code works once.
    assert_eq!(http.get(back.as_str()).send().unwrap().status(), 400);

    // idp_identifier finds the provider too; an unknown one is an error for the app.
    let mut params = authorize_params(&idp, &pkce);
    params.push(("idp_identifier".into(), "example.com".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    assert_eq!(location(&resp).path(), "/external-idp/Google");
    let mut params = authorize_params(&idp, &pkce);
    params.push(("idp_identifier".into(), "unknown.example".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    let to = location(&resp);
    assert!(to.as_str().starts_with(REDIRECT));
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"));
}
