//! C14: with every log at TRACE (Latchkey and the HTTP/keychain libraries it uses), a full
//! sign-in + refresh + API call + sign-out writes none of the issued values.

use std::sync::Arc;
use std::time::Duration;

use devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_core::{ApiRequest, Vault};
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
    let out = s.sign_out(true).await.unwrap();
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
