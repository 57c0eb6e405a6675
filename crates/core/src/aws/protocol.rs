//! The wire of every AWS call: one exchange (send, transport failures as
//! [`AwsError::Unreachable`], a body of bounded size, so a hostile or broken endpoint cannot
//! make Latchkey buffer without end), and the AWS JSON 1.1 protocol that the user pool's API
//! and the Cognito identity service share (an `X-Amz-Target` POST; `{"__type", "message"}`).

use url::Url;

use super::error::{quote_service_message, AwsError, AwsService};

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

    /// The status and error-type header of `response`, its body not read yet.
    pub(crate) fn head(response: &reqwest::Response) -> Answer {
        Answer {
            status: response.status().as_u16(),
            error_type_header: response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: Vec::new(),
        }
    }
}

/// Why a body was not read in full.
pub(crate) enum BodyError {
    /// Larger than the limit (by `Content-Length`, or while reading).
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// An AWS JSON 1.1 call: `POST` to `endpoint` with `X-Amz-Target: {target}` (for example
/// `AWSCognitoIdentityService.GetId`) and the JSON `body`.
pub(crate) fn json_1_1_request(
    http: &reqwest::Client,
    endpoint: &Url,
    target: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    http.post(endpoint.clone())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body)
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
    let response = request.send().await.map_err(|e| unreachable(&e))?;
    let mut answer = Answer::head(&response);
    answer.body = read_body(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(service),
            BodyError::Transport(e) => unreachable(&e),
        })?;
    Ok(answer)
}

/// Reads a body of at most `limit` bytes (by its `Content-Length` before reading, and while
/// reading).
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(service: AwsService) -> AwsError {
    AwsError::BadResponse {
        service,
        detail: format!("the body is larger than {} KiB", MAX_RESPONSE_BYTES / 1024),
    }
}

/// The service's error code and message, per awsJson1_1.
pub(crate) fn error_code_and_message(answer: &Answer) -> (String, String) {
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let raw = answer
        .error_type_header
        .clone()
        .or_else(|| text("code"))
        .or_else(|| text("__type"))
        .unwrap_or_default();
    let code = raw.split(':').next().unwrap_or_default();
    let code = code
        .rsplit('#')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let message = text("message")
        .or_else(|| text("Message"))
        .or_else(|| text("errorMessage"))
        .unwrap_or_default();
    (code, quote_service_message(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(header: Option<&str>, body: &str) -> Answer {
        Answer {
            status: 400,
            error_type_header: header.map(str::to_owned),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn cognitos_throttling_answer_is_read_as_throttling_whatever_its_status() {
        let path = format!(
            "{}/../devidp/fixtures/error_codes.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let fixtures: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for entry in ["throttled_identity", "throttled_user_pool"] {
            // HTTP 400 with the code in the body, no x-amzn-ErrorType header.
            let model = &fixtures[entry];
            let answer = Answer {
                status: model["status"].as_u64().unwrap() as u16,
                error_type_header: None,
                body: model["body"].to_string().into_bytes(),
            };
            assert_eq!(answer.status, 400, "{entry}");
            assert_eq!(
                error_code_and_message(&answer).0,
                "TooManyRequestsException",
                "{entry}"
            );
        }
    }

    #[test]
    fn error_codes_follow_aws_json_1_1() {
        let plain = answer(
            None,
            r#"{"__type":"NotAuthorizedException","message":"Nope."}"#,
        );
        assert_eq!(
            error_code_and_message(&plain),
            ("NotAuthorizedException".into(), "Nope".into())
        );
        let namespaced = answer(
            None,
            r#"{"__type":"com.amazonaws.cognito.identity.model#ResourceNotFoundException","Message":"gone"}"#,
        );
        assert_eq!(
            error_code_and_message(&namespaced).0,
            "ResourceNotFoundException"
        );
        let header = answer(
            Some("TooManyRequestsException:http://internal.amazon.com/"),
            "{}",
        );
        assert_eq!(
            error_code_and_message(&header).0,
            "TooManyRequestsException"
        );
    }
}
