//! What the app's inspector and "test connection" ask of core, against the development
//! provider over real HTTP: a pasted token verified against keys the user gives (the
//! provider's JWKS URL, a JWKS document, a PEM key), expectations judged on a signed-in
//! session's tokens, and the probe telling a registered callback URL from an unregistered one.

use latchkey_core::{
    inspect_with_keys, probe, CheckName, Expectation, GivenKeys, ProbeStatus, TokenChoice, Vault,
};
use latchkey_testkit::*;

fn check(insp: &latchkey_core::Inspection, name: CheckName) -> &latchkey_core::Check {
    insp.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {:?}", insp.checks))
}

#[tokio::test]
async fn a_pasted_token_is_verified_against_the_jwks_url_or_document_it_is_given() {
    let (idp, profile) = start_cognito(|_| {});
    let session = signed_in(profile, Vault::memory()).await;
    let id_token = session.token(TokenChoice::Id).await.unwrap();

    let by_url = inspect_with_keys(id_token.expose(), &GivenKeys::JwksUrl(idp.jwks_url()), None)
        .await
        .unwrap();
    assert!(
        check(&by_url, CheckName::Signature).passed,
        "{:?}",
        by_url.checks
    );
    assert!(
        by_url.checks.iter().all(|c| c.passed),
        "{:?}",
        by_url.checks
    );

    let document = http()
        .get(idp.jwks_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let by_document = inspect_with_keys(id_token.expose(), &GivenKeys::Jwks(document), None)
        .await
        .unwrap();
    assert!(check(&by_document, CheckName::Signature).passed);

    // One byte of the payload changed: the same keys refuse it, by the signature check.
    let mut parts: Vec<String> = id_token.expose().split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let altered = parts.join(".");
    let refused = inspect_with_keys(&altered, &GivenKeys::JwksUrl(idp.jwks_url()), None).await;
    match refused {
        Ok(insp) => assert!(!check(&insp, CheckName::Signature).passed),
        // The altered payload may no longer be JSON: then it is not even a JWT.
        Err(e) => assert_eq!(e.kind(), latchkey_core::ErrorKind::Verification),
    }
}

#[tokio::test]
async fn a_pasted_token_is_verified_against_a_pem_key_and_refused_by_another() {
    let (idp, profile) = start_cognito(|_| {});
    let forger = Forger::new("pem-key");
    let token = forger.sign(
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "whatever"}),
        good_claims(&profile),
    );
    let pem = GivenKeys::Pem(forger.public_pem());
    let insp = inspect_with_keys(&token, &pem, None).await.unwrap();
    assert!(insp.checks.iter().all(|c| c.passed), "{:?}", insp.checks);
    assert!(check(&insp, CheckName::Signature).reason.contains("PEM"));

    let other = GivenKeys::Pem(Forger::new("other").public_pem());
    let insp = inspect_with_keys(&token, &other, None).await.unwrap();
    assert!(!check(&insp, CheckName::Signature).passed);

    // The provider's keys do not verify the forger's token either (its kid is unknown there).
    let insp = inspect_with_keys(&token, &GivenKeys::JwksUrl(idp.jwks_url()), None)
        .await
        .unwrap();
    assert!(!check(&insp, CheckName::Kid).passed, "{:?}", insp.checks);
}

#[tokio::test]
async fn expectations_are_judged_on_the_signed_in_users_tokens() {
    let (_idp, profile) = start_cognito(|_| {});
    let session = signed_in(profile, Vault::memory()).await;
    let expectations: Vec<Expectation> = [
        "group=admins",
        "group=billing",
        "email=demo@latchkey.dev",
        "scope=openid",
    ]
    .iter()
    .map(|e| e.parse().unwrap())
    .collect();

    let mut id = session.inspect_current(TokenChoice::Id).await.unwrap();
    id.judge_applicable(&expectations);
    let verdicts: Vec<(String, bool)> = id
        .expectations
        .iter()
        .map(|e| (e.expectation.to_string(), e.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("group=admins".to_owned(), true),
            ("group=billing".to_owned(), false),
            ("email=demo@latchkey.dev".to_owned(), true),
        ],
        "the scope expectation is for the access token"
    );
    assert!(!id.passed());

    let mut access = session.inspect_current(TokenChoice::Access).await.unwrap();
    access.judge_applicable(&expectations);
    let scope = access
        .expectations
        .iter()
        .find(|e| e.expectation.to_string() == "scope=openid")
        .expect("judged on the access token");
    assert!(scope.passed, "{}", scope.reason);
}

#[tokio::test]
async fn test_connection_tells_registered_callback_urls_from_unregistered_ones() {
    let (_idp, mut profile) = start_cognito(|_| {});
    let registered = profile.redirect_uris()[0].clone();
    let unregistered_port = free_port();
    profile.ports.push(unregistered_port);
    let report = probe(&profile).await;
    let callbacks: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.name == "callback")
        .collect();
    assert_eq!(callbacks.len(), 2, "{report:?}");
    assert_eq!(callbacks[0].status, ProbeStatus::Ok, "{report:?}");
    assert!(callbacks[0].message.contains(&registered));
    assert_eq!(callbacks[1].status, ProbeStatus::Fail, "{report:?}");
    assert!(
        callbacks[1].message.contains(&format!(
            "http://localhost:{unregistered_port}/callback is not registered"
        )),
        "{}",
        callbacks[1].message
    );
    assert!(!report.ok());

    // Only Cognito's answer can be read this way.
    let idp = start_idp(|_| {});
    let report = probe(&oidc_profile(&idp)).await;
    let callback = report.steps.iter().find(|s| s.name == "callback").unwrap();
    assert_eq!(callback.status, ProbeStatus::Skip);
}
