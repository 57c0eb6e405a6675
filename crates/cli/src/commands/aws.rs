//! `latchkey aws …`: the profile's AWS credentials from its identity pool, as the AWS SDKs'
//! `credential_process` reads them (or shell exports), who they stand for, and the
//! `~/.aws/config` section that points the SDKs here.

use std::fmt;

use latchkey_core::aws::{aws_profile_name, config_snippet, credential_process_json, env_exports};
use latchkey_core::{AwsCredentials, AwsIdentity, Error as CoreError};
use serde::Serialize;

use crate::agent_link;
use crate::cli::{AwsCommand, CredentialsFormat};
use crate::context::{for_session, Ctx};
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{print_report, when};

pub async fn run(ctx: &Ctx, cmd: AwsCommand) -> CliResult<Exit> {
    match cmd {
        AwsCommand::Credentials {
            format,
            wait_for_sign_in,
        } => credentials(ctx, format, wait_for_sign_in).await,
        AwsCommand::Whoami { json } => whoami(ctx, json).await,
        AwsCommand::ConfigSnippet { aws_profile } => snippet(ctx, aws_profile),
        AwsCommand::Serve => super::aws_serve::run(ctx).await,
    }
}

/// The credentials on stdout and nothing else (the SDK reads it). Cheap when they are
/// cached: the session and the credentials are read from the keychain, no request is sent.
async fn credentials(ctx: &Ctx, format: CredentialsFormat, wait: u64) -> CliResult<Exit> {
    let creds = profile_credentials(ctx, wait).await?;
    match format {
        CredentialsFormat::Process => println!("{}", credential_process_json(&creds)),
        CredentialsFormat::Env => print!("{}", env_exports(&creds).map_err(CoreError::from)?),
    }
    Ok(Exit::Ok)
}

/// The profile's credentials from the agent when one answers, else read (and fetched) here;
/// a warning that comes with them goes to stderr.
pub(crate) async fn profile_credentials(ctx: &Ctx, wait: u64) -> CliResult<AwsCredentials> {
    let profile = ctx.profile()?;
    let creds = match agent_link::aws_credentials(ctx, &profile.name, wait).await? {
        Some(from_agent) => from_agent,
        None => {
            agent_link::direct_hand_out(&profile)?;
            direct_credentials(ctx).await?
        }
    };
    if let Some(warning) = &creds.warning {
        eprintln!("latchkey: warning: {warning}");
    }
    Ok(creds)
}

/// The credentials without an agent: this process reads the keychain (and asks AWS).
async fn direct_credentials(ctx: &Ctx) -> CliResult<AwsCredentials> {
    let session = ctx.session(None)?;
    let creds = session.aws_credentials().await;
    creds.map_err(for_session(&session))
}

async fn whoami(ctx: &Ctx, json: bool) -> CliResult<Exit> {
    let session = ctx.session(None)?;
    let who = session
        .aws_identity()
        .await
        .map_err(for_session(&session))?;
    if let Some(warning) = &who.warning {
        eprintln!("latchkey: warning: {warning}");
    }
    let report = WhoamiReport {
        identity: &who,
        profile: &session.profile().name,
    };
    print_report(&report, json)?;
    Ok(Exit::Ok)
}

/// `latchkey aws whoami`'s report: who the profile's AWS credentials stand for.
#[derive(Serialize)]
struct WhoamiReport<'a> {
    identity: &'a AwsIdentity,
    profile: &'a str,
}

impl fmt::Display for WhoamiReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.identity;
        writeln!(f, "AWS credentials of profile `{}`", self.profile)?;
        writeln!(
            f,
            "  identity pool   {} ({} flow)",
            who.identity_pool_id,
            who.flow.as_str()
        )?;
        writeln!(f, "  identity id     {}", who.identity_id)?;
        let role = who.role_arn.as_deref().unwrap_or("(unknown)");
        let how = match &who.requested_role {
            Some(_) => "asked for with role_arn",
            None => "chosen by the identity pool",
        };
        writeln!(f, "  role            {role} ({how})")?;
        if let Some(arn) = &who.assumed_role_arn {
            writeln!(f, "  caller          {arn}")?;
        }
        let others: Vec<&str> = who
            .roles
            .iter()
            .map(String::as_str)
            .filter(|r| Some(*r) != who.role_arn.as_deref())
            .collect();
        if !others.is_empty() {
            writeln!(f, "  other roles     {}", others.join(", "))?;
            writeln!(
                f,
                "                  (from the ID token's cognito:roles; ask for one with role_arn)"
            )?;
        }
        writeln!(f, "  access key id   {}", who.access_key_id)?;
        writeln!(f, "  expires         {}", when(who.expires_at))
    }
}

/// The `~/.aws/config` section for this profile, naming this program by absolute path; none
/// at all (exit 5) when a name or path in it holds a control character.
fn snippet(ctx: &Ctx, aws_profile: Option<String>) -> CliResult<Exit> {
    let profile = ctx.profile()?;
    let pool = profile.identity_pool()?;
    let program = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| {
            Failure::new(
                Exit::Other,
                format!("cannot tell where this latchkey program is ({e}); write the credential_process line by hand."),
            )
        })?;
    let aws_profile = aws_profile.unwrap_or_else(|| aws_profile_name(&profile.name));
    let snippet = config_snippet(&aws_profile, &program, &profile.name, &pool.region)
        .map_err(CoreError::from)?;
    print!("{snippet}");
    Ok(Exit::Ok)
}
