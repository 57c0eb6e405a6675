//! One HTTP exchange with an AWS endpoint: send, turn transport failures into
//! [`AwsError::Unreachable`], and read a body of bounded size (a hostile or broken endpoint
//! cannot make Latchkey buffer without end).

use url::Url;

use crate::aws::error::{AwsError, AwsService};

/// The largest response body read from an identity or STS endpoint. Real answers are a few
/// kilobytes (a session token is at most about 2 KB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A response read in full: status, the headers the callers look at, and the body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) error_type_header: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `request` and reads the answer, at most [`MAX_RESPONSE_BYTES`] of body.
pub(crate) async fn exchange(
    service: AwsService,
    endpoint: &Url,
    request: reqwest::RequestBuilder,
) -> Result<Answer, AwsError> {
    let unreachable = |err: &reqwest::Error| AwsError::Unreachable {
        service,
        endpoint: endpoint.origin().ascii_serialization(),
        detail: if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else {
            "the request failed"
        },
    };
    let mut response = request.send().await.map_err(|e| unreachable(&e))?;
    let status = response.status().as_u16();
    let error_type_header = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large(service));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large(service));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        error_type_header,
        body,
    })
}

fn too_large(service: AwsService) -> AwsError {
    AwsError::BadResponse {
        service,
        detail: format!("the body is larger than {} KiB", MAX_RESPONSE_BYTES / 1024),
    }
}
