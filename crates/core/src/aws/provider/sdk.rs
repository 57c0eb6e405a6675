//! The AWS SDK's side: the provider is an `aws_credential_types` `ProvideCredentials`, so a
//! Rust program that embeds Latchkey hands it to any AWS SDK client as its credentials.

use aws_credential_types::provider::{self, error::CredentialsError, future};
use aws_credential_types::Credentials;

use super::{AwsCredentialsProvider, IdTokenSource};
use crate::aws::AwsCredentials;
use crate::error::{Error, ErrorKind};

/// The name the SDK records as the credentials' provider.
const PROVIDER_NAME: &str = "Latchkey";

impl<S: IdTokenSource> provider::ProvideCredentials for AwsCredentialsProvider<S> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let creds = self.credentials().await.map_err(sdk_error)?;
            Ok(sdk_credentials(&creds))
        })
    }
}

/// The SDK's form of the credentials (its `Debug` redacts the secrets too).
fn sdk_credentials(creds: &AwsCredentials) -> Credentials {
    Credentials::new(
        &creds.access_key_id,
        creds.secret_access_key.expose(),
        Some(creds.session_token.expose().to_owned()),
        Some(creds.expiration.into()),
        PROVIDER_NAME,
    )
}

/// Latchkey's error as the SDK's, the error itself its source (its message says what happened
/// and what to do, never a secret; its `ErrorKind` can be read back): no session or no
/// identity pool is "not loaded" (a chain of providers tries its next one), a bad `[aws]`
/// table is a configuration error, anything else the provider's failure.
fn sdk_error(error: Error) -> CredentialsError {
    match error.kind() {
        ErrorKind::NotSignedIn | ErrorKind::SessionExpired => CredentialsError::not_loaded(error),
        ErrorKind::Config => CredentialsError::invalid_configuration(error),
        _ => CredentialsError::provider_error(error),
    }
}
