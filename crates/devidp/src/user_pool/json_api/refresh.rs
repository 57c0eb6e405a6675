//! The refresh-token operations: `InitiateAuth` with `REFRESH_TOKEN_AUTH` (or its alias
//! `REFRESH_TOKEN`), `GetTokensFromRefreshToken` (the one rotation needs) and `RevokeToken`.

use serde_json::{json, Map, Value};

use super::{aws_error, aws_reply, not_authorized, required};
use crate::http::Reply;
use crate::provider::Provider;
use crate::user_pool::renewal::{self, Renewed};

/// The app client named by `ClientId`, if it is this pool's (AWS: ResourceNotFoundException
/// "User pool client … does not exist.").
fn known_client(p: &Provider, body: &Map<String, Value>) -> Result<String, Reply> {
    let client_id = required(body, "ClientId")?;
    if client_id != p.settings.client.client_id {
        return Err(aws_error(
            400,
            "ResourceNotFoundException",
            Some(&format!("User pool client {client_id} does not exist.")),
        ));
    }
    Ok(client_id.to_string())
}

/// `AuthenticationResult` (API_AuthenticationResultType): the tokens, `ExpiresIn`,
/// `TokenType`, and `RefreshToken` only when one was rotated.
fn authentication_result(p: &Provider, renewed: Renewed) -> Value {
    let mut result = json!({
        "AccessToken": renewed.minted.access_token,
        "ExpiresIn": p.settings.client.access_token_ttl.as_secs(),
        "TokenType": "Bearer",
    });
    if let Some(id_token) = renewed.minted.id_token {
        result["IdToken"] = json!(id_token);
    }
    if let Some(rotated) = renewed.rotated {
        result["RefreshToken"] = json!(rotated);
    }
    result
}

/// `InitiateAuth`: only the refresh flows (devidp's app client signs users in through the
/// hosted UI; AWS refuses a flow the client does not enable with InvalidParameterException).
/// The answer carries no `RefreshToken` (aws/aws-sdk#454).
pub(crate) fn initiate_auth(p: &Provider, body: &Map<String, Value>) -> Reply {
    p.count(|s| s.json_api_refreshes += 1);
    let flow = match required(body, "AuthFlow") {
        Ok(flow) => flow,
        Err(refusal) => return refusal,
    };
    if !matches!(flow, "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN") {
        p.log(format!("InitiateAuth: the {flow} flow is not enabled"));
        let message = format!("{flow} flow not enabled for this client");
        return aws_error(400, "InvalidParameterException", Some(&message));
    }
    if p.settings.client.rotation.is_some() {
        // UNCONFIRMED wording: with rotation on, refreshes "must be completed with"
        // GetTokensFromRefreshToken (RefreshTokenRotationType).
        p.log("InitiateAuth: refused, the client rotates refresh tokens".to_string());
        return aws_error(
            400,
            "InvalidParameterException",
            Some("Refresh token rotation is enabled: use GetTokensFromRefreshToken"),
        );
    }
    let client_id = match known_client(p, body) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let token = body
        .get("AuthParameters")
        .and_then(|a| a.get("REFRESH_TOKEN"))
        .and_then(Value::as_str);
    let Some(token) = token else {
        return aws_error(
            400,
            "InvalidParameterException",
            Some("Missing required parameter REFRESH_TOKEN"),
        );
    };
    match renewal::renew(p, "InitiateAuth", token, &client_id) {
        Ok(renewed) => aws_reply(json!({
            "AuthenticationResult": authentication_result(p, renewed),
            "ChallengeParameters": {},
        })),
        Err(refusal) => not_authorized(refusal.message()),
    }
}

/// `GetTokensFromRefreshToken`: new tokens, and a new refresh token when the client rotates
/// (API_GetTokensFromRefreshToken).
pub(crate) fn get_tokens_from_refresh_token(p: &Provider, body: &Map<String, Value>) -> Reply {
    p.count(|s| s.json_api_refreshes += 1);
    let token = match required(body, "RefreshToken") {
        Ok(token) => token,
        Err(refusal) => return refusal,
    };
    let client_id = match known_client(p, body) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    match renewal::renew(p, "GetTokensFromRefreshToken", token, &client_id) {
        Ok(renewed) => aws_reply(json!({
            "AuthenticationResult": authentication_result(p, renewed),
        })),
        Err(refusal) => not_authorized(refusal.message()),
    }
}

/// `RevokeToken`: the refresh token and the tokens issued from it stop working; HTTP 200 with
/// an empty body (API_RevokeToken), for an unknown token too.
pub(crate) fn revoke_token(p: &Provider, body: &Map<String, Value>) -> Reply {
    p.count(|s| s.revocations += 1);
    let token = match required(body, "Token") {
        Ok(token) => token,
        Err(refusal) => return refusal,
    };
    let client_id = match known_client(p, body) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    if token.split('.').count() == 3 {
        return aws_error(
            400,
            "UnsupportedTokenTypeException",
            Some("Only refresh tokens can be revoked"),
        );
    }
    renewal::revoke(p, "RevokeToken", token, &client_id);
    aws_reply(json!({})).body(Vec::new())
}
