//! The data that crosses the bridge to the UI. Nothing here ever holds a refresh token;
//! access and ID tokens cross only through `reveal_token`, and the AWS secret access key only
//! through `reveal_aws`, on the user's explicit request (copies go to the clipboard from Rust).

use latchkey_core::config::ImportReview;
use latchkey_core::{ProbeReport, Tokens};
use serde::Serialize;

use crate::demo::DemoCredentials;
use crate::signed_out::SignedOutView;

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
    /// The profiles file could not be read at all (the app runs without saving to it).
    pub config_error: Option<String>,
    /// Where the profiles file is (messages name it).
    pub config_path: String,
    /// The active profile's expectations (`expect`), as written.
    pub expectations: Vec<String>,
    pub licences: &'static str,
    /// Who answers this user's tools (the app's agent or another), one line.
    pub agent: String,
    /// `ours`, `elsewhere` or `none`: who holds the sessions for the tools.
    pub agent_holder: &'static str,
    pub tray: TrayView,
}

/// The "keep running in the tray when the window closes" setting as it stands.
#[derive(Serialize)]
pub struct TrayView {
    /// The desktop shows tray icons.
    pub available: bool,
    /// Closing the window keeps Latchkey running in the tray.
    pub keep_in_tray: bool,
    /// Where there is no tray: why, and that closing the window quits.
    pub why_not: Option<String>,
}

#[derive(Serialize)]
pub struct ProfileSummary {
    pub name: String,
    pub kind: &'static str,
    pub issuer: String,
    pub removable: bool,
    /// Why the profile cannot be used, for one the file holds in an invalid form.
    pub invalid: Option<String>,
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
    /// Why nobody is signed in (signed out only): a sentence, and its kind for tests.
    pub signed_out: Option<SignedOutView>,
    pub error: Option<String>,
    pub authorize_url: Option<String>,
    /// The profile's browser is `none`: nothing was opened, the window copies the address.
    pub opens_nothing: bool,
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
    /// The profile's identity pool, when it has one (the AWS credentials view needs it).
    pub identity_pool: Option<String>,
    /// When the AWS credentials held for the user expire (none held: `None`).
    pub aws_expires_at: Option<i64>,
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

impl TokenTimeline {
    /// Issue and expiry times of the current ID and access tokens.
    pub fn of(tokens: &Tokens) -> Vec<TokenTimeline> {
        vec![
            TokenTimeline {
                name: "ID token",
                issued_at: tokens.id_issued_at.timestamp(),
                expires_at: tokens.id_expires_at.timestamp(),
            },
            TokenTimeline {
                name: "Access token",
                issued_at: tokens.access_issued_at.timestamp(),
                expires_at: tokens.access_expires_at.timestamp(),
            },
        ]
    }
}

/// A console response as the window shows it.
#[derive(Serialize)]
pub struct ApiResult {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed_ms: u64,
    /// The body's size in bytes, as received.
    pub size_bytes: u64,
    /// The API sent more than the profile's `api_response_limit_mib`: `body` is its start.
    pub truncated: bool,
    /// "truncated at N MiB …", for the console to show when `truncated`.
    pub truncation_note: Option<String>,
    /// For a 401/403: why, from `WWW-Authenticate` or the body.
    pub why: Option<String>,
}

impl From<latchkey_core::ApiResponse> for ApiResult {
    fn from(response: latchkey_core::ApiResponse) -> Self {
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let why = matches!(response.status, 401 | 403).then(|| {
            response
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| body.chars().take(300).collect())
        });
        ApiResult {
            truncated: response.truncated,
            truncation_note: response.truncation_note(),
            status: response.status,
            headers: response.headers,
            size_bytes: response.body.len() as u64,
            body,
            elapsed_ms: u64::try_from(response.elapsed.as_millis()).unwrap_or(u64::MAX),
            why,
        }
    }
}

#[derive(Serialize)]
pub struct ProfileSaved {
    pub message: String,
    pub redirect_uris: Vec<String>,
    pub sign_out_uris: Vec<String>,
    pub probe: ProbeReport,
}

/// A secret (a token, AWS credentials) put on the clipboard, and when it will be cleared.
#[derive(Serialize)]
pub struct Copied {
    pub clears_in_secs: u64,
}

/// A profile of an imported file as the review shows it, with the words of the button that
/// saves it ("Replace profile NAME" when one of that name exists).
#[derive(Serialize)]
pub struct ImportReviewView {
    #[serde(flatten)]
    pub review: ImportReview,
    pub action: String,
}
