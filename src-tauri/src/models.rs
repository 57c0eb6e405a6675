//! The data that crosses the bridge to the UI. Nothing here ever holds a refresh token;
//! access and ID tokens cross only through `reveal_token`, on the user's explicit request.

use serde::{Deserialize, Serialize};

use crate::demo::DemoCredentials;

/// What the sidebar, the banners and the About box need.
#[derive(Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub commit: &'static str,
    pub profiles: Vec<ProfileSummary>,
    pub active_profile: String,
    pub provider_label: String,
    pub demo: Option<DemoCredentials>,
    pub vault: VaultView,
    pub api_bases: Vec<String>,
    pub licences: &'static str,
}

#[derive(Serialize)]
pub struct ProfileSummary {
    pub name: String,
    pub kind: &'static str,
    pub issuer: String,
    pub removable: bool,
}

#[derive(Serialize)]
pub struct VaultView {
    pub store: String,
    pub ok: bool,
    pub message: String,
}

/// The session as the UI draws it; sent as the `session` event on every change.
#[derive(Clone, Serialize, Default)]
pub struct SessionView {
    /// `signed_out`, `signing_in`, `signed_in`, `refreshing` or `error`.
    pub state: &'static str,
    pub reason: Option<String>,
    pub error: Option<String>,
    pub authorize_url: Option<String>,
    pub redirect_uri: Option<String>,
    pub started_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub user: Option<UserView>,
    pub tokens: Vec<TokenTimeline>,
    pub refresh_margin_secs: u64,
    pub profile: String,
    pub issuer: String,
    pub client_id: String,
    pub store: String,
}

#[derive(Clone, Serialize)]
pub struct UserView {
    pub name: Option<String>,
    pub username: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub sub: String,
}

#[derive(Clone, Serialize)]
pub struct TokenTimeline {
    pub name: &'static str,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// One call from the API console.
#[derive(Deserialize)]
pub struct ApiCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub token: String,
    pub scheme: String,
    pub allow_any_origin: bool,
}

#[derive(Serialize)]
pub struct ApiResult {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed_ms: u64,
    /// For a 401/403: why, from `WWW-Authenticate` or the body.
    pub why: Option<String>,
}

/// The "Connect your Cognito user pool" / generic OIDC form.
#[derive(Deserialize)]
pub struct ProfileForm {
    pub name: String,
    pub kind: String,
    pub client_id: String,
    pub region: String,
    pub user_pool_id: String,
    pub domain: String,
    pub issuer: String,
    pub scopes: Vec<String>,
    pub ports: Vec<u16>,
    pub api_base_urls: Vec<String>,
}

#[derive(Serialize)]
pub struct ProfileSaved {
    pub message: String,
    pub redirect_uris: Vec<String>,
    pub sign_out_uris: Vec<String>,
}
