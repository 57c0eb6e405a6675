//! Sign-in: loopback listener first, then the browser, then the code exchange, verification
//! and the keychain write (under the profile lock, after any in-flight refresh).

use std::time::Duration;

use chrono::Utc;
use tokio::sync::oneshot;

use super::answer::Answering;
use super::token_set::TokenSet;
use super::{Session, SessionState, UserSummary};
use crate::authorize::{self, AuthorizationRequest, Entry, LogoutBounce};
use crate::error::{Error, ErrorKind, Result};
use crate::loopback::{CallbackExpectations, CallbackOutcome, LoopbackListener};
use crate::provider::Provider;
use crate::secret::AuthorizationCode;
use crate::token_endpoint::{self, Grant};

/// Options for one sign-in.
#[derive(Debug, Clone, Default)]
pub struct SignInOptions {
    /// Which page the browser opens: sign-in (the default), sign-up, or "sign in as another
    /// user" (the provider's browser session ends first).
    pub entry: Entry,
    /// Extra authorize parameters for this sign-in only, after the profile's own
    /// (`authorize_params`); Latchkey's own parameters ([`crate::RESERVED_PARAMS`]) are refused.
    pub extra_params: Vec<(String, String)>,
    /// How long to wait for the callback (`None`: the profile's `sign_in_timeout`).
    pub timeout: Option<Duration>,
    /// Use exactly this port instead of the profile's list.
    pub port: Option<u16>,
    /// Do not open a browser; the URL is in `SessionState::SigningIn` for the caller to show.
    pub no_browser: bool,
}

impl Session {
    /// Cancel a running sign-in (it returns `ErrorKind::Cancelled` and releases the port).
    pub fn cancel_sign_in(&self) {
        if let Some(tx) = self.inner.sign_in_cancel.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    /// Finish the running sign-in with the address its browser ended on, pasted by the user
    /// (`latchkey login --paste`: SSH without port forwarding, the browser elsewhere). The
    /// address goes through the listener's own checks (redirect URI, `state` first, `iss`,
    /// `error`), then the code is redeemed with this sign-in's PKCE verifier and the tokens
    /// verified as for any sign-in. A refused address is an error here and the sign-in keeps
    /// waiting (a wrong `state` fails [`crate::CheckName::State`]).
    pub fn submit_callback(&self, address: &str) -> Result<()> {
        let paste = self.inner.sign_in_paste.lock().unwrap().clone();
        match paste {
            Some(paste) => paste.submit(address),
            None => Err(Error::no_sign_in_waiting()),
        }
    }

    /// Browser sign-in: loopback listener first, then the browser, then code exchange and
    /// verification. A failure leaves an existing session as it was.
    pub async fn sign_in(&self, opts: SignInOptions) -> Result<UserSummary> {
        let previous = self.state();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        {
            let mut slot = self.inner.sign_in_cancel.lock().unwrap();
            if slot.as_ref().is_some_and(|s| !s.is_closed()) {
                return Err(Error::new(
                    ErrorKind::Busy,
                    "a sign-in is already running; finish or cancel it first.",
                ));
            }
            *slot = Some(cancel_tx);
        }
        let result = self.browser_flow(opts, cancel_rx).await;
        self.inner.sign_in_cancel.lock().unwrap().take();
        self.inner.sign_in_paste.lock().unwrap().take();
        if let Err(e) = &result {
            let has_session = self.inner.current.lock().unwrap().is_some();
            if has_session && matches!(previous, SessionState::SignedIn { .. }) {
                self.set_state(previous);
            } else {
                self.set_state(SessionState::Error {
                    kind: e.kind(),
                    message: e.message().to_owned(),
                });
            }
        }
        result
    }

    async fn browser_flow(
        &self,
        opts: SignInOptions,
        mut cancel_rx: oneshot::Receiver<()>,
    ) -> Result<UserSummary> {
        let profile = &self.inner.profile;
        let provider = self.provider().await?;
        let ports = opts.port.map_or_else(|| profile.ports.clone(), |p| vec![p]);
        let listener =
            LoopbackListener::bind(&profile.redirect_host, &profile.redirect_path, &ports).await?;
        let redirect_uri = listener.redirect_uri();
        let bounce = match opts.entry {
            Entry::AnotherUser => {
                LogoutBounce::for_sign_in(&provider.metadata, profile, &redirect_uri)
            }
            _ => None,
        };
        let entry = match bounce {
            // The complete authorize request follows the logout page through the listener.
            Some(_) => Entry::SignIn,
            None => opts.entry,
        };
        let req = authorize::build_request(
            &provider.metadata,
            profile,
            &redirect_uri,
            entry,
            &opts.extra_params,
        )?;
        let browser_url = bounce
            .as_ref()
            .map_or_else(|| req.url.clone(), |b| b.logout_url.clone());
        authorize::validate_browser_url(&browser_url)?;
        let mut callbacks = listener.serve(CallbackExpectations {
            state: req.state.secret().clone(),
            issuer: provider.metadata.issuer.clone(),
            iss_required: provider
                .metadata
                .authorization_response_iss_parameter_supported,
            bounce: bounce.map(|b| (b.path, req.url.clone())),
        })?;
        *self.inner.sign_in_paste.lock().unwrap() = Some(callbacks.paste());
        let timeout = opts.timeout.unwrap_or(profile.sign_in_timeout);
        self.set_state(SessionState::SigningIn {
            authorize_url: browser_url.clone(),
            redirect_uri,
            expires_at: Utc::now() + chrono::Duration::from_std(timeout).unwrap_or_default(),
        });
        if !opts.no_browser {
            if let Err(e) = self.inner.browser.open(&browser_url) {
                // C6: keep waiting; the URL is in the SigningIn state for the user to open.
                tracing::warn!(kind = ?e.kind(), "browser did not open; waiting for the user to open the URL");
            }
        }
        let outcome = tokio::select! {
            r = callbacks.next() => r,
            _ = tokio::time::sleep(timeout) => Err(Error::new(ErrorKind::Timeout, format!("the sign-in did not finish within {} s; the callback port is closed. Sign in again (and finish the browser step sooner).", timeout.as_secs()))),
            _ = &mut cancel_rx => Err(Error::new(ErrorKind::Cancelled, "the sign-in was cancelled; the callback port is closed.")),
        };
        // The port closes while the code is redeemed; it is released before this returns.
        let closing = tokio::spawn(callbacks.close());
        let result = match outcome {
            Ok(CallbackOutcome::Code(code)) => self.redeem(&provider, code, &req).await,
            Ok(CallbackOutcome::Failed(e)) | Err(e) => Err(e),
        };
        let _ = closing.await;
        result
    }

    async fn redeem(
        &self,
        provider: &Provider,
        code: AuthorizationCode,
        req: &AuthorizationRequest,
    ) -> Result<UserSummary> {
        let profile = &self.inner.profile;
        // After any refresh in flight (it must not overwrite this sign-in), and under the
        // profile lock from here to the keychain write: the stored item is read while the code
        // is exchanged (nothing can write it in between), so what follows the exchange is one
        // keychain write and its check.
        let _gate = self.inner.refresh_gate.lock().await;
        let lock = self.profile_lock().await?;
        let base = lock.as_ref().map(|_| self.read_write_base());
        let grant = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: &req.redirect_uri,
            verifier: &req.pkce_verifier,
        };
        let resp = token_endpoint::request(
            self.http(),
            &provider.metadata.token_endpoint,
            &profile.client_id,
            grant,
        )
        .await?;
        let now = self.now();
        let nonce = req.nonce.expose();
        let checked = self
            .check_answer(provider, &resp, Answering::SignIn { nonce }, now)
            .await?;
        let (Some(verified), Some(id_token)) = (checked.id_token, resp.id_token) else {
            return Err(Error::internal(
                "a checked sign-in answer without its ID token",
            ));
        };
        let mut set = TokenSet {
            user: UserSummary::from_jwt(&verified.jwt),
            identity: verified.identity,
            id_token,
            access_token: resp.access_token,
            refresh_token: resp.refresh_token,
            id_exp: verified.exp,
            id_iat: verified.iat,
            access_exp: checked.access.expires_at,
            access_iat: checked.access.issued_at,
            id_renewable: true,
            refresh_stored_since: now,
            generation: 0,
            stored: false,
        };
        let base = match base {
            Some(read) => read.await.ok(),
            None => None,
        };
        self.persist_on(&mut set, base).await;
        let user = set.user.clone();
        let state = self.signed_in_state(&set);
        *self.inner.current.lock().unwrap() = Some(set);
        self.set_state(state);
        tracing::info!("signed in");
        Ok(user)
    }
}
