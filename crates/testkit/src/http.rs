//! The hosted-UI sign-in over plain HTTP, as a user's browser does it (authorize, the login
//! page's CSRF pair, the form, the loopback callback), and `Browser`s for `Session` built on it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_core::Browser;
use latchkey_devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

use crate::secrets::mask_secrets;

/// A client that follows no redirect (each step of the dance is looked at).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("an HTTP client")
}

fn location(resp: &reqwest::Response, base: &Url) -> Result<Url, String> {
    let raw = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("no Location header (HTTP {})", resp.status()))?;
    base.join(raw).map_err(|e| e.to_string())
}

/// The value of the `XSRF-TOKEN` cookie a response sets (Cognito's login form CSRF token).
pub fn xsrf_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
}

/// GET the authorize URL, post the login form (with its CSRF pair), and return the callback
/// URL the provider redirects to (not yet visited).
pub async fn try_login_to_callback(
    authorize: &Url,
    username: &str,
    password: &str,
) -> Result<Url, String> {
    login_with(&http(), authorize, username, password).await
}

/// [`try_login_to_callback`] on a given client (which must not follow redirects).
pub async fn login_with(
    c: &reqwest::Client,
    authorize: &Url,
    username: &str,
    password: &str,
) -> Result<Url, String> {
    let err = |e: reqwest::Error| e.to_string();
    let r = c.get(authorize.clone()).send().await.map_err(err)?;
    if !r.status().is_redirection() {
        return Err(format!("authorize answered {}", r.status()));
    }
    // On to the login page, as a browser goes (a logout page and a loopback bounce may come
    // first when signing in as another user).
    let mut login = location(&r, authorize)?;
    let mut page = c.get(login.clone()).send().await.map_err(err)?;
    for _ in 0..4 {
        if !page.status().is_redirection() {
            break;
        }
        login = location(&page, &login)?;
        page = c.get(login.clone()).send().await.map_err(err)?;
    }
    let csrf = xsrf_cookie(page.headers()).ok_or("the login page set no XSRF-TOKEN cookie")?;
    // Cognito's sign-in form posts back to `/login?<the authorize query>` with this body only
    // (devidp's fixtures/hosted_ui_form.json).
    let form = [
        ("_csrf", csrf.as_str()),
        ("username", username),
        ("password", password),
        ("cognitoAsfData", ""),
        ("signInSubmitButton", "Sign in"),
    ];
    let post = login.clone();
    let r = c
        .post(post.clone())
        .header("Cookie", format!("XSRF-TOKEN={csrf}"))
        .form(&form)
        .send()
        .await
        .map_err(err)?;
    if !r.status().is_redirection() {
        let status = r.status();
        return Err(format!(
            "login answered {status}: {}",
            r.text().await.unwrap_or_default()
        ));
    }
    location(&r, &post)
}

/// [`try_login_to_callback`], panicking with the reason.
pub async fn login_to_callback(authorize: &Url, username: &str, password: &str) -> Url {
    try_login_to_callback(authorize, username, password)
        .await
        .unwrap_or_else(|e| panic!("{}", mask_secrets(&e)))
}

/// The whole dance from a synchronous test (the CLI's): login, then visit the callback.
/// Returns the callback's status.
pub fn login_to_callback_blocking(authorize: &Url, username: &str, password: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let callback = login_to_callback(authorize, username, password).await;
        visit(&callback).await.0
    })
}

/// Visit a callback URL; returns (status, body).
pub async fn visit(url: &Url) -> (u16, String) {
    let r = http()
        .get(url.clone())
        .send()
        .await
        .expect("the callback answers");
    let s = r.status().as_u16();
    (s, r.text().await.unwrap_or_default())
}

/// A query parameter of `url`.
pub fn q(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with parameter `name` replaced (or added; removed with `None`).
pub fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    let mut u = url.clone();
    {
        let mut qp = u.query_pairs_mut();
        qp.clear();
        for (k, v) in &pairs {
            qp.append_pair(k, v);
        }
        if let Some(v) = value {
            qp.append_pair(name, v);
        }
    }
    u
}

/// Signs in over plain HTTP when the session opens the URL: as the demo user by default, or
/// as [`HttpBrowser::as_user`]. Records what it opened and what the callback answered.
#[derive(Clone)]
pub struct HttpBrowser {
    pub opened: Arc<Mutex<Vec<Url>>>,
    pub callback_status: Arc<Mutex<Vec<(u16, String)>>>,
    username: String,
    password: String,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::as_user(DEMO_USERNAME, DEMO_PASSWORD)
    }
}

impl HttpBrowser {
    pub fn as_user(username: &str, password: &str) -> HttpBrowser {
        HttpBrowser {
            opened: Arc::default(),
            callback_status: Arc::default(),
            username: username.into(),
            password: password.into(),
        }
    }
}

impl Browser for HttpBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        self.opened.lock().unwrap().push(url.clone());
        let (url, user, pass) = (url.clone(), self.username.clone(), self.password.clone());
        let statuses = self.callback_status.clone();
        tokio::runtime::Handle::current().spawn(async move {
            match try_login_to_callback(&url, &user, &pass).await {
                Ok(callback) => {
                    let r = visit(&callback).await;
                    statuses.lock().unwrap().push(r);
                }
                Err(e) => eprintln!("HTTP sign-in failed: {}", mask_secrets(&e)),
            }
        });
        Ok(())
    }
}

/// Hands each URL the session opens to the test over a channel.
#[derive(Clone)]
pub struct ManualBrowser {
    tx: tokio::sync::mpsc::UnboundedSender<Url>,
}

impl ManualBrowser {
    pub fn new() -> (
        Arc<ManualBrowser>,
        tokio::sync::mpsc::UnboundedReceiver<Url>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Arc::new(ManualBrowser { tx }), rx)
    }
}

impl Browser for ManualBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let _ = self.tx.send(url.clone());
        Ok(())
    }
}
