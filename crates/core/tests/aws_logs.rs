//! C14 for AWS credentials: with every log at TRACE (Latchkey, reqwest, hyper, rustls), the
//! whole identity chain — sign-in, both identity-pool flows, STS, a SigV4-signed API call —
//! writes no ID token, secret access key or session token.

use std::time::SystemTime;

use devidp::DEMO_USER_ROLE;
use latchkey_core::aws::{
    self, caller_identity, sign_request, IdentityFlow, IdentityPoolSettings, SigningScope,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c14_trace_logs_of_the_identity_chain_hold_no_aws_secret() {
    let capture = LogCapture::install();

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

    let log = capture.text();
    assert!(
        log.contains("cognito identity request") && log.contains("sts AssumeRoleWithWebIdentity"),
        "the capture holds the identity chain"
    );
    capture.assert_holds_none(
        &[
            id_token.expose(),
            first.secret_access_key.expose(),
            first.session_token.expose(),
            second.secret_access_key.expose(),
            second.session_token.expose(),
        ]
        .map(str::to_owned),
    );
}
