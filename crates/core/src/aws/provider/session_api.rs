//! The `Session` methods that need the AWS credentials provider, which sits above the session:
//! the constructor attaches its caching layer (so sign-out deletes the `:aws` item), and
//! `aws_credentials`, `aws_identity` and SigV4 calls forward to it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{AwsCredentialsProvider, AwsIdentity, IdTokenSource};
use crate::api::{self, ApiRequest, ApiResponse, Credential};
use crate::aws::{self, AwsCredentials, SigningScope};
use crate::config::{Profile, Scheme};
use crate::error::Result;
use crate::session::{Session, SessionOptions};

/// The SigV4 service of API Gateway, the default signing name for `call`.
const DEFAULT_SIGNING_SERVICE: &str = "execute-api";

impl Session {
    /// A signed-out session, its AWS credentials provider attached. Does no I/O: the keychain
    /// is first read by [`Session::restore`].
    pub fn new(profile: Profile, options: SessionOptions) -> Result<Session> {
        let session = Session::without_hooks(profile, options)?;
        AwsCredentialsProvider::for_session(&session);
        Ok(session)
    }

    /// The provider of this session's AWS credentials, for an AWS SDK client or to keep.
    pub fn aws_credentials_provider(&self) -> AwsCredentialsProvider {
        AwsCredentialsProvider::for_session(self)
    }

    /// Temporary AWS credentials from the profile's identity pool: see
    /// [`AwsCredentialsProvider::credentials`].
    pub async fn aws_credentials(&self) -> Result<AwsCredentials> {
        self.aws_credentials_provider().credentials().await
    }

    /// What the AWS credentials stand for: see [`AwsCredentialsProvider::identity`].
    pub async fn aws_identity(&self) -> Result<AwsIdentity> {
        self.aws_credentials_provider().identity().await
    }

    /// Send `req` with the configured token in its header (`Authorization` unless the request
    /// or the profile names another); on 401 refresh once and retry. With [`Scheme::Sigv4`],
    /// sign it with the AWS credentials instead (same origin rules).
    pub async fn call(&self, req: ApiRequest) -> Result<ApiResponse> {
        let method = self.checked_method(&req)?;
        match req.scheme.unwrap_or(self.profile().api_scheme) {
            Scheme::Sigv4 => {
                let provider = self.aws_credentials_provider();
                provider.call_signed(&req, &method).await
            }
            _ => self.call_with_token(&req, &method).await,
        }
    }
}

impl<S: IdTokenSource> AwsCredentialsProvider<S> {
    /// `req` signed with the AWS credentials (SigV4); when the API says they are expired or
    /// unknown, new ones are fetched once and the call is repeated.
    async fn call_signed(&self, req: &ApiRequest, method: &reqwest::Method) -> Result<ApiResponse> {
        let pool = self.identity_pool()?;
        let scope = SigningScope {
            service: req
                .aws_service
                .clone()
                .unwrap_or_else(|| DEFAULT_SIGNING_SERVICE.to_owned()),
            region: req.aws_region.clone().unwrap_or(pool.region),
        };
        let creds = self.credentials().await?;
        let first = self.send_signed(req, method, &creds, &scope).await?;
        if !aws::refuses_credentials(first.status, &first.headers) {
            return Ok(first);
        }
        tracing::debug!(
            status = first.status,
            "the API refused the AWS credentials; fetching new ones once and retrying"
        );
        let creds = self
            .credentials_replacing(Some(&creds.access_key_id))
            .await?;
        let mut second = self.send_signed(req, method, &creds, &scope).await?;
        second.retried_after_refresh = true;
        Ok(second)
    }

    async fn send_signed(
        &self,
        req: &ApiRequest,
        method: &reqwest::Method,
        creds: &AwsCredentials,
        scope: &SigningScope,
    ) -> Result<ApiResponse> {
        let at = self.signing_time();
        let limit = self.source.profile().api_response_limit_mib;
        let credential = Credential::Signed(creds, scope, at);
        api::send(self.source.http(), req, method, credential, limit).await
    }

    fn signing_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.now()).unwrap_or(0))
    }
}
