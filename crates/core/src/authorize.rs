//! The authorization request: PKCE S256 (always), independent random `state` and `nonce`, and
//! a URL that is checked before any browser sees it.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use url::Url;

use crate::config::{is_reserved_param, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::ProviderMetadata;
use crate::secret::Nonce;

/// Everything the flow must remember between opening the browser and redeeming the code.
pub struct AuthorizationRequest {
    /// The authorize URL (or the sign-up or logout page the entry asks for) with every query
    /// parameter; it carries `state`, `nonce` and the PKCE challenge, so it is not logged.
    pub url: Url,
    /// The loopback callback address sent as `redirect_uri`; the code redemption must send it
    /// again, unchanged.
    pub redirect_uri: String,
    /// The random `state` sent; the callback must return it, or it is not this sign-in's.
    pub state: CsrfToken,
    /// The random `nonce` sent; the ID token's `nonce` claim must equal it.
    pub nonce: Nonce,
    /// The PKCE S256 code verifier, sent with the code to the token endpoint (never to the
    /// browser).
    pub pkce_verifier: PkceCodeVerifier,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries state, nonce and challenge: keep it out of Debug output.
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The page the browser opens for an authorization request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// The sign-in page (a live browser session at the provider may sign in without asking).
    #[default]
    SignIn,
    /// Cognito's `/signup` page; elsewhere `prompt=create` (OpenID Connect's user registration).
    SignUp,
    /// End the provider's browser session and ask who signs in: Cognito's
    /// `/logout?client_id&redirect_uri&response_type=code…` form, which clears the `cognito`
    /// cookie and lands on the login page; elsewhere `prompt=login` (OIDC Core 3.1.2.1).
    AnotherUser,
}

/// The `prompt` values `entry` needs where no page of the provider's does the job.
fn prompt(
    metadata: &ProviderMetadata,
    profile: &Profile,
    entry: Entry,
    cognito_logout_form: bool,
) -> Vec<&'static str> {
    let mut prompt = Vec::new();
    if entry == Entry::SignUp && metadata.signup_endpoint.is_none() {
        prompt.push("create");
    }
    if entry == Entry::AnotherUser && !cognito_logout_form {
        prompt.push("login");
    }
    if entry != Entry::SignUp
        && !profile.is_cognito()
        && profile.scopes.iter().any(|s| s == "offline_access")
    {
        // OIDC Core §11: offline_access is honoured only with prompt=consent; without it a
        // conforming provider drops the scope and issues no refresh token.
        prompt.push("consent");
    }
    prompt
}

/// Build the URL the browser opens for `redirect_uri`: the authorize endpoint, or the page
/// `entry` asks for, with the profile's `authorize_params` and this sign-in's `extra` parameters
/// (`idp_identifier`, `lang`, …) after Latchkey's own; an extra parameter replaces the
/// profile's of the same name.
pub fn build_request(
    metadata: &ProviderMetadata,
    profile: &Profile,
    redirect_uri: &str,
    entry: Entry,
    extra: &[(String, String)],
) -> Result<AuthorizationRequest> {
    if let Some((key, _)) = extra.iter().find(|(k, _)| is_reserved_param(k)) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("the authorize parameter `{key}` is set by Latchkey and cannot be given as an extra parameter; remove it (use the profile's `identity_provider` or `scopes` field where one exists)."),
        ));
    }
    let (challenge, verifier, state) = loop {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        // C8: state must never equal the verifier (it travels through the browser).
        if state.secret() != verifier.secret() {
            break (challenge, verifier, state);
        }
    };
    let nonce = Nonce::new_random();
    let cognito_logout_form = metadata
        .end_session_endpoint
        .as_ref()
        .filter(|_| metadata.cognito_logout && entry == Entry::AnotherUser);
    let mut url = match (entry, &metadata.signup_endpoint, cognito_logout_form) {
        (Entry::SignUp, Some(signup), _) => signup.clone(),
        (Entry::AnotherUser, _, Some(logout)) => logout.clone(),
        _ => metadata.authorization_endpoint.clone(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &profile.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &profile.scopes.join(" "))
            .append_pair("state", state.secret())
            .append_pair("nonce", nonce.expose())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        if let Some(idp) = &profile.identity_provider {
            q.append_pair("identity_provider", idp);
        }
        let prompt = prompt(metadata, profile, entry, cognito_logout_form.is_some());
        if !prompt.is_empty() {
            q.append_pair("prompt", &prompt.join(" "));
        }
        let from_profile = profile
            .authorize_params
            .iter()
            .filter(|(key, _)| !extra.iter().any(|(k, _)| k == *key));
        for (key, value) in from_profile.chain(extra.iter().map(|(k, v)| (k, v))) {
            q.append_pair(key, value);
        }
    }
    validate_browser_url(&url)?;
    Ok(AuthorizationRequest {
        url,
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce,
        pkce_verifier: verifier,
    })
}

/// Signing in as another user on Cognito without relying on what its `/logout` form carries
/// on to the login page (documented: `client_id`, `redirect_uri`, `response_type`, `scope`,
/// `state`; PKCE's challenge and the nonce are not): the browser opens
/// `/logout?client_id&logout_uri=<the profile's sign-out URL>`, and when that URL is served by
/// the sign-in's own listener (same host and port as `redirect_uri`), the listener sends the
/// browser on to the complete authorize URL. `None` when the sign-out URL is elsewhere.
pub struct LogoutBounce {
    /// What the browser opens first.
    pub logout_url: Url,
    /// The sign-out URL's path, answered by the listener with a redirect.
    pub path: String,
}

impl LogoutBounce {
    pub fn for_sign_in(
        metadata: &ProviderMetadata,
        profile: &Profile,
        redirect_uri: &str,
    ) -> Option<LogoutBounce> {
        let logout = metadata
            .end_session_endpoint
            .as_ref()
            .filter(|_| metadata.cognito_logout)?;
        let sign_out = profile.sign_out_uri.as_ref()?;
        let callback = Url::parse(redirect_uri).ok()?;
        let same_listener = sign_out.scheme() == "http"
            && sign_out.host_str() == callback.host_str()
            && sign_out.port_or_known_default() == callback.port_or_known_default()
            && sign_out.path() != callback.path();
        if !same_listener {
            return None;
        }
        let mut logout_url = logout.clone();
        logout_url
            .query_pairs_mut()
            .append_pair("client_id", &profile.client_id)
            .append_pair("logout_uri", sign_out.as_str());
        Some(LogoutBounce {
            logout_url,
            path: sign_out.path().to_owned(),
        })
    }
}

/// C7: only https (or http to a loopback development provider), no control characters, no
/// shell metacharacters that matter (the URL is passed as one argv element anyway).
pub fn validate_browser_url(url: &Url) -> Result<()> {
    let s = url.as_str();
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok {
        return Err(Error::new(ErrorKind::Browser, format!("refusing to open a `{}:` URL: only https (or http to a loopback development provider) is opened in the browser. Check the provider's authorization endpoint.", url.scheme())));
    }
    if s.chars().any(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '<' | '>' | '\\' | '|' | '^' | '{' | '}'
            )
    }) || s.starts_with('-')
    {
        return Err(Error::new(ErrorKind::Browser, "refusing to open the authorization URL: it contains control or shell characters. Check the provider's authorization endpoint."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ProviderMetadata {
        let p = Profile::cognito(
            "t",
            "eu-west-1",
            "eu-west-1_abc",
            Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
            "cid",
        );
        ProviderMetadata::cognito(&p).unwrap()
    }

    #[test]
    fn b2_every_request_uses_s256_with_a_fresh_long_verifier() {
        let p = Profile::cognito(
            "t",
            "eu-west-1",
            "eu-west-1_abc",
            Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
            "cid",
        );
        let a = build_request(
            &meta(),
            &p,
            "http://localhost:53682/callback",
            Entry::SignIn,
            &[],
        )
        .unwrap();
        let b = build_request(
            &meta(),
            &p,
            "http://localhost:53682/callback",
            Entry::SignIn,
            &[],
        )
        .unwrap();
        let q: std::collections::HashMap<_, _> = a.url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["code_challenge"].len() >= 43);
        let v = a.pkce_verifier.secret();
        assert!((43..=128).contains(&v.len()));
        assert_ne!(a.pkce_verifier.secret(), b.pkce_verifier.secret());
        assert_ne!(a.state.secret(), b.state.secret());
        assert_ne!(a.state.secret(), a.nonce.expose());
        // C8: the state is not the verifier
        assert_ne!(a.state.secret(), a.pkce_verifier.secret());
        assert_eq!(q["state"], *a.state.secret());
        assert_eq!(q["scope"], "openid email profile");
    }

    #[test]
    fn c7_non_https_and_control_characters_refused() {
        assert!(validate_browser_url(&Url::parse("file:///etc/passwd").unwrap()).is_err());
        assert!(
            validate_browser_url(&Url::parse("http://evil.example/authorize").unwrap()).is_err()
        );
        assert!(
            validate_browser_url(&Url::parse("https://ok.example/authorize?x=1").unwrap()).is_ok()
        );
        assert!(validate_browser_url(&Url::parse("http://127.0.0.1:9/authorize").unwrap()).is_ok());
        assert!(crate::provider::validate_endpoint(
            "authorization_endpoint",
            "https://a.example/x\n$(reboot)"
        )
        .is_err());
        assert!(crate::provider::validate_endpoint(
            "authorization_endpoint",
            "javascript:alert(1)"
        )
        .is_err());
    }
}
