//! The identity pool's wire behaviour, over raw HTTP: the Cognito Identity JSON 1.1 shapes and
//! error codes, the role rules, the classic flow's STS, and the roles Cognito puts in ID tokens.

use crate::common;

use common::*;
use latchkey_devidp::{
    AmbiguousRoleResolution, DevIdp, DevIdpConfig, IdentityPoolConfig, DEMO_ADMIN_ROLE,
    DEMO_AUTHENTICATED_ROLE, DEMO_IDENTITY_POOL_ID, DEMO_USER_ROLE, VIEWER_PASSWORD,
    VIEWER_USERNAME,
};
use reqwest::blocking::Client;
use serde_json::{json, Value};

const LOGIN_KEY: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_DevPool01";

fn start_with(tweak: impl FnOnce(&mut IdentityPoolConfig)) -> DevIdp {
    let mut pool = IdentityPoolConfig::default();
    tweak(&mut pool);
    DevIdp::start(DevIdpConfig {
        identity_pool: Some(pool),
        ..Default::default()
    })
    .unwrap()
}

/// One Cognito Identity call: (status, `x-amzn-ErrorType` header, JSON body).
fn identity(
    idp: &DevIdp,
    http: &Client,
    operation: &str,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let response = http
        .post(idp.identity_endpoint().unwrap())
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, error_type, response.json().unwrap_or(Value::Null))
}

fn logins(token: &str) -> Value {
    json!({ LOGIN_KEY: token })
}

fn get_id(idp: &DevIdp, http: &Client, token: &str) -> String {
    let (status, _, body) = identity(
        idp,
        http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins(token)}),
    );
    assert_eq!(status, 200, "{body}");
    body["IdentityId"].as_str().unwrap().to_owned()
}

fn credentials(idp: &DevIdp, http: &Client, token: &str, custom: Option<&str>) -> (u16, Value) {
    let identity_id = get_id(idp, http, token);
    let mut body = json!({"IdentityId": identity_id, "Logins": logins(token)});
    if let Some(role) = custom {
        body["CustomRoleArn"] = json!(role);
    }
    let (status, _, body) = identity(idp, http, "GetCredentialsForIdentity", &body);
    (status, body)
}

fn id_token(tokens: &Value) -> String {
    tokens["id_token"].as_str().unwrap().to_owned()
}

#[test]
fn id_tokens_carry_the_roles_of_the_users_groups() {
    let idp = start();
    let http = http();
    let demo = claims(&id_token(&tokens(&idp, &http)));
    assert_eq!(
        demo["cognito:roles"],
        json!([DEMO_ADMIN_ROLE, DEMO_USER_ROLE])
    );
    assert_eq!(
        demo["cognito:preferred_role"], DEMO_ADMIN_ROLE,
        "admins has the best precedence"
    );
    let viewer = claims(&id_token(&tokens_as(
        &idp,
        &http,
        VIEWER_USERNAME,
        VIEWER_PASSWORD,
    )));
    assert_eq!(viewer["cognito:roles"], json!([DEMO_USER_ROLE]));
    assert_eq!(viewer["cognito:preferred_role"], DEMO_USER_ROLE);
}

#[test]
fn credentials_have_the_real_shape() {
    let idp = start();
    let http = http();
    let token = id_token(&tokens(&idp, &http));
    let identity_id = get_id(&idp, &http, &token);
    assert!(
        identity_id.starts_with("us-east-1:") && identity_id.len() == 46,
        "{identity_id}"
    );
    assert_eq!(
        get_id(&idp, &http, &token),
        identity_id,
        "stable for the user"
    );

    let (status, body) = credentials(&idp, &http, &token, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["IdentityId"], identity_id.as_str());
    let creds = &body["Credentials"];
    let key = creds["AccessKeyId"].as_str().unwrap();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert!(creds["SecretKey"].as_str().unwrap().len() >= 40);
    assert!(creds["SessionToken"].as_str().unwrap().len() > 500);
    let expiration = creds["Expiration"]
        .as_f64()
        .expect("epoch seconds, a JSON number") as i64;
    assert!((expiration - now() - 3600).abs() <= 5);
}

#[test]
fn refusals_use_the_services_codes_and_statuses() {
    let idp = start();
    let http = http();
    let tokens = tokens(&idp, &http);
    let token = id_token(&tokens);

    let (status, header, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("NotAuthorizedException"))
    );
    assert_eq!(
        body["message"],
        "Unauthenticated access is not supported for this identity pool."
    );
    assert!(header.unwrap().starts_with("NotAuthorizedException:"));

    let access = tokens["access_token"].as_str().unwrap();
    let (_, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins(access)}),
    );
    assert_eq!(
        body["message"],
        "Invalid login token. Missing a required claim: aud"
    );

    let (_, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": {"accounts.google.com": token}}),
    );
    assert_eq!(
        body["message"],
        "Token is not from a supported provider of this identity pool."
    );

    let mut tampered = token.clone();
    tampered.push('A');
    let (_, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins(&tampered)}),
    );
    assert_eq!(
        body["message"],
        "Invalid login token. Couldn't verify signed token."
    );

    let (status, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": "us-east-1:0000", "Logins": logins(&token)}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (404, Some("ResourceNotFoundException"))
    );

    let viewer = id_token(&tokens_as(&idp, &http, VIEWER_USERNAME, VIEWER_PASSWORD));
    let demo_identity = get_id(&idp, &http, &token);
    let (status, _, body) = identity(
        &idp,
        &http,
        "GetCredentialsForIdentity",
        &json!({"IdentityId": demo_identity, "Logins": logins(&viewer)}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!("Access to Identity '{demo_identity}' is forbidden.")
    );

    let (status, _, body) = identity(&idp, &http, "DeleteIdentityPool", &json!({}));
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );

    idp.set_fault(latchkey_devidp::Fault::IdentityThrottled);
    let (status, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins(&token)}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("TooManyRequestsException"))
    );

    idp.clear_faults();
    idp.advance_clock(std::time::Duration::from_secs(3601));
    let (_, _, body) = identity(
        &idp,
        &http,
        "GetId",
        &json!({"IdentityPoolId": DEMO_IDENTITY_POOL_ID, "Logins": logins(&token)}),
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid login token. Token expired: "),
        "{body}"
    );
}

#[test]
fn roles_follow_the_token_custom_role_arn_and_the_pools_rules() {
    let idp = start();
    let http = http();
    let demo = id_token(&tokens(&idp, &http));
    let viewer = id_token(&tokens_as(&idp, &http, VIEWER_USERNAME, VIEWER_PASSWORD));

    assert_eq!(
        credentials(&idp, &http, &demo, Some(DEMO_USER_ROLE)).0,
        200,
        "one of demo's roles"
    );
    let (status, body) = credentials(&idp, &http, &viewer, Some(DEMO_ADMIN_ROLE));
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{body}"
    );
    let (status, body) = credentials(&idp, &http, &demo, Some(DEMO_AUTHENTICATED_ROLE));
    assert_eq!(status, 400, "not in cognito:roles: {body}");

    let default_role = start_with(|p| p.role_from_token = false);
    let token = id_token(&tokens(&default_role, &http));
    assert_eq!(credentials(&default_role, &http, &token, None).0, 200);

    let no_role = start_with(|p| p.authenticated_role = None);
    let token = id_token(&tokens(&no_role, &http));
    let (status, body) = credentials(&no_role, &http, &token, None);
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidIdentityPoolConfigurationException");
    assert_eq!(
        body["message"],
        "Invalid identity pool configuration. Check assigned IAM roles for this pool."
    );
}

#[test]
fn ambiguous_roles_follow_the_pools_rule() {
    let idp = DevIdp::start(DevIdpConfig {
        group_roles: vec![
            latchkey_devidp::GroupRole {
                group: "users".into(),
                role_arn: DEMO_USER_ROLE.into(),
                precedence: 5,
            },
            latchkey_devidp::GroupRole {
                group: "admins".into(),
                role_arn: DEMO_ADMIN_ROLE.into(),
                precedence: 5,
            },
        ],
        identity_pool: Some(IdentityPoolConfig {
            ambiguous_role_resolution: AmbiguousRoleResolution::Deny,
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let token = id_token(&tokens(&idp, &http));
    assert!(
        claims(&token).get("cognito:preferred_role").is_none(),
        "two roles tie"
    );
    let (status, body) = credentials(&idp, &http, &token, None);
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "The ambiguous role mapping rules denied this request."
    );
    assert_eq!(
        credentials(&idp, &http, &token, Some(DEMO_USER_ROLE)).0,
        200,
        "a named role resolves it"
    );
}

#[test]
fn the_classic_flow_is_off_by_default_and_its_sts_checks_the_openid_token() {
    let http = http();
    let off = start();
    let token = id_token(&tokens(&off, &http));
    let identity_id = get_id(&off, &http, &token);
    let (status, _, body) = identity(
        &off,
        &http,
        "GetOpenIdToken",
        &json!({"IdentityId": identity_id, "Logins": logins(&token)}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidParameterException"))
    );
    assert_eq!(
        body["message"],
        "Basic (classic) flow is not enabled, please use enhanced flow."
    );

    let on = start_with(|p| p.allow_classic_flow = true);
    let token = id_token(&tokens(&on, &http));
    let identity_id = get_id(&on, &http, &token);
    let (status, _, body) = identity(
        &on,
        &http,
        "GetOpenIdToken",
        &json!({"IdentityId": identity_id, "Logins": logins(&token)}),
    );
    assert_eq!(status, 200, "{body}");
    let open_id = body["Token"].as_str().unwrap().to_owned();
    let open_claims = claims(&open_id);
    assert_eq!(open_claims["iss"], "https://cognito-identity.amazonaws.com");
    assert_eq!(open_claims["aud"], DEMO_IDENTITY_POOL_ID);
    assert_eq!(open_claims["sub"], identity_id.as_str());
    assert_eq!(open_claims["amr"][0], "authenticated");
    // RS256 under a key the identity origin publishes, as AWS's (awslabs/aws-jwt-verify#236).
    let open_header = header(&open_id);
    assert_eq!(open_header["alg"], "RS256");
    let jwks_uri = format!(
        "{}/.well-known/jwks_uri",
        on.identity_endpoint().unwrap().trim_end_matches('/')
    );
    let jwks: Value = http.get(jwks_uri).send().unwrap().json().unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == open_header["kid"])
        .expect("the token's kid is published");
    assert!(verify_with_jwk(&open_id, key), "verifiable with the JWKS");

    let sts = |role: &str, token: &str| {
        let response = http
            .post(on.identity_endpoint().unwrap())
            .form(&[
                ("Action", "AssumeRoleWithWebIdentity"),
                ("Version", "2011-06-15"),
                ("RoleArn", role),
                ("RoleSessionName", "test-session"),
                ("WebIdentityToken", token),
            ])
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let (status, xml) = sts(DEMO_USER_ROLE, &open_id);
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains(
            "<Arn>arn:aws:sts::123456789012:assumed-role/LatchkeyDemoUser/test-session</Arn>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<AccessKeyId>ASIA"));

    let (status, xml) = sts("arn:aws:iam::123456789012:role/Untrusting", &open_id);
    assert_eq!(status, 403);
    assert!(xml.contains("<Code>AccessDenied</Code>"), "{xml}");

    let (status, xml) = sts(DEMO_USER_ROLE, &token);
    assert_eq!(
        status, 400,
        "a user-pool token is not the pool's OpenID token"
    );
    assert!(xml.contains("<Code>InvalidIdentityToken</Code>"), "{xml}");
}

#[test]
fn the_identity_origin_is_its_own_and_only_answers_post_slash() {
    let idp = start();
    let http = http();
    let endpoint = idp.identity_endpoint().unwrap();
    assert_ne!(format!("{}/", idp.base_url()), endpoint);
    assert_eq!(http.get(&endpoint).send().unwrap().status().as_u16(), 404);
    let preflight = http
        .request(reqwest::Method::OPTIONS, &endpoint)
        .header("origin", "http://localhost:3000")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target",
        )
        .send()
        .unwrap();
    assert_eq!(
        preflight.status().as_u16(),
        204,
        "browsers may call it cross-origin"
    );
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("X-Amz-Target"), "{allowed}");
    let none = DevIdp::start(DevIdpConfig {
        identity_pool: None,
        ..Default::default()
    })
    .unwrap();
    assert!(none.identity_endpoint().is_none());
}
