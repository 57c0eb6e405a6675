//! Managed login (issue 26 item 11), over real HTTP like a browser: `lang` chooses the pages'
//! language (English when unknown), SMS and e-mail one-time codes as MFA (the code in the
//! provider's log, `CodeMismatchException` for a wrong one, `amr` saying which), and passkeys
//! answered with a page that says they are not emulated.

use crate::common;
use crate::hosted_flows::Browser;

use common::*;
use latchkey_devidp::{
    parse_users_toml, DevIdp, DevIdpConfig, MessageMfa, UserRecord, OTP_PASSWORD, OTP_USERNAME,
};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

/// The value of `attribute` on the first element that has it.
fn attribute(html: &str, attribute: &str) -> Option<String> {
    let marker = format!("{attribute}=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

/// The page's `<html lang>`.
fn page_lang(html: &str) -> String {
    attribute(html, "<html lang").expect("an <html lang> attribute")
}

/// The MFA code the provider logged for its last one-time-code challenge.
fn logged_code(idp: &DevIdp) -> String {
    let line = idp
        .log_tail(50)
        .into_iter()
        .rev()
        .find(|l| l.contains(" MFA code for "))
        .expect("the code is in the provider's log");
    line.rsplit(' ').next().unwrap().to_string()
}

/// hosted_flows' browser, with the steps these tests add (`Browser::open_in` takes `lang`).
impl Browser {
    fn login(&self, idp: &DevIdp, http: &Client, username: &str, password: &str) -> String {
        let resp = self.post(
            idp,
            http,
            "/login",
            &[("username", username), ("password", password)],
        );
        assert_eq!(resp.status(), 200, "the one-time code page");
        resp.text().unwrap()
    }

    /// Exchanges the code of a callback redirect and returns the ID token's claims.
    fn id_claims(&self, idp: &DevIdp, http: &Client, resp: Response) -> Value {
        assert_eq!(resp.status(), 302, "back to the app");
        let code = param(&location(&resp), "code").expect("a code");
        let resp = exchange(idp, http, &code, &self.pkce.verifier);
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().unwrap();
        claims(body["id_token"].as_str().unwrap())
    }
}

fn get(http: &Client, url: &str) -> Response {
    http.get(url).send().unwrap()
}

#[test]
fn lang_from_authorize_is_carried_to_the_login_page_and_its_answers() {
    let idp = start();
    let http = http();
    let mut params = authorize_params(&idp, &pkce());
    params.push(("lang".into(), "fr".into()));
    let resp = get(&http, &authorize_url(&idp, &params));
    assert_eq!(resp.status(), 302);
    let login = location(&resp);
    assert_eq!(param(&login, "lang").as_deref(), Some("fr"), "carried");
    let html = get(&http, login.as_str()).text().unwrap();
    assert_eq!(page_lang(&html), "fr");
    let action = attribute(&html, "action").unwrap();
    assert!(
        action.contains("lang=fr"),
        "the form posts back with it: {action}"
    );

    // A wrong password: the answer is in the same language.
    let b = Browser::open_in(&idp, &http, Some("fr"));
    let resp = b.post(
        &idp,
        &http,
        "/login",
        &[("username", "demo@latchkey.dev"), ("password", "wrong")],
    );
    assert_eq!(resp.status(), 400);
    assert_eq!(page_lang(&resp.text().unwrap()), "fr");
}

#[test]
fn no_lang_and_an_unknown_lang_are_english() {
    let idp = start();
    let http = http();
    for lang in [None, Some("en"), Some("xx"), Some("FR-ca")] {
        let mut params = authorize_params(&idp, &pkce());
        if let Some(lang) = lang {
            params.push(("lang".into(), lang.into()));
        }
        let resp = get(
            &http,
            &format!("{}/login?{}", idp.base_url(), query(&params)),
        );
        assert_eq!(resp.status(), 200, "{lang:?} is not refused");
        assert_eq!(page_lang(&resp.text().unwrap()), "en", "{lang:?}");
    }
}

#[test]
fn email_mfa_asks_for_the_logged_code_refuses_a_wrong_one_and_amr_says_email() {
    let idp = DevIdp::start(DevIdpConfig {
        amr_claims: true,
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let b = Browser::open_in(&idp, &http, None);
    let html = b.login(&idp, &http, OTP_USERNAME, OTP_PASSWORD);
    assert_eq!(
        attribute(&html, "data-channel").as_deref(),
        Some("EMAIL_OTP")
    );
    assert_eq!(
        attribute(&html, "action").unwrap().split('?').next(),
        Some("/mfa")
    );
    assert!(
        html.contains("id=\"destination\">o***@l***<"),
        "masked address"
    );
    let session = hidden(&html, "session").unwrap();
    let code = logged_code(&idp);
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", wrong)],
    );
    assert_eq!(resp.status(), 400);
    let html = resp.text().unwrap();
    assert_eq!(
        attribute(&html, "data-exception").as_deref(),
        Some("CodeMismatchException")
    );
    assert_eq!(idp.stats().logins, 0, "a wrong code signs nobody in");

    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &code)],
    );
    let c = b.id_claims(&idp, &http, resp);
    assert_eq!(c["amr"], json!(["pwd", "email", "mfa"]));
    assert_eq!(c["email"], OTP_USERNAME);
    assert_eq!(idp.stats().logins, 1);
}

#[test]
fn sms_mfa_from_a_users_file_in_french_and_amr_says_sms() {
    let users = parse_users_toml(
        r#"
[[users]]
username = "sms@example.com"
password = "Sms-pass-1!"
mfa = "sms"
attributes = { phone_number = "+15555550100" }
"#,
    )
    .unwrap();
    assert_eq!(users[0].mfa, Some(MessageMfa::Sms));
    let idp = DevIdp::start(DevIdpConfig {
        users,
        amr_claims: true,
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let b = Browser::open_in(&idp, &http, Some("fr"));
    let html = b.login(&idp, &http, "sms@example.com", "Sms-pass-1!");
    assert_eq!(page_lang(&html), "fr");
    assert_eq!(attribute(&html, "data-channel").as_deref(), Some("SMS_MFA"));
    assert!(
        html.contains("id=\"destination\">+*******0100<"),
        "masked number"
    );
    let session = hidden(&html, "session").unwrap();
    let code = logged_code(&idp);
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &code)],
    );
    let c = b.id_claims(&idp, &http, resp);
    assert_eq!(c["amr"], json!(["pwd", "sms", "mfa"]));

    // The challenge is spent: the same code again finds no pending sign-in.
    let again = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &code)],
    );
    assert_eq!(again.status(), 400);
}

#[test]
fn a_users_file_mfa_needs_somewhere_to_send_the_code() {
    let no_phone = "[[users]]\nusername = \"a@example.com\"\npassword = \"x\"\nmfa = \"sms\"\n";
    assert!(parse_users_toml(no_phone).is_err());
    let both = "[[users]]\nusername = \"a@example.com\"\npassword = \"x\"\nmfa = \"email\"\n\
                totp_secret = \"JBSWY3DPEHPK3PXP\"\n";
    assert!(parse_users_toml(both).is_err());
    let unknown = "[[users]]\nusername = \"a@example.com\"\npassword = \"x\"\nmfa = \"voice\"\n";
    assert!(parse_users_toml(unknown).is_err());
    let record = UserRecord {
        mfa: Some(MessageMfa::Email),
        ..UserRecord::default()
    };
    assert!(format!("{record:?}").contains("Email"));
}

#[test]
fn passkeys_are_declared_not_emulated_on_the_login_page_and_their_paths() {
    let idp = start();
    let http = http();
    let params = authorize_params(&idp, &pkce());
    let html = get(
        &http,
        &format!("{}/login?{}", idp.base_url(), query(&params)),
    )
    .text()
    .unwrap();
    assert_eq!(
        attribute(&html, "data-passkeys").as_deref(),
        Some("not-emulated")
    );
    for path in [
        "/passkeys/add",
        "/passkeys/add?client_id=x",
        "/webauthn/register",
    ] {
        let resp = get(&http, &format!("{}{path}", idp.base_url()));
        assert_eq!(resp.status(), 501, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
    }
}

#[test]
fn lang_fr_reaches_the_sign_up_and_forgot_password_pages_through_their_links() {
    let idp = start();
    let http = http();
    let b = Browser::open_in(&idp, &http, Some("fr"));
    for path in ["/signup", "/forgotPassword"] {
        let url = format!("{}{path}?{}", idp.base_url(), query(&b.params));
        let html = get(&http, &url).text().unwrap();
        assert_eq!(page_lang(&html), "fr", "{path}");
    }
    let resp = b.post(
        &idp,
        &http,
        "/forgotPassword",
        &[("username", "demo@latchkey.dev")],
    );
    assert_eq!(page_lang(&resp.text().unwrap()), "fr", "the reset page");
}

#[test]
fn get_user_names_the_users_e_mail_mfa() {
    let idp = start();
    let http = http();
    let mut b = Browser::open_in(&idp, &http, None);
    for (name, value) in b.params.iter_mut() {
        if name == "scope" {
            *value = "openid email aws.cognito.signin.user.admin".into();
        }
    }
    let html = b.login(&idp, &http, OTP_USERNAME, OTP_PASSWORD);
    let session = hidden(&html, "session").unwrap();
    let code = logged_code(&idp);
    let resp = b.post(
        &idp,
        &http,
        "/mfa",
        &[("session", &session), ("code", &code)],
    );
    let code = param(&location(&resp), "code").expect("a code");
    let tokens: Value = exchange(&idp, &http, &code, &b.pkce.verifier)
        .json()
        .unwrap();
    let user: Value = http
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", "AWSCognitoIdentityProviderService.GetUser")
        .body(json!({"AccessToken": tokens["access_token"]}).to_string())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(user["UserMFASettingList"], json!(["EMAIL_OTP"]));
    assert_eq!(user["PreferredMfaSetting"], "EMAIL_OTP");
}
