//! Shared helpers for the devidp integration tests: an HTTP client that never follows
//! redirects, PKCE, the sign-in dance over real HTTP, and JWT decoding/verification.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_devidp::{DevIdp, DevIdpConfig, CONTROL_TOKEN_HEADER, DEMO_PASSWORD, DEMO_USERNAME};
use reqwest::blocking::{Client, RequestBuilder, Response};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

pub const REDIRECT: &str = "http://localhost:53682/callback";

pub fn start() -> DevIdp {
    DevIdp::start(DevIdpConfig::default()).expect("devidp starts")
}

pub fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

pub fn location(resp: &Response) -> url::Url {
    let raw = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location header (status {})", resp.status()))
        .to_str()
        .unwrap();
    url::Url::parse(raw).unwrap()
}

pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A standard authorize query (code + S256 + state + nonce).
pub fn authorize_params(idp: &DevIdp, pkce: &Pkce) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", &idp.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email profile"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn query(params: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

pub fn authorize_url(idp: &DevIdp, params: &[(String, String)]) -> String {
    format!("{}/oauth2/authorize?{}", idp.base_url(), query(params))
}

pub struct SignIn {
    pub code: String,
    pub state: Option<String>,
    pub pkce: Pkce,
    pub cookie: String,
    pub callback: url::Url,
}

/// The hosted UI's CSRF token: the `XSRF-TOKEN` cookie a form page sets (its forms echo it
/// in `_csrf`). Gets `/login` with `params` to obtain one.
pub fn csrf(idp: &DevIdp, http: &Client, params: &[(String, String)]) -> String {
    let page = http
        .get(format!("{}/login?{}", idp.base_url(), query(params)))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200, "the login page");
    csrf_cookie(&page).expect("the login page sets XSRF-TOKEN")
}

/// The `XSRF-TOKEN` value a response sets, if it sets one.
pub fn csrf_cookie(resp: &Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
}

/// The authorize parameters a hosted-UI form carries in its action's query.
pub const AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "identity_provider",
    "idp_identifier",
    "lang",
];

/// Posts a hosted-UI form the way a browser does on Cognito's pages: the authorize
/// parameters among `form` in the action's query (`/login?client_id=…`), the other fields and
/// `_csrf` in the body, the `XSRF-TOKEN` cookie alongside.
pub fn post_form(
    idp: &DevIdp,
    http: &Client,
    path: &str,
    form: &[(String, String)],
    csrf: &str,
) -> Response {
    let (in_query, mut body): (Vec<_>, Vec<_>) = form
        .iter()
        .cloned()
        .partition(|(k, _)| AUTHORIZE_PARAMS.contains(&k.as_str()));
    body.push(("_csrf".into(), csrf.into()));
    http.post(format!("{}{path}?{}", idp.base_url(), query(&in_query)))
        .header("Cookie", format!("XSRF-TOKEN={csrf}"))
        .form(&body)
        .send()
        .unwrap()
}

/// Authorize → /login → POST /login as `username`; returns the code from the callback.
pub fn sign_in_as(idp: &DevIdp, http: &Client, username: &str, password: &str) -> SignIn {
    sign_in_full(idp, http, username, password, None)
}

/// The demo user's sign-in asking for `scope`.
pub fn sign_in_with_scope(idp: &DevIdp, http: &Client, scope: &str) -> SignIn {
    sign_in_full(idp, http, DEMO_USERNAME, DEMO_PASSWORD, Some(scope))
}

fn sign_in_full(
    idp: &DevIdp,
    http: &Client,
    username: &str,
    password: &str,
    scope: Option<&str>,
) -> SignIn {
    let pkce = pkce();
    let mut params = authorize_params(idp, &pkce);
    if let Some(scope) = scope {
        params.retain(|(k, _)| k != "scope");
        params.push(("scope".into(), scope.into()));
    }
    let resp = http.get(authorize_url(idp, &params)).send().unwrap();
    assert_eq!(resp.status(), 302);
    let login = location(&resp);
    assert_eq!(login.path(), "/login");
    let page = http.get(login.as_str()).send().unwrap();
    assert_eq!(page.status(), 200);
    let token = csrf_cookie(&page).expect("the login page sets XSRF-TOKEN");
    let mut form = params.clone();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let resp = post_form(idp, http, "/login", &form, &token);
    assert_eq!(resp.status(), 302, "login should redirect");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .expect("a cognito cookie")
        .to_str()
        .unwrap()
        .to_string();
    let callback = location(&resp);
    SignIn {
        code: param(&callback, "code").expect("code"),
        state: param(&callback, "state"),
        pkce,
        cookie,
        callback,
    }
}

pub fn sign_in(idp: &DevIdp, http: &Client) -> SignIn {
    sign_in_as(idp, http, DEMO_USERNAME, DEMO_PASSWORD)
}

pub fn exchange(idp: &DevIdp, http: &Client, code: &str, verifier: &str) -> Response {
    http.post(format!("{}/oauth2/token", idp.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &idp.client_id()),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .unwrap()
}

/// The full sign-in plus code exchange; returns the token response JSON.
pub fn tokens_as(idp: &DevIdp, http: &Client, username: &str, password: &str) -> Value {
    let s = sign_in_as(idp, http, username, password);
    let resp = exchange(idp, http, &s.code, &s.pkce.verifier);
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

pub fn tokens(idp: &DevIdp, http: &Client) -> Value {
    tokens_as(idp, http, DEMO_USERNAME, DEMO_PASSWORD)
}

pub fn refresh(idp: &DevIdp, http: &Client, refresh_token: &str) -> Response {
    http.post(format!("{}/oauth2/token", idp.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &idp.client_id()),
            ("refresh_token", refresh_token),
        ])
        .send()
        .unwrap()
}

fn b64json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

pub fn header(jwt: &str) -> Value {
    b64json(jwt.split('.').next().unwrap())
}

pub fn claims(jwt: &str) -> Value {
    b64json(jwt.split('.').nth(1).unwrap())
}

pub fn jwks(idp: &DevIdp, http: &Client) -> Value {
    http.get(idp.jwks_url()).send().unwrap().json().unwrap()
}

/// A control request (`/_devidp/{path}`) carrying the provider's control token.
pub fn control(idp: &DevIdp, http: &Client, method: reqwest::Method, path: &str) -> RequestBuilder {
    http.request(method, format!("{}/_devidp/{path}", idp.base_url()))
        .header(CONTROL_TOKEN_HEADER, idp.control_token())
}

fn rsa_key(jwk: &Value) -> RsaPublicKey {
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap()
}

fn signature_of(jwt: &str) -> Option<(&str, Signature)> {
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    Some((input, Signature::try_from(sig.as_slice()).ok()?))
}

/// Verifies an RS256 JWT against a JWK (independently of the provider's own code).
pub fn verify_with_jwk(jwt: &str, jwk: &Value) -> bool {
    let Some((input, sig)) = signature_of(jwt) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(rsa_key(jwk))
        .verify(input.as_bytes(), &sig)
        .is_ok()
}

/// Verifies an RS512 JWT against a JWK.
pub fn verify_rs512_with_jwk(jwt: &str, jwk: &Value) -> bool {
    let Some((input, sig)) = signature_of(jwt) else {
        return false;
    };
    VerifyingKey::<Sha512>::new(rsa_key(jwk))
        .verify(input.as_bytes(), &sig)
        .is_ok()
}

/// Verifies a JWT with the key its `kid` names in the provider's JWKS.
pub fn verify(idp: &DevIdp, http: &Client, jwt: &str) -> bool {
    let kid = header(jwt)["kid"].as_str().unwrap_or("").to_string();
    let set = jwks(idp, http);
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .is_some_and(|k| verify_with_jwk(jwt, k))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
