//! C14: with every log at TRACE (Latchkey and the HTTP/keychain libraries it uses), a full
//! sign-in + refresh + API call + sign-out writes none of the issued values, and the whole
//! AWS chain (both identity-pool flows, STS, SigV4 calls, a refusal) writes no ID token,
//! secret access key or session token. Both tests write to one capture and search all of it.

use std::sync::Arc;
use std::time::Duration;

use devidp::{Fault, DEMO_PASSWORD, DEMO_USERNAME, DEMO_USER_ROLE};
use latchkey_core::aws::IdentityFlow;
use latchkey_core::SignOutScope;
use latchkey_core::{ApiRequest, Scheme, Vault};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c14_trace_logs_never_contain_tokens_codes_verifiers_or_state() {
    let capture = LogCapture::install();

    let (idp, proxy, profile) = proxied_idp(Arc::new(|_p: &str, s, b| (s, b)));
    idp.client();
    let vault = Vault::memory();
    let (browser, mut rx) = ManualBrowser::new();
    let s =
        latchkey_core::Session::new(profile.clone(), options_with(vault.clone(), browser)).unwrap();
    let s2 = s.clone();
    let task =
        tokio::spawn(async move { s2.sign_in(latchkey_core::SignInOptions::default()).await });
    let url = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&cb).await;
    task.await.unwrap().unwrap();
    let mut secrets = vec![
        q(&url, "state").unwrap(),
        q(&url, "nonce").unwrap(),
        q(&cb, "code").unwrap(),
    ];
    s.force_refresh().await.unwrap();
    let t = s.tokens().await.unwrap();
    let r = s
        .call(ApiRequest::get(
            Url::parse(&format!("{}/demo-api/me", proxy.base)).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let stored = latchkey_core::internals::load_session(&vault, &profile.keychain_account())
        .unwrap()
        .unwrap();
    secrets.push(stored.refresh_token.unwrap().expose().to_owned());
    secrets.push(t.id_token.expose().to_owned());
    secrets.push(t.access_token.expose().to_owned());
    let out = s.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(out.revoked);

    // Everything the provider issued or the client sent as a secret, from the wire.
    for (path, req, resp) in proxy.exchanges.lock().unwrap().iter() {
        if path.ends_with("/oauth2/token") {
            for (k, v) in url::form_urlencoded::parse(req) {
                if matches!(k.as_ref(), "code" | "code_verifier" | "refresh_token") {
                    secrets.push(v.into_owned());
                }
            }
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(resp) {
                for k in ["id_token", "access_token", "refresh_token"] {
                    if let Some(x) = v[k].as_str() {
                        secrets.push(x.to_owned());
                    }
                }
            }
        }
    }
    assert!(secrets.len() >= 10, "collected {} secrets", secrets.len());
    let log = capture.text();
    assert!(
        log.contains("token request") && log.contains("signed out"),
        "the capture works"
    );
    capture.assert_holds_none(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c14_trace_logs_of_the_aws_chain_hold_no_secret_key_or_session_token() {
    let capture = LogCapture::install();
    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().allow_classic_flow = true;
    });
    let enhanced = with_identity_pool(&idp, profile.clone(), None);
    let session = signed_in(enhanced, Vault::memory()).await;
    let id_token = session.tokens().await.unwrap().id_token;
    let first = session.aws_credentials().await.unwrap();
    let mut me =
        ApiRequest::get(Url::parse(&format!("{}/demo-aws-api/me", idp.base_url())).unwrap());
    me.scheme = Some(Scheme::Sigv4);
    assert_eq!(session.call(me.clone()).await.unwrap().status, 200);
    session.aws_identity().await.unwrap(); // STS GetCallerIdentity, signed

    let mut classic = with_identity_pool(&idp, profile, Some(DEMO_USER_ROLE));
    classic.aws.as_mut().unwrap().flow = IdentityFlow::Classic;
    classic.name = "classic".into();
    let classic = signed_in(classic, Vault::memory()).await;
    let second = classic.aws_credentials().await.unwrap();
    assert_eq!(classic.call(me).await.unwrap().status, 200);

    // a refusal is logged too: the token presented must not show up in it
    idp.set_fault(Fault::IdentityUntrustedClient);
    classic.sign_out(SignOutScope::ThisDevice).await.unwrap();
    let refused = signed_in(classic.profile().clone(), Vault::memory()).await;
    assert!(refused.aws_credentials().await.is_err());
    let refused_token = refused.tokens().await.unwrap().id_token;

    let log = capture.text();
    assert!(
        log.contains("cognito identity request") && log.contains("sts AssumeRoleWithWebIdentity"),
        "the capture holds the identity chain"
    );
    capture.assert_holds_none(&[
        id_token.expose().to_owned(),
        refused_token.expose().to_owned(),
        first.secret_access_key.expose().to_owned(),
        first.session_token.expose().to_owned(),
        second.secret_access_key.expose().to_owned(),
        second.session_token.expose().to_owned(),
    ]);
}
