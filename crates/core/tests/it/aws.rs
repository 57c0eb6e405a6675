//! AWS credentials from the sign-in, over real HTTP against the development provider's identity
//! pool: the enhanced and classic flows, SigV4 calls to its IAM-authorized demo API, and each
//! refusal the identity service can give, asserted by its `AwsError` variant.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use devidp::{
    DevIdp, Fault, DEMO_ADMIN_ROLE, DEMO_PASSWORD, DEMO_USERNAME, DEMO_USER_ROLE, VIEWER_PASSWORD,
    VIEWER_USERNAME,
};
use latchkey_core::aws::{
    self, caller_identity, sign_request, AwsCredentials, AwsError, AwsService, IdentityFlow,
    IdentityPool, IdentityPoolSettings, SigningScope,
};
use latchkey_core::{Browser, Profile, SecretToken, Session, SignInOptions};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

/// Signs in as one user over real HTTP when the session opens the authorize URL.
struct UserBrowser {
    username: &'static str,
    password: &'static str,
}

impl Browser for UserBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let (url, username, password) = (url.clone(), self.username, self.password);
        tokio::runtime::Handle::current().spawn(async move {
            let callback = login_to_callback(&url, username, password).await;
            visit(&callback).await;
        });
        Ok(())
    }
}

async fn id_token_of(
    profile: &Profile,
    username: &'static str,
    password: &'static str,
) -> SecretToken {
    let browser = Arc::new(UserBrowser { username, password });
    let session = Session::new(profile.clone(), memory_options(browser)).unwrap();
    session
        .sign_in(SignInOptions::default())
        .await
        .expect("sign-in succeeds");
    session.tokens().await.unwrap().id_token
}

async fn demo_token(profile: &Profile) -> SecretToken {
    id_token_of(profile, DEMO_USERNAME, DEMO_PASSWORD).await
}

/// The profile's identity-pool settings for `idp`'s pool, resolved.
fn pool(
    idp: &DevIdp,
    profile: &Profile,
    tweak: impl FnOnce(&mut IdentityPoolSettings),
) -> IdentityPool {
    let mut settings = IdentityPoolSettings {
        identity_pool_id: idp.identity_pool().unwrap().identity_pool_id,
        identity_endpoint: Some(Url::parse(&idp.identity_endpoint().unwrap()).unwrap()),
        ..Default::default()
    };
    tweak(&mut settings);
    settings.resolve(&profile.kind).expect("settings are valid")
}

fn pool_for_role(idp: &DevIdp, profile: &Profile, role: &str) -> IdentityPool {
    let role = role.to_owned();
    pool(idp, profile, move |s| s.role_arn = Some(role))
}

async fn fetch(pool: &IdentityPool, token: &SecretToken) -> Result<AwsCredentials, AwsError> {
    aws::fetch_credentials(&http(), pool, token, None, chrono::Utc::now()).await
}

/// A SigV4-signed request to the demo IAM API; returns (status, JSON body).
async fn call_demo_aws_api(
    idp: &DevIdp,
    creds: &AwsCredentials,
    path: &str,
) -> (u16, serde_json::Value) {
    let url = Url::parse(&format!("{}/demo-aws-api/{path}", idp.base_url())).unwrap();
    let scope = SigningScope {
        service: "execute-api".into(),
        region: "us-east-1".into(),
    };
    let headers = sign_request(creds, &scope, "GET", &url, &[], b"", SystemTime::now()).unwrap();
    let mut request = http().get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_flow_credentials_sign_a_call_to_the_demo_iam_api() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let pool = pool(&idp, &profile, |_| {});
    let creds = fetch(&pool, &token).await.expect("credentials");

    assert!(creds.access_key_id.starts_with("ASIA") && creds.access_key_id.len() == 20);
    assert!(creds.identity_id.starts_with("us-east-1:"));
    // Measured from the host clock: a provider running ahead (--clock-ahead) adds its lead.
    let left = creds.seconds_left(chrono::Utc::now()) - provider_clock_ahead();
    assert!(
        (3500..=3600).contains(&left),
        "valid for the pool's hour: {left}"
    );
    assert_eq!(
        creds.role_arn, None,
        "no role asked for, and the service does not say"
    );

    let (status, body) = call_demo_aws_api(&idp, &creds, "me").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["role_arn"], DEMO_ADMIN_ROLE,
        "cognito:preferred_role of the admins group"
    );
    assert_eq!(body["cognito_identity_id"], creds.identity_id.as_str());

    let who = caller_identity(&http(), &pool, &creds)
        .await
        .expect("GetCallerIdentity");
    assert_eq!(
        who.arn,
        "arn:aws:sts::123456789012:assumed-role/LatchkeyDemoAdmin/CognitoIdentityCredentials"
    );
    assert_eq!(who.role_arn().as_deref(), Some(DEMO_ADMIN_ROLE));
    assert_eq!(idp.stats().identity_get_id, 1);
    assert_eq!(idp.stats().identity_get_credentials, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_identity_id_saves_the_get_id_call() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let pool = pool(&idp, &profile, |_| {});
    let first = fetch(&pool, &token).await.unwrap();
    let again = aws::fetch_credentials(
        &http(),
        &pool,
        &token,
        Some(&first.identity_id),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(again.identity_id, first.identity_id, "stable for a user");
    assert_ne!(
        again.access_key_id, first.access_key_id,
        "fresh credentials"
    );
    assert_eq!(idp.stats().identity_get_id, 1, "the kept id skipped GetId");

    let viewer = id_token_of(&profile, VIEWER_USERNAME, VIEWER_PASSWORD).await;
    let as_user = pool_for_role(&idp, &profile, DEMO_USER_ROLE);
    let own = aws::fetch_credentials(
        &http(),
        &as_user,
        &viewer,
        Some(&first.identity_id),
        chrono::Utc::now(),
    )
    .await
    .expect("someone else's kept id (\"Access to Identity … is forbidden\") falls back to GetId");
    assert_ne!(own.identity_id, first.identity_id);

    let stale = "us-east-1:00000000-0000-4000-8000-000000000000";
    let recovered = aws::fetch_credentials(&http(), &pool, &token, Some(stale), chrono::Utc::now())
        .await
        .expect("an unknown kept id falls back to GetId");
    assert_eq!(recovered.identity_id, first.identity_id);
    assert_eq!(idp.stats().identity_get_id, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_arn_picks_one_of_the_users_roles_and_the_api_checks_it() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let as_user = pool(&idp, &profile, |s| s.role_arn = Some(DEMO_USER_ROLE.into()));
    let creds = fetch(&as_user, &token)
        .await
        .expect("users is one of demo's groups");
    assert_eq!(creds.role_arn.as_deref(), Some(DEMO_USER_ROLE));
    let (status, body) = call_demo_aws_api(&idp, &creds, "admin").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("is not authorized to perform: execute-api:Invoke"));

    let as_admin = fetch(&pool(&idp, &profile, |_| {}), &token).await.unwrap();
    assert_eq!(call_demo_aws_api(&idp, &as_admin, "admin").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_the_user_does_not_have_is_role_not_allowed() {
    let (idp, profile) = start_cognito(|_| {});
    let viewer = id_token_of(&profile, VIEWER_USERNAME, VIEWER_PASSWORD).await;
    let pool = pool(&idp, &profile, |s| {
        s.role_arn = Some(DEMO_ADMIN_ROLE.into())
    });
    match fetch(&pool, &viewer).await {
        Err(AwsError::RoleNotAllowed {
            role_arn,
            available,
            ..
        }) => {
            assert_eq!(role_arn, DEMO_ADMIN_ROLE);
            assert_eq!(
                available,
                [DEMO_USER_ROLE],
                "the viewer's only role, from the token"
            );
        }
        other => panic!("expected RoleNotAllowed, got {other:?}"),
    }
    assert_eq!(idp.stats().identity_credentials_issued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_id_token_is_id_token_expired() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    idp.advance_clock(Duration::from_secs(2 * 3600));
    let err = fetch(&pool(&idp, &profile, |_| {}), &token)
        .await
        .unwrap_err();
    assert!(matches!(err, AwsError::IdTokenExpired { .. }), "{err:?}");
    assert_eq!(err.kind(), latchkey_core::ErrorKind::SessionExpired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_another_user_pool_is_rejected() {
    let (idp, profile) = start_cognito(|_| {});
    let (_other, other_profile) = start_cognito(|_| {});
    let foreign = demo_token(&other_profile).await;
    let err = fetch(&pool(&idp, &profile, |_| {}), &foreign)
        .await
        .unwrap_err();
    assert!(matches!(err, AwsError::IdTokenRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("verify"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_does_not_trust_the_app_client_says_so() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    idp.set_fault(Fault::IdentityUntrustedClient);
    let err = fetch(&pool(&idp, &profile, |_| {}), &token)
        .await
        .unwrap_err();
    match &err {
        AwsError::ProviderNotTrusted {
            login_key,
            client_id,
            ..
        } => {
            assert_eq!(
                login_key,
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_DevPool01"
            );
            assert_eq!(client_id, &idp.client_id());
        }
        other => panic!("expected ProviderNotTrusted, got {other:?}"),
    }
    assert!(err
        .to_string()
        .contains("does not list this user pool and app client as an authentication provider"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_a_missing_pool_and_untrusted_roles_have_their_own_errors() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let good = pool(&idp, &profile, |_| {});

    idp.set_fault(Fault::IdentityThrottled);
    let err = fetch(&good, &token).await.unwrap_err();
    assert!(
        matches!(
            err,
            AwsError::Throttled {
                service: AwsService::CognitoIdentity,
                ..
            }
        ),
        "{err:?}"
    );
    idp.clear_faults();

    idp.set_fault(Fault::IdentityRoleUntrusted);
    let err = fetch(&good, &token).await.unwrap_err();
    assert!(matches!(err, AwsError::PoolMisconfigured { .. }), "{err:?}");
    idp.clear_faults();

    let missing = pool(&idp, &profile, |s| {
        s.identity_pool_id = "us-east-1:00000000-1111-2222-3333-444444444444".into()
    });
    let err = fetch(&missing, &token).await.unwrap_err();
    assert!(matches!(err, AwsError::PoolNotFound { .. }), "{err:?}");
    assert_eq!(err.kind(), latchkey_core::ErrorKind::Config);

    let unreachable = pool(&idp, &profile, |s| {
        s.identity_endpoint =
            Some(Url::parse(&format!("http://127.0.0.1:{}/", free_port())).unwrap())
    });
    let err = fetch(&unreachable, &token).await.unwrap_err();
    assert!(matches!(err, AwsError::Unreachable { .. }), "{err:?}");
    assert_eq!(idp.stats().identity_credentials_issued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_is_refused_before_it_is_buffered() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b' '; 16 * 1024];
            for _ in 0..16 {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    let huge = pool(&idp, &profile, |s| {
        s.identity_endpoint = Some(Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap())
    });
    let err = fetch(&huge, &token).await.unwrap_err();
    assert!(matches!(err, AwsError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_flow_assumes_the_role_through_sts_when_the_pool_allows_it() {
    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().allow_classic_flow = true;
    });
    let token = demo_token(&profile).await;
    let classic = |role: &str| {
        let role = role.to_owned();
        pool(&idp, &profile, move |s| {
            s.flow = IdentityFlow::Classic;
            s.role_arn = Some(role);
        })
    };
    let pool_user = classic(DEMO_USER_ROLE);
    let creds = fetch(&pool_user, &token)
        .await
        .expect("classic credentials");
    assert_eq!(
        creds.role_arn.as_deref(),
        Some(DEMO_USER_ROLE),
        "STS names the assumed role"
    );
    assert!(creds.access_key_id.starts_with("ASIA"));
    assert_eq!(idp.stats().identity_get_open_id_token, 1);
    let who = caller_identity(&http(), &pool_user, &creds).await.unwrap();
    assert!(
        who.arn
            .starts_with("arn:aws:sts::123456789012:assumed-role/LatchkeyDemoUser/latchkey-"),
        "{}",
        who.arn
    );
    assert_eq!(call_demo_aws_api(&idp, &creds, "me").await.0, 200);

    let stranger = classic("arn:aws:iam::123456789012:role/SomeoneElsesRole");
    let err = fetch(&stranger, &token).await.unwrap_err();
    assert!(matches!(err, AwsError::RoleTrustRefused { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_flow_on_a_pool_without_it_is_classic_flow_disabled() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let pool = pool(&idp, &profile, |s| {
        s.flow = IdentityFlow::Classic;
        s.role_arn = Some(DEMO_USER_ROLE.into());
    });
    let err = fetch(&pool, &token).await.unwrap_err();
    assert!(
        matches!(err, AwsError::ClassicFlowDisabled { .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_and_altered_requests_get_api_gateway_403s() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let creds = fetch(&pool(&idp, &profile, |_| {}), &token).await.unwrap();

    let url = Url::parse(&format!("{}/demo-aws-api/me", idp.base_url())).unwrap();
    let scope = SigningScope {
        service: "execute-api".into(),
        region: "us-east-1".into(),
    };
    let headers = sign_request(&creds, &scope, "GET", &url, &[], b"", SystemTime::now()).unwrap();
    let mut altered = http().get(format!("{url}?extra=1"));
    for (name, value) in &headers {
        altered = altered.header(name, value);
    }
    let response = altered.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );

    let unsigned = http().get(url.clone()).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    let body: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(body["message"], "Missing Authentication Token");

    idp.advance_clock(Duration::from_secs(3601));
    let (status, body) = call_demo_aws_api(&idp, &creds, "me").await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "The security token included in the request is expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_credentials_nor_errors_show_a_secret() {
    let (idp, profile) = start_cognito(|_| {});
    let token = demo_token(&profile).await;
    let creds = fetch(&pool(&idp, &profile, |_| {}), &token).await.unwrap();
    let debug = format!("{creds:?}");
    assert!(debug.contains(&creds.access_key_id));
    assert!(!debug.contains(creds.secret_access_key.expose()));
    assert!(!debug.contains(creds.session_token.expose()));

    idp.advance_clock(Duration::from_secs(2 * 3600));
    let err = fetch(&pool(&idp, &profile, |_| {}), &token)
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(token.expose()));
    let signature = token.expose().rsplit('.').next().unwrap();
    assert!(!shown.contains(signature));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_profile_presents_its_token_under_the_issuer_host_and_path() {
    let idp = start_idp(|_| {});
    let profile = oidc_profile(&idp);
    let token = demo_token(&profile).await;
    let pool = pool(&idp, &profile, |_| {});
    let issuer = Url::parse(&idp.issuer()).unwrap();
    assert_eq!(
        pool.login_key,
        format!("127.0.0.1:{}{}", issuer.port().unwrap(), issuer.path()),
        "identity pools name OIDC providers by issuer host and path"
    );
    let creds = fetch(&pool, &token)
        .await
        .expect("the pool accepts the OIDC provider name");
    assert_eq!(call_demo_aws_api(&idp, &creds, "me").await.0, 200);
}
