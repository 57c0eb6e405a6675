//! API calls with the session's token, refreshed once and retried when the API answers 401
//! (the token may have been revoked or rotated early); `Session::call`, which also signs with
//! AWS credentials, sits above in `aws::provider`. `held_secrets` names what a record of a call
//! must not hold.

use super::Session;
use crate::api::{self, ApiRequest, ApiResponse, Credential, HeldSecrets};
use crate::error::Result;
use crate::secret::SecretToken;

impl Session {
    /// The method of `req`, once its target is allowed (its origin in `api_base_urls`): the
    /// first step of every call, however it is authorised.
    pub(crate) fn checked_method(&self, req: &ApiRequest) -> Result<reqwest::Method> {
        api::check_target(req, &self.profile().api_base_urls)?;
        api::method(req)
    }

    /// Send `req` once with `token` (one the caller got elsewhere: the agent's) in the header
    /// the request or the profile names, after the same checks as [`Session::call`]; the
    /// caller retries with a renewed token on 401. Not for SigV4 (an error says so).
    pub async fn call_once_with(
        &self,
        req: &ApiRequest,
        token: &SecretToken,
    ) -> Result<ApiResponse> {
        let method = self.checked_method(req)?;
        let (scheme, header) = self.token_placement(req)?;
        let credential = Credential::Token(token, scheme, header);
        api::send(
            self.http(),
            req,
            &method,
            credential,
            self.profile().api_response_limit_mib,
        )
        .await
    }

    /// How a token goes into `req`: the scheme and header the request names, else the
    /// profile's (the header's name checked).
    fn token_placement<'a>(
        &'a self,
        req: &'a ApiRequest,
    ) -> Result<(crate::config::Scheme, &'a str)> {
        let profile = self.profile();
        let scheme = req.scheme.unwrap_or(profile.api_scheme);
        let header = req
            .token_header
            .as_deref()
            .unwrap_or(&profile.api_token_header);
        api::check_header_name(header)?;
        Ok((scheme, header))
    }

    /// Send `req` with the configured token in its header (`Authorization` unless the request
    /// or the profile names another); on 401 refresh once and retry.
    pub(crate) async fn call_with_token(
        &self,
        req: &ApiRequest,
        method: &reqwest::Method,
    ) -> Result<ApiResponse> {
        let profile = self.profile();
        let which = req.token.unwrap_or(profile.api_token);
        let (scheme, header) = self.token_placement(req)?;
        let token = self.token(which).await?;
        let seen = self.current_generation();
        let credential = Credential::Token(&token, scheme, header);
        let limit = profile.api_response_limit_mib;
        let first = api::send(self.http(), req, method, credential, limit).await?;
        let Some(seen) = seen.filter(|_| first.status == 401) else {
            return Ok(first);
        };
        tracing::debug!("API answered 401; refreshing once and retrying");
        self.refresh_after(seen, true).await?;
        let token = self.token(which).await?;
        let credential = Credential::Token(&token, scheme, header);
        let mut second = api::send(self.http(), req, method, credential, limit).await?;
        second.retried_after_refresh = true;
        Ok(second)
    }

    /// The credentials this session holds right now: its ID, access and refresh tokens and,
    /// when it has fetched them, the AWS secret key and session token (what its hooks hold).
    /// Nothing is fetched or refreshed; the values stay inside [`HeldSecrets`].
    pub fn held_secrets(&self) -> HeldSecrets {
        let mut values = self.secrets_held_by_hooks();
        if let Some(set) = self.inner.current.lock().unwrap().as_ref() {
            values.push(set.id_token.expose().to_owned());
            values.push(set.access_token.expose().to_owned());
            values.extend(set.refresh_token.iter().map(|r| r.expose().to_owned()));
        }
        HeldSecrets::new(values)
    }
}
