//! latchkey-devidp: a local, Cognito-compatible OAuth 2.0 / OIDC provider for development and tests.
