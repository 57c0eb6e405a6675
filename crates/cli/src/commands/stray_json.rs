//! Stray sessions in the CLI's JSON (`doctor`, `logout --stray`): core's facts, with the
//! profile's name under `profile` as in every other command's JSON.

use latchkey_core::{StrayOutcome, StrayRemoval, StraySession};
use serde::{Serialize, Serializer};

/// One stray session: its keychain account and what is stored there. No secret.
#[derive(Serialize)]
struct StrayFacts<'a> {
    account: &'a str,
    aws_credentials: bool,
    client_id: &'a str,
    invalid_profile: bool,
    issuer: &'a str,
    items: usize,
    profile: &'a str,
    session: bool,
}

impl<'a> From<&'a StraySession> for StrayFacts<'a> {
    fn from(s: &'a StraySession) -> Self {
        StrayFacts {
            account: &s.account,
            aws_credentials: s.aws_credentials,
            client_id: &s.client_id,
            invalid_profile: s.invalid_profile,
            issuer: &s.issuer,
            items: s.items,
            profile: &s.profile_name,
            session: s.session,
        }
    }
}

/// One stray and what removing it did.
#[derive(Serialize)]
struct RemovalFacts<'a> {
    outcome: &'a StrayOutcome,
    stray: StrayFacts<'a>,
}

/// `doctor`'s `stray_sessions`: `null` when they could not be listed.
pub fn serialize_strays<S: Serializer>(
    strays: &Option<Vec<StraySession>>,
    to: S,
) -> Result<S::Ok, S::Error> {
    let facts: Option<Vec<StrayFacts>> = strays
        .as_ref()
        .map(|all| all.iter().map(StrayFacts::from).collect());
    facts.serialize(to)
}

/// `logout --stray`'s `strays`.
pub fn serialize_removals<S: Serializer>(
    removals: &[StrayRemoval],
    to: S,
) -> Result<S::Ok, S::Error> {
    let facts: Vec<RemovalFacts> = removals
        .iter()
        .map(|r| RemovalFacts {
            outcome: &r.outcome,
            stray: StrayFacts::from(&r.stray),
        })
        .collect();
    facts.serialize(to)
}
