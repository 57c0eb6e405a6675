//! The demo APIs' authorizer settings: which header, scopes and audiences the REST API's
//! Cognito authorizer and the HTTP API's JWT authorizer insist on.

/// How the demo API's two authorizers are set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoApiConfig {
    /// REST API: the request header the Cognito authorizer reads the token from (its "Token
    /// Source"); `Authorization` unless set otherwise.
    pub token_header: String,
    /// REST API: the methods' OAuth scopes. Empty: the ID token is required (a method without
    /// scopes takes ID tokens only). Otherwise an access token with one of these scopes.
    pub scopes: Vec<String>,
    /// REST API: `aud` values to insist on. A real Cognito authorizer has no such check (any
    /// app client of the pool passes), so it is off (empty) unless set here.
    pub audiences: Vec<String>,
    /// HTTP API: the JWT authorizer's audience (`aud`, or `client_id` when a token has no
    /// `aud`). Empty: the app client id.
    pub http_api_audiences: Vec<String>,
    /// HTTP API: scopes the routes require (one of them); empty: none.
    pub http_api_scopes: Vec<String>,
    /// REST API with a JWT authorizer (`/demo-rest-jwt-api`): the methods' scopes (one of
    /// them, from `scope` or `scp`; 403 without); empty: none.
    pub rest_jwt_scopes: Vec<String>,
    /// API Gateway's CORS configuration, for both demo APIs: off (as a new API, which sends no
    /// CORS headers and answers no preflight); on, `Access-Control-Allow-Origin: *` on every
    /// answer and preflights answered.
    pub cors: bool,
}

impl Default for DemoApiConfig {
    fn default() -> Self {
        DemoApiConfig {
            token_header: "Authorization".to_string(),
            scopes: Vec::new(),
            audiences: Vec::new(),
            http_api_audiences: Vec::new(),
            http_api_scopes: Vec::new(),
            rest_jwt_scopes: Vec::new(),
            cors: false,
        }
    }
}
