//! C14 for AWS credentials: with every log at TRACE (Latchkey, reqwest, hyper, rustls), the
//! whole identity chain — sign-in, both identity-pool flows, STS, a SigV4-signed API call —
//! writes no ID token, secret access key or session token.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use common::*;
use latchkey_core::aws::{
    self, caller_identity, sign_request, IdentityFlow, IdentityPoolSettings, SigningScope,
};
use latchkey_devidp::DEMO_USER_ROLE;
use url::Url;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c14_trace_logs_of_the_identity_chain_hold_no_aws_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,latchkey_devidp=off",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .unwrap();

    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().allow_classic_flow = true;
    });
    let session = signed_in(profile.clone(), latchkey_core::Vault::memory()).await;
    let id_token = session.tokens().await.unwrap().id_token;
    let http = http();
    let settings = |flow, role: Option<&str>| IdentityPoolSettings {
        identity_pool_id: idp.identity_pool().unwrap().identity_pool_id,
        identity_endpoint: Some(Url::parse(&idp.identity_endpoint().unwrap()).unwrap()),
        role_arn: role.map(str::to_owned),
        flow,
        ..Default::default()
    };
    let enhanced = settings(IdentityFlow::Enhanced, None)
        .resolve(&profile.kind)
        .unwrap();
    let classic = settings(IdentityFlow::Classic, Some(DEMO_USER_ROLE))
        .resolve(&profile.kind)
        .unwrap();
    let now = chrono::Utc::now();
    let first = aws::fetch_credentials(&http, &enhanced, &id_token, None, now)
        .await
        .unwrap();
    let second = aws::fetch_credentials(&http, &classic, &id_token, None, now)
        .await
        .unwrap();
    caller_identity(&http, &enhanced, &first).await.unwrap();

    let url = Url::parse(&format!("{}/demo-aws-api/me", idp.base_url())).unwrap();
    let scope = SigningScope {
        service: "execute-api".into(),
        region: "us-east-1".into(),
    };
    let headers = sign_request(&second, &scope, "GET", &url, &[], b"", SystemTime::now()).unwrap();
    let mut request = http.get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status().as_u16(), 200);
    // A refusal is logged too: the expired token must not show up in it.
    idp.advance_clock(std::time::Duration::from_secs(2 * 3600));
    assert!(
        aws::fetch_credentials(&http, &enhanced, &id_token, None, now)
            .await
            .is_err()
    );

    let log = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        log.contains("cognito identity request") && log.contains("sts AssumeRoleWithWebIdentity"),
        "the capture holds the identity chain"
    );
    let secrets = [
        id_token.expose(),
        first.secret_access_key.expose(),
        first.session_token.expose(),
        second.secret_access_key.expose(),
        second.session_token.expose(),
    ];
    for secret in secrets {
        assert!(secret.len() >= 24, "long enough to search for");
        let start = secret.len() / 2 - 8;
        let slice = &secret[start..start + 16];
        assert!(
            !log.contains(secret) && !log.contains(slice),
            "a secret (or a slice of one) appears in the TRACE log"
        );
    }
}
