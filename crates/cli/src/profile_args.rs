//! The command line of `latchkey profile`: its subcommands and the flags of `profile add`.
//! Parsing only, as `cli.rs` (which names it); `commands/profile.rs` runs them.

use clap::{Args, Subcommand, ValueEnum};

use crate::help;

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// List the profiles (the default is marked with *)
    #[command(after_help = help::after("profile list", "Examples:
  latchkey profile list
  latchkey profile list --json
  latchkey profile list --names"))]
    List {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Only the names, one per line (what shell completion of --profile reads)
        #[arg(long, conflicts_with = "json")]
        names: bool,
    },
    /// Add (or with --force replace) a profile
    #[command(after_help = help::after("profile add", "Examples:
  latchkey profile add work --cognito --region eu-west-1 \\
      --user-pool-id eu-west-1_AbCdEf123 --client-id 1example23456789 \\
      --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey profile add google --issuer https://accounts.google.com \\
      --client-id 123.apps.googleusercontent.com
  latchkey profile add demo --cognito --region us-east-1 \\
      --user-pool-id us-east-1_DevPool01 \\
      --client-id latchkeydev0desktop0client --domain http://127.0.0.1:47211 \\
      --issuer http://127.0.0.1:47212/us-east-1_DevPool01 \\
      --api-base-url http://127.0.0.1:47211/
  latchkey profile add work … \\
      --identity-pool-id eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d

The built-in development provider (no account, no network; Latchkey runs it in-process
whenever a command needs it):
  latchkey profile add demo --demo

From a file another tool wrote (`-` reads stdin); what was read, from where, is shown
before anything is saved (on a terminal you are asked; in a script pass --yes):
  aws cognito-idp describe-user-pool-client --user-pool-id eu-west-1_AbCdEf123 \\
      --client-id 1example23456789 > client.json
  latchkey profile add work --from-file client.json \\
      --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey profile add web --from-file amplify_outputs.json      (Amplify Gen 2)
  latchkey profile add web --from-file src/aws-exports.js        (Amplify Gen 1)
An app client with a secret is refused (a desktop app cannot keep one). Callback URLs that
are not loopback are reported: Latchkey needs http://localhost:PORT/PATH registered.

Then `latchkey profile show NAME` prints the callback URLs to register at the provider."))]
    Add(Box<ProfileAddArgs>),
    /// Import the profiles of a file (an exported one), after showing what they set
    #[command(
        after_help = help::after("profile import", "A profile file is untrusted input: the review lists every setting that differs
from the defaults, where tokens go first. `browser` (and its old name `browser_command`) is
never imported (a file may not choose a program to run here). A profile of the same name is replaced only with
--replace; when the replace sends tokens elsewhere (issuer, client id, domain, API base
URLs, identity pool), the old session is signed out first.

Examples:
  latchkey profile import work.latchkey.toml
  latchkey profile import work.latchkey.toml --replace
  latchkey profile import shared.toml --yes --json")
    )]
    Import {
        /// The profiles file to import (at most 1 MiB)
        file: std::path::PathBuf,
        /// Replace a profile of the same name (its session is signed out first when its
        /// tokens would go elsewhere)
        #[arg(long)]
        replace: bool,
        /// Save without asking (needed when no terminal can ask, e.g. in a script)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print the review as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a profile and the redirect URIs to register at the provider
    #[command(after_help = help::after("profile show", "Examples:
  latchkey profile show
  latchkey profile show work --json"))]
    Show {
        /// Profile name (default: the default profile)
        name: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile (also an invalid one), revoking and deleting its stored sessions
    #[command(after_help = help::after("profile remove", "Examples:
  latchkey profile remove old-pool"))]
    Remove {
        /// The profile to remove
        name: String,
        /// Keep the stored sessions in the keychain
        #[arg(long)]
        keep_session: bool,
    },
    /// Make a profile the default
    #[command(after_help = help::after("profile use", "Examples:
  latchkey profile use work"))]
    Use {
        /// The profile to make the default
        name: String,
    },
    /// Show or set the browser that opens a profile's sign-in page, and list the browsers
    /// and browser profiles found on this machine
    #[command(after_help = help::after("profile browser", "The setting is machine-local: never exported or imported. Without --set, this prints
the profile's browser and, for each browser profile found on this machine (Chromium,
Chrome, Brave, Edge, Firefox), the value that selects it.

Examples:
  latchkey profile browser work
  latchkey profile browser work --set '[\"firefox\", \"-P\", \"work\", \"{url}\"]'
  latchkey profile browser work --set '[\"chromium\", \"--incognito\", \"{url}\"]'
  latchkey profile browser work --set none     # print the address
  latchkey profile browser work --set system   # the system default"))]
    Browser {
        /// Profile name (default: the default profile)
        name: Option<String>,
        /// The new setting: a JSON array with "{url}" where the address goes (without it, the
        /// address comes last), `none` or `system`
        #[arg(long, value_name = "BROWSER")]
        set: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ProfileAddArgs {
    /// Name of the new profile
    pub name: String,
    /// An Amazon Cognito user pool (needs --region, --user-pool-id, --domain)
    #[arg(long, requires_all = ["region", "user_pool_id", "domain"])]
    pub cognito: bool,
    /// The built-in development provider, run in-process when a command needs it
    #[arg(long, conflicts_with_all = ["cognito", "issuer", "client_id", "from_file", "identity_pool_id"])]
    pub demo: bool,
    /// Read a Cognito app client's settings from FILE (`-`: stdin): the JSON of `aws
    /// cognito-idp describe-user-pool-client` (needs --domain), Amplify's
    /// amplify_outputs.json or aws-exports.js
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cognito", "issuer", "client_id", "region", "user_pool_id"])]
    pub from_file: Option<std::path::PathBuf>,
    /// With --from-file: save what was read without asking (needed when no terminal can ask)
    #[arg(long, short = 'y', requires = "from_file")]
    pub yes: bool,
    /// AWS region of the user pool, e.g. eu-west-1
    #[arg(long, requires = "cognito")]
    pub region: Option<String>,
    /// User pool id, e.g. eu-west-1_AbCdEf123
    #[arg(long, requires = "cognito")]
    pub user_pool_id: Option<String>,
    /// Hosted-UI domain: a prefix, the full URL, or your custom domain (with --cognito or
    /// --from-file)
    #[arg(long)]
    pub domain: Option<String>,
    /// Issuer URL (generic OIDC; with --cognito, an override for local emulators)
    #[arg(long, required_unless_present_any = ["cognito", "demo", "from_file"])]
    pub issuer: Option<String>,
    /// App client id (a public client, no secret)
    #[arg(long, required_unless_present_any = ["demo", "from_file"])]
    pub client_id: Option<String>,
    /// Scope to request (repeatable; default: openid email profile)
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Callback port (repeatable; default 53682 53683 53684 for Cognito, any port for OIDC)
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,
    /// Redirect host: `localhost`, `127.0.0.1` or `[::1]`
    #[arg(long, value_name = "HOST")]
    pub redirect_host: Option<String>,
    /// Sign-out URL registered at the provider (Cognito "Allowed sign-out URLs")
    #[arg(long, value_name = "URL")]
    pub sign_out_uri: Option<String>,
    /// API origin the token may be sent to (repeatable)
    #[arg(long = "api-base-url", value_name = "URL")]
    pub api_base_urls: Vec<String>,
    /// Which token `call` sends
    #[arg(long, value_enum)]
    pub api_token: Option<TokenKindArg>,
    /// How `call` sends it
    #[arg(long, value_enum)]
    pub api_scheme: Option<SchemeArg>,
    /// Cognito: go straight to this identity provider (e.g. Google)
    #[arg(long, value_name = "NAME")]
    pub identity_provider: Option<String>,
    /// Identity pool for AWS credentials (REGION:GUID), see `latchkey aws --help`
    #[arg(long, value_name = "ID")]
    pub identity_pool_id: Option<String>,
    /// IAM role to ask the identity pool for (one of the user's `cognito:roles`)
    #[arg(long, value_name = "ARN", requires = "identity_pool_id")]
    pub role_arn: Option<String>,
    /// Cognito Identity and STS endpoint instead of AWS's (a local emulator)
    #[arg(long, value_name = "URL", requires = "identity_pool_id")]
    pub identity_endpoint: Option<String>,
    /// How the ID token is traded: `enhanced` (default) or `classic` (needs --role-arn)
    #[arg(long, value_enum, requires = "identity_pool_id")]
    pub identity_flow: Option<FlowArg>,
    /// Browser for the sign-in page: a JSON array with "{url}", e.g.
    /// '["firefox","-P","work","{url}"]', `none` (print the address) or `system` (default);
    /// see `latchkey profile browser`
    #[arg(long, value_name = "BROWSER")]
    pub browser: Option<String>,
    /// Make it the default profile
    #[arg(long = "default")]
    pub make_default: bool,
    /// Replace an existing profile of the same name (its session is signed out first when
    /// its tokens would go elsewhere)
    #[arg(long)]
    pub force: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum TokenKindArg {
    /// The ID token
    Id,
    /// The access token
    Access,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum SchemeArg {
    /// `Authorization: Bearer <token>`
    Bearer,
    /// `Authorization: <token>` (API Gateway Cognito authorizers)
    Raw,
    /// Signed with the identity pool's AWS credentials (needs an `[aws]` table)
    Sigv4,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FlowArg {
    /// GetId, then GetCredentialsForIdentity: the role the pool picks
    Enhanced,
    /// GetOpenIdToken, then STS AssumeRoleWithWebIdentity with --role-arn
    Classic,
}
