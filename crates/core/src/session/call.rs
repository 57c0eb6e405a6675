//! `Session::call`: an API call with the session's token, refreshed once and retried when the
//! API answers 401 (the token may have been revoked or rotated early); or signed with the
//! AWS credentials (SigV4, `aws`). `held_secrets` names what a record of a call must not hold.

use super::Session;
use crate::api::{self, ApiRequest, ApiResponse, Credential, HeldSecrets};
use crate::config::Scheme;
use crate::error::Result;

impl Session {
    /// Send `req` with the configured token in its header (`Authorization` unless the request
    /// or the profile names another); on 401 refresh once and retry. With [`Scheme::Sigv4`],
    /// sign it with the AWS credentials instead (same origin rules).
    pub async fn call(&self, req: ApiRequest) -> Result<ApiResponse> {
        let profile = self.profile();
        api::check_target(&req, &profile.api_base_urls)?;
        let method = api::method(&req)?;
        let which = req.token.unwrap_or(profile.api_token);
        let scheme = req.scheme.unwrap_or(profile.api_scheme);
        if scheme == Scheme::Sigv4 {
            return self.call_signed(&req, &method).await;
        }
        let header = req
            .token_header
            .as_deref()
            .unwrap_or(&profile.api_token_header);
        api::check_header_name(header)?;
        let token = self.token(which).await?;
        let seen = self.current_generation();
        let credential = Credential::Token(&token, scheme, header);
        let limit = profile.api_response_limit_mib;
        let first = api::send(self.http(), &req, &method, credential, limit).await?;
        let Some(seen) = seen.filter(|_| first.status == 401) else {
            return Ok(first);
        };
        tracing::debug!("API answered 401; refreshing once and retrying");
        self.refresh_after(seen, true).await?;
        let token = self.token(which).await?;
        let credential = Credential::Token(&token, scheme, header);
        let mut second = api::send(self.http(), &req, &method, credential, limit).await?;
        second.retried_after_refresh = true;
        Ok(second)
    }

    /// The credentials this session holds right now: its ID, access and refresh tokens and,
    /// when it has fetched them, the AWS secret key and session token. Nothing is fetched or
    /// refreshed; the values stay inside [`HeldSecrets`].
    pub fn held_secrets(&self) -> HeldSecrets {
        let mut values = self.held_aws_secrets();
        if let Some(set) = self.inner.current.lock().unwrap().as_ref() {
            values.push(set.id_token.expose().to_owned());
            values.push(set.access_token.expose().to_owned());
            values.extend(set.refresh_token.iter().map(|r| r.expose().to_owned()));
        }
        HeldSecrets::new(values)
    }
}
