//! The AWS SDKs' container-credentials endpoint on 127.0.0.1 (`latchkey aws serve`): `GET
//! /credentials` with this run's bearer token answers the credentials its source holds now.
//!
//! What the SDKs expect (botocore `ContainerMetadataFetcher`, aws-config `ecs`): they read
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` (plain http only to a loopback address) and send
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the whole `Authorization` header; a 200 carries a JSON
//! object with `AccessKeyId`, `SecretAccessKey`, `Token` and an RFC 3339 `Expiration` (plus
//! `AccountId`, `RoleArn`). The SDKs fetch again before `Expiration`, so each request asks the
//! source afresh (its cache makes that cheap) and credentials renew across an expiry.
//!
//! Checks, in order: the `Host` header must name this socket (`127.0.0.1:PORT` or
//! `localhost:PORT`; else 400, so a web page that rebinds its own name to 127.0.0.1 is refused
//! even before the token); the token (compared in constant time; missing or wrong: 401, empty
//! body); the path (404); the method, `GET` only (405). Nothing here logs the token.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::credentials::rfc3339;
use super::AwsCredentials;
use crate::loopback::{read_head, RequestHead, READ_TIMEOUT};
use crate::secret::{constant_time_eq, EndpointToken, SecretToken};

/// The path the endpoint answers on (the rest of `AWS_CONTAINER_CREDENTIALS_FULL_URI`).
pub const CREDENTIALS_PATH: &str = "/credentials";
/// Connections served at once; one more is closed at once (a flood cannot grow memory).
const MAX_CONNECTIONS: usize = 32;

/// The answer of a [`CredentialsSource`]: the credentials, or a message for the SDK's user.
pub type CredentialsFuture = Pin<Box<dyn Future<Output = Result<AwsCredentials, String>> + Send>>;
/// Where each request's credentials come from (the agent, or a session's provider).
pub type CredentialsSource = Arc<dyn Fn() -> CredentialsFuture + Send + Sync>;

/// A running endpoint; it stops when dropped.
pub struct ContainerEndpoint {
    addr: SocketAddr,
    token: EndpointToken,
    accepting: JoinHandle<()>,
}

impl ContainerEndpoint {
    /// Binds 127.0.0.1 on a free port with a fresh random token and starts serving (needs a
    /// tokio runtime).
    pub async fn start(source: CredentialsSource) -> std::io::Result<ContainerEndpoint> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let token = EndpointToken::new_random();
        let rules = Arc::new(Rules {
            port: addr.port(),
            token: token.clone(),
            source,
        });
        let accepting = tokio::spawn(accept_loop(listener, rules));
        Ok(ContainerEndpoint {
            addr,
            token,
            accepting,
        })
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`: `http://127.0.0.1:PORT/credentials`.
    pub fn full_uri(&self) -> String {
        format!("http://{}{CREDENTIALS_PATH}", self.addr)
    }

    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`: this run's bearer token.
    pub fn authorization_token(&self) -> &EndpointToken {
        &self.token
    }
}

impl Drop for ContainerEndpoint {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// What a request must carry, and where the credentials come from.
struct Rules {
    port: u16,
    token: EndpointToken,
    source: CredentialsSource,
}

async fn accept_loop(listener: TcpListener, rules: Arc<Rules>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // dropped: closed at once
        };
        tokio::spawn(serve_connection(stream, Arc::clone(&rules), slot));
    }
}

async fn serve_connection(mut stream: TcpStream, rules: Arc<Rules>, _slot: OwnedSemaphorePermit) {
    let reply = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => rules.answer(&head).await,
        Ok(Err(refused)) => Reply::empty(refused.status()),
        Err(_) => return,
    };
    let _ = stream.write_all(&reply.to_bytes()).await;
    let _ = stream.shutdown().await;
}

impl Rules {
    async fn answer(&self, head: &RequestHead) -> Reply {
        if !self.names_this_socket(head.host.as_deref()) {
            tracing::debug!("aws serve: refused a request for another host");
            return Reply::empty(400);
        }
        if !self.authorized(head.authorization.as_ref()) {
            tracing::debug!("aws serve: refused a request without the right token");
            return Reply::empty(401);
        }
        let path = head.target.split('?').next().unwrap_or_default();
        if path != CREDENTIALS_PATH {
            return Reply::empty(404);
        }
        if head.method != "GET" {
            return Reply::empty(405);
        }
        match (self.source)().await {
            Ok(creds) => Reply::json(200, &ContainerCredentials::of(&creds)),
            Err(message) => {
                tracing::warn!("aws serve: no credentials to hand out: {message}");
                let body =
                    serde_json::json!({ "Code": "CredentialsUnavailable", "Message": message });
                Reply::json(500, &body)
            }
        }
    }

    fn names_this_socket(&self, host: Option<&str>) -> bool {
        let ours = |name: &str| host == Some(format!("{name}:{}", self.port).as_str());
        ours("127.0.0.1") || ours("localhost")
    }

    fn authorized(&self, given: Option<&SecretToken>) -> bool {
        given.is_some_and(|given| {
            constant_time_eq(given.expose().as_bytes(), self.token.expose().as_bytes())
        })
    }
}

/// The JSON the SDKs' container provider parses (ECS's task-role answer).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<&'a str>,
}

impl<'a> ContainerCredentials<'a> {
    fn of(creds: &'a AwsCredentials) -> Self {
        ContainerCredentials {
            access_key_id: &creds.access_key_id,
            secret_access_key: creds.secret_access_key.expose(),
            token: creds.session_token.expose(),
            expiration: rfc3339(creds.expiration),
            account_id: creds.role_arn.as_deref().and_then(account_of),
            role_arn: creds.role_arn.as_deref(),
        }
    }
}

/// The account of an IAM ARN (`arn:aws:iam::123456789012:role/Dev`), when it has 12 digits.
fn account_of(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// One response; the connection closes after it.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Vec::new(),
        }
    }

    fn json(status: u16, body: &impl Serialize) -> Reply {
        Reply {
            status,
            body: serde_json::to_vec(body).expect("plain strings serialise"),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            self.body.len()
        );
        if !self.body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if self.status == 405 {
            head.push_str("Allow: GET\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_comes_from_a_twelve_digit_arn_account() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:role/Dev"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam::12:role/Dev"), None);
        assert_eq!(account_of("not an arn"), None);
    }
}
