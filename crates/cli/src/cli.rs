//! The command line as clap sees it: every command, flag, help text and example.
//! Parsing only; the commands themselves live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[path = "cli_agent.rs"]
mod agent_args;
#[allow(unused_imports)]
pub use agent_args::{AgentArgs, AgentCommand, AGENT_HELP};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   success
  1   any other error (verification failure, browser, internal)
  2   not signed in, or the session expired at the provider (run `latchkey login`)
  3   provider unreachable or answering with an error
  4   keychain unavailable or refusing access
  5   configuration invalid (file, profile or flag values)
  6   sign-in cancelled (Ctrl-C), timed out, or refused by the user
  7   token refused: the URL's origin is not in the profile's `api_base_urls`
  8   no callback port free
  9   `call --fail`: the API answered with HTTP status 400 or above
  10  `aws`, `call --sigv4`: the identity pool refused (see `latchkey aws --help`)
  11  `inspect`: an expectation (`--expect`, the profile's `expect`) or a check failed
  13  sign-in needed, and this caller may not open a browser (no terminal, or --no-browser):
      run `latchkey login` in a terminal, then try again
  64  command-line usage error

Environment:
  LATCHKEY_CONFIG              profile file (default: config.toml in the OS config directory)
  LATCHKEY_PROFILE             profile to use when --profile is not given
  LATCHKEY_KEYCHAIN_SERVICE    keychain service name (default `latchkey`; shared with the app)
  LATCHKEY_BROWSER_COMMAND     program that opens the sign-in URL (receives it as one argument)
  LATCHKEY_AGENT               `off`: never ask the session agent (`latchkey agent`)";

const MAIN_EXAMPLES: &str = "\
Examples:
  latchkey profile add work --cognito --region eu-west-1 --user-pool-id eu-west-1_AbCdEf123 \\
      --client-id 1example23456789 --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey login
  curl -H \"Authorization: $(latchkey token)\" https://api.example.com/me
  latchkey call https://api.example.com/me
  latchkey aws credentials          # for `credential_process` in ~/.aws/config
  latchkey status --json";

/// `latchkey`: sign in to Amazon Cognito or any OpenID Connect provider from the terminal,
/// sharing the session (keychain entry, profiles) with the Latchkey desktop app.
#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "Sign in to Amazon Cognito / OpenID Connect from the terminal; shares its session with the Latchkey app.",
    after_help = format!("{MAIN_EXAMPLES}\n\n{EXIT_CODES_HELP}"),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Profile to use (default: the file's `default`, or its only profile)
    #[arg(
        long,
        short = 'p',
        global = true,
        env = "LATCHKEY_PROFILE",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// Profile file (overrides LATCHKEY_CONFIG)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log what the engine does on stderr (repeat for more; secrets are never logged)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sign in through the system browser (loopback redirect + PKCE)
    #[command(after_help = format!("Examples:
  latchkey login
  latchkey login --profile work --timeout 120
  latchkey login --no-browser            # SSH with the port forwarded: open the URL yourself
  latchkey login --paste                 # SSH without forwarding: paste where the browser ended
  latchkey login --browser-command firefox
  latchkey login --switch-user           # end the provider's browser session, then ask who signs in
  latchkey login --param lang=fr --param idp_identifier=example.com

With --paste, the browser may be on any computer: after signing in it ends on the redirect
URI (`http://localhost:PORT/callback?code=…&state=…`, often a \"cannot connect\" page); copy
that whole address from the address bar and paste it on stdin. It gets the same checks as the
callback itself (state, PKCE, token verification), and is never printed back.

While waiting, Ctrl-C cancels and frees the callback port.\n\n{EXIT_CODES_HELP}"))]
    Login(LoginArgs),
    /// Show whether you are signed in, as whom, and until when
    #[command(after_help = format!("Examples:
  latchkey status
  latchkey status --json | jq -r .email
  latchkey status --all            # every profile in one table (* marks the default)
  latchkey status --all --json | jq -r '.[] | select(.signed_in) | .profile'

Exits 0 when signed in and 2 when not (the status is printed either way). `--all` reads the
keychain only (no refresh, no network, no browser) and exits 0 once the table is printed.\n\n{EXIT_CODES_HELP}"))]
    Status(StatusArgs),
    /// Print a fresh token (refreshing it if needed) and nothing else on stdout
    #[command(after_help = format!("Examples:
  curl -H \"Authorization: $(latchkey token)\" https://api.example.com/me
  curl -H \"Authorization: Bearer $(latchkey token --access)\" https://api.example.com/me
  latchkey token --json | jq .expires_at
  latchkey token --format kubectl       # kubectl's exec credential plugin (see below)

`--format kubectl` prints a `client.authentication.k8s.io/v1` ExecCredential with the token and
its expiry, for a kubeconfig user such as:
  users:
  - name: latchkey
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: latchkey
        args: [token, --format, kubectl, --profile, work]
        interactiveMode: Never
It sends the profile's `api_token` (the ID token unless set) unless --id or --access says
otherwise. It never opens a browser: when the session has ended it fails (exit 2) and kubectl
shows the message; run `latchkey login` and retry.\n\n{EXIT_CODES_HELP}"))]
    Token(TokenArgs),
    /// Call a protected API with the profile's token (same origin rule as the app)
    #[command(after_help = format!("Examples:
  latchkey call https://api.example.com/me
  latchkey call -X POST -H 'Content-Type: application/json' -d '{{\"qty\":1}}' https://api.example.com/orders
  latchkey call -d @order.json -X PUT https://api.example.com/orders/7
  latchkey call -i /demo-api/me          # a path: on the profile's first api_base_urls entry
  latchkey call --sigv4 https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items

The URL's origin must be listed in the profile's `api_base_urls` (or be the provider's own
origin); `--allow-any-origin` sends the token elsewhere once, on purpose. `--sigv4` signs the
request with the identity pool's AWS credentials instead of sending a token (API Gateway
`AWS_IAM` authorization), under the same origin rule.\n\n{EXIT_CODES_HELP}"))]
    Call(CallArgs),
    /// Ask the provider who you are: its userinfo endpoint, with the access token
    #[command(after_help = format!("Examples:
  latchkey userinfo
  latchkey userinfo --json | jq -r .email

The answer is checked: its `sub` must be the ID token's. Cognito answers only for an access
token with the `openid` scope (and `email`/`profile` for those attributes).\n\n{EXIT_CODES_HELP}"))]
    Userinfo(UserinfoArgs),
    /// Decode and verify a JWT: header, claims with readable times, checks
    #[command(after_help = format!("Examples:
  latchkey inspect                 # the current ID token
  latchkey inspect --access        # the current access token
  latchkey inspect eyJraWQiOi...   # a token you pasted
  pbpaste | latchkey inspect -
  latchkey inspect --json | jq .claims
  latchkey inspect --expect group=admins --expect custom:tenant=acme   # CI: exit 11 unless both hold
  latchkey inspect --access --expect scope=orders/read\n\n{EXIT_CODES_HELP}"))]
    Inspect(InspectArgs),
    /// Sign out: revoke the refresh token and delete it from the keychain
    #[command(after_help = format!("Examples:
  latchkey logout
  latchkey logout --everywhere     # every device (Cognito GlobalSignOut) and the browser session
  latchkey logout --stray          # sessions no profile uses any more (see `latchkey doctor`)\n\n{EXIT_CODES_HELP}"))]
    Logout(LogoutArgs),
    /// Manage profiles (which provider, client and ports)
    #[command(
        subcommand,
        after_help = "Examples:
  latchkey profile add work --cognito --region eu-west-1 --user-pool-id eu-west-1_AbCdEf123 \\
      --client-id 1example23456789 --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey profile show work       # the callback URLs to register at the provider
  latchkey profile use work
  latchkey profile list"
    )]
    Profile(ProfileCommand),
    /// Check configuration, provider, keychain, ports, clock and browser, and explain problems
    #[command(after_help = format!("Examples:
  latchkey doctor
  latchkey doctor --profile work --json
  latchkey doctor --json | jq .stray_sessions   # sessions no profile uses any more

Exits 0 when nothing failed (warnings allowed), 1 otherwise.\n\n{EXIT_CODES_HELP}"))]
    Doctor(DoctorArgs),
    /// AWS credentials from your sign-in (the profile's Cognito identity pool)
    #[command(subcommand, after_help = AWS_HELP)]
    Aws(AwsCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = "Examples:
  source <(latchkey completions bash)                      # this bash session
  latchkey completions bash > ~/.local/share/bash-completion/completions/latchkey
  latchkey completions zsh > ~/.zfunc/_latchkey            # with fpath+=(~/.zfunc) in ~/.zshrc
  latchkey completions fish > ~/.config/fish/completions/latchkey.fish
  latchkey completions powershell >> $PROFILE

The .deb and .rpm install the bash, zsh and fish scripts already.")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout
    #[command(after_help = "Examples:
  latchkey man | man -l -
  latchkey man | gzip > ~/.local/share/man/man1/latchkey.1.gz

The .deb and .rpm install it as `man latchkey`.")]
    Man,
    /// Run the development provider in the foreground (same as `latchkey-devidp`)
    #[command(
        disable_help_flag = true,
        after_help = "Examples:
  latchkey devidp
  latchkey devidp --rotation=5          # 127.0.0.1:47211 and :47212, as the app's Demo
  latchkey devidp --help           # all of the provider's options"
    )]
    Devidp(DevidpArgs),
    /// Run the session agent in the foreground, or ask the running one (status, stop)
    #[command(after_help = AGENT_HELP)]
    Agent(AgentArgs),
}

impl Command {
    /// `latchkey agent` itself (not `status` or `stop`): it logs to stderr at `info`.
    pub fn is_agent_server(&self) -> bool {
        matches!(self, Command::Agent(a) if a.command.is_none())
    }

    /// Whether the command was asked for JSON (`--json`, `token --format json`): its errors are
    /// then JSON on stderr too. kubectl's ExecCredential is not: kubectl shows the plugin's
    /// stderr to people.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Login(a) => a.json,
            Command::Status(a) => a.json,
            Command::Token(a) => a.json || a.format == Some(TokenFormat::Json),
            Command::Call(a) => a.json,
            Command::Userinfo(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Logout(a) => a.json,
            Command::Doctor(a) => a.json,
            Command::Profile(
                ProfileCommand::List { json }
                | ProfileCommand::Show { json, .. }
                | ProfileCommand::Import { json, .. },
            ) => *json,
            Command::Aws(AwsCommand::Whoami { json, .. }) => *json,
            Command::Agent(a) => a.wants_json(),
            Command::Profile(_)
            | Command::Aws(_)
            | Command::Completions(_)
            | Command::Man
            | Command::Devidp(_) => false,
        }
    }
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Do not open a browser: print the URL and wait (for SSH / remote sessions; wins over --browser-command)
    #[arg(long)]
    pub no_browser: bool,
    /// Do not open a browser: print the URL, then read the address the browser ended on from
    /// stdin (SSH without port forwarding; the browser can be on any computer)
    #[arg(long, conflicts_with = "switch_user")]
    pub paste: bool,
    /// Program that opens the URL (receives it as one argument; split on whitespace); wins over
    /// LATCHKEY_BROWSER_COMMAND and the profile's browser_command
    #[arg(long, value_name = "CMD")]
    pub browser_command: Option<String>,
    /// Callback port to listen on (must be registered at the provider)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Give up after this many seconds (default: the profile's sign_in_timeout_secs)
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: Option<u64>,
    /// Open the provider's sign-up page instead of the sign-in page
    #[arg(long, conflicts_with = "switch_user")]
    pub signup: bool,
    /// Sign in as another user: end the provider's browser session first (Cognito's /logout
    /// form; `prompt=login` elsewhere), so the login page asks who signs in
    #[arg(long)]
    pub switch_user: bool,
    /// An extra authorize parameter for this sign-in (repeatable), after the profile's
    /// `authorize_params`, e.g. `lang=fr` or `idp_identifier=example.com`
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Every profile's state in one table, from the keychain alone (no refresh, no network)
    #[arg(long)]
    pub all: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The ID token (default)
    #[arg(long, conflicts_with = "access")]
    pub id: bool,
    /// The access token
    #[arg(long)]
    pub access: bool,
    /// Print {"token", "kind", "expires_at"} as JSON (same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format: the bare token, JSON, or a kubectl ExecCredential
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<TokenFormat>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// The bare token and a newline
    Plain,
    /// {"token", "kind", "expires_at", "profile"}
    Json,
    /// A `client.authentication.k8s.io/v1` ExecCredential for kubectl's exec plugin
    Kubectl,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// HTTP method (default GET, or POST when -d is given)
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,
    /// Extra header (repeatable)
    #[arg(short = 'H', long = "header", value_name = "K: V")]
    pub headers: Vec<String>,
    /// Request body, or @FILE to read it from a file (@- for stdin)
    #[arg(short = 'd', long = "data", value_name = "BODY|@FILE")]
    pub data: Option<String>,
    /// Show the status line and response headers too
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Send the ID token (overrides the profile's api_token)
    #[arg(long, conflicts_with = "access")]
    pub id: bool,
    /// Send the access token (overrides the profile's api_token)
    #[arg(long)]
    pub access: bool,
    /// `Authorization: Bearer <token>` (overrides the profile's api_scheme)
    #[arg(long, conflicts_with = "raw")]
    pub bearer: bool,
    /// `Authorization: <token>` (API Gateway Cognito authorizers)
    #[arg(long)]
    pub raw: bool,
    /// Sign the request with the identity pool's AWS credentials (SigV4) instead of a token
    #[arg(long, conflicts_with_all = ["id", "access", "bearer", "raw"])]
    pub sigv4: bool,
    /// With --sigv4: the service's signing name
    #[arg(
        long,
        requires = "sigv4",
        value_name = "NAME",
        default_value = "execute-api"
    )]
    pub service: String,
    /// With --sigv4: the region to sign for (default: the identity pool's)
    #[arg(long, requires = "sigv4", value_name = "REGION")]
    pub region: Option<String>,
    /// Send the token even though the origin is not in the profile's api_base_urls
    #[arg(long, alias = "allow-origin")]
    pub allow_any_origin: bool,
    /// Exit 9 when the API answers with status 400 or above
    #[arg(short = 'f', long)]
    pub fail: bool,
    /// Print {"status", "headers", "body", "elapsed_ms"} as JSON
    #[arg(long)]
    pub json: bool,
    /// The API URL, or a path (`/demo-api/me`) on the profile's first `api_base_urls` entry
    pub url: String,
}

#[derive(Args, Debug)]
pub struct UserinfoArgs {
    /// Print the provider's JSON answer as it came
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A JWT, or `-` to read it from stdin (default: the current session's token)
    pub token: Option<String>,
    /// Inspect the current access token instead of the ID token
    #[arg(long, conflicts_with = "token")]
    pub access: bool,
    /// Assert something about the token: `group=NAME` (cognito:groups), `scope=NAME` (the
    /// access token's scope), or `CLAIM=VALUE`. Repeatable; with the profile's own `expect`
    /// list, any that fails (or any failed check) exits with code 11
    #[arg(long, value_name = "ASSERTION", value_parser = parse_expectation)]
    pub expect: Vec<latchkey_core::Expectation>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Sign out on every device (Cognito's GlobalSignOut; needs the
    /// aws.cognito.signin.user.admin scope) and end the provider's browser session (opens its
    /// logout page)
    #[arg(long)]
    pub everywhere: bool,
    /// With --everywhere: print the logout URL instead of opening it
    #[arg(long)]
    pub no_browser: bool,
    /// Instead of this profile: revoke and delete the sessions (and AWS credentials) in the
    /// keychain that no profile uses any more, left by changing a profile's issuer or client id
    #[arg(long, conflicts_with_all = ["everywhere", "no_browser"])]
    pub stray: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

const AWS_HELP: &str = "\
Examples:
  latchkey aws credentials                      # credential_process JSON (Version 1)
  eval \"$(latchkey aws credentials --format env)\"
  latchkey aws whoami
  latchkey aws config-snippet >> ~/.aws/config  # then: aws sts get-caller-identity --profile NAME

The profile needs an `[profiles.NAME.aws]` table with `identity_pool_id` (or
`latchkey profile add … --identity-pool-id ID`). Credentials are kept in the keychain next
to the session and fetched again 16 minutes before they expire (AWS SDKs refresh from 15).

Exit codes of `latchkey aws` and `latchkey call --sigv4` (from the AWS error's kind):
  0   success
  1   an internal error
  2   not signed in, or the ID token expired and cannot be renewed: run `latchkey login`
  3   the identity service or STS is unreachable, throttling, or answering with an error
  4   keychain unavailable or refusing access
  5   configuration: no `[aws]` table, a bad setting, the identity pool not found, a wrong region
  10  refused by the identity pool: the user pool or app client is not one of its providers,
      a role the user does not have, a role that does not trust the pool, a rejected ID token";

#[derive(Subcommand, Debug)]
pub enum AwsCommand {
    /// Print the profile's AWS credentials (cached, or fetched with the sign-in)
    #[command(after_help = AWS_HELP)]
    Credentials {
        /// `process`: the credential_process JSON; `env`: `export AWS_…=` lines
        #[arg(long, value_enum, default_value = "process")]
        format: CredentialsFormat,
    },
    /// Show the identity, role, expiry and the user's other roles
    #[command(after_help = AWS_HELP)]
    Whoami {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Print the ~/.aws/config section that runs `latchkey aws credentials`
    #[command(after_help = AWS_HELP)]
    ConfigSnippet {
        /// The AWS profile's name (default: the Latchkey profile's)
        #[arg(long, value_name = "NAME")]
        aws_profile: Option<String>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsFormat {
    Process,
    Env,
}

#[derive(Args, Debug)]
pub struct DevidpArgs {
    /// Arguments for the development provider (see `latchkey devidp --help`)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// List the profiles (the default is marked with *)
    #[command(after_help = "Examples:
  latchkey profile list
  latchkey profile list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add (or with --force replace) a profile
    #[command(after_help = "Examples:
  latchkey profile add work --cognito --region eu-west-1 --user-pool-id eu-west-1_AbCdEf123 \\
      --client-id 1example23456789 --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey profile add google --issuer https://accounts.google.com --client-id 123.apps.googleusercontent.com
  latchkey profile add demo --cognito --region us-east-1 --user-pool-id us-east-1_DevPool01 \\
      --client-id latchkey-desktop --domain http://127.0.0.1:47211 \\
      --issuer http://127.0.0.1:47212/us-east-1_DevPool01 --api-base-url http://127.0.0.1:47211/
  latchkey profile add work … --identity-pool-id eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d

Then `latchkey profile show NAME` prints the callback URLs to register at the provider.")]
    Add(Box<ProfileAddArgs>),
    /// Import the profiles of a file (an exported one), after showing what they set
    #[command(
        after_help = "A profile file is untrusted input: the review lists every setting that differs
from the defaults, where tokens go first. `browser_command` is never imported (a file may
not choose a program to run here). A profile of the same name is replaced only with
--replace; when the replace sends tokens elsewhere (issuer, client id, domain, API base
URLs, identity pool), the old session is signed out first.

Examples:
  latchkey profile import work.latchkey.toml
  latchkey profile import work.latchkey.toml --replace
  latchkey profile import shared.toml --yes --json"
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
    #[command(after_help = "Examples:
  latchkey profile show
  latchkey profile show work --json")]
    Show {
        /// Profile name (default: the default profile)
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile (also an invalid one), revoking and deleting its stored sessions
    #[command(after_help = "Examples:
  latchkey profile remove old-pool")]
    Remove {
        name: String,
        /// Keep the stored sessions in the keychain
        #[arg(long)]
        keep_session: bool,
    },
    /// Make a profile the default
    #[command(after_help = "Examples:
  latchkey profile use work")]
    Use { name: String },
}

#[derive(Args, Debug)]
pub struct ProfileAddArgs {
    /// Name of the new profile
    pub name: String,
    /// An Amazon Cognito user pool (needs --region, --user-pool-id, --domain)
    #[arg(long, requires_all = ["region", "user_pool_id", "domain"])]
    pub cognito: bool,
    /// AWS region of the user pool, e.g. eu-west-1
    #[arg(long, requires = "cognito")]
    pub region: Option<String>,
    /// User pool id, e.g. eu-west-1_AbCdEf123
    #[arg(long, requires = "cognito")]
    pub user_pool_id: Option<String>,
    /// Hosted-UI domain: a prefix, the full URL, or your custom domain
    #[arg(long, requires = "cognito")]
    pub domain: Option<String>,
    /// Issuer URL (generic OIDC; with --cognito, an override for local emulators)
    #[arg(long, required_unless_present = "cognito")]
    pub issuer: Option<String>,
    /// App client id (a public client, no secret)
    #[arg(long)]
    pub client_id: String,
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
    Id,
    Access,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum SchemeArg {
    Bearer,
    Raw,
    Sigv4,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FlowArg {
    Enhanced,
    Classic,
}

/// `ASSERTION` of `inspect --expect`.
fn parse_expectation(text: &str) -> Result<latchkey_core::Expectation, String> {
    text.parse()
        .map_err(|e| format!("{e}; {}", latchkey_core::EXPECTATION_SYNTAX))
}

/// `KEY=VALUE` of `login --param`.
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE (e.g. lang=fr)")),
    }
}
