//! The command line as clap sees it: every command, flag, help text and example.
//! Parsing only; the commands themselves live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::help;
use crate::profile_args::ProfileCommand;

#[path = "cli_agent.rs"]
mod agent_args;
#[allow(unused_imports)] // the tests include this file without the commands that use it
pub use agent_args::{AgentArgs, AgentCommand};

/// `latchkey`: sign in to Amazon Cognito or any OpenID Connect provider from the terminal,
/// sharing the session (keychain entry, profiles) with the Latchkey desktop app.
#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "Sign in to Amazon Cognito / OpenID Connect from the terminal; shares its session with the Latchkey app.",
    after_help = format!("{}\n\n{}\n\n{}", help::MAIN_EXAMPLES, help::exit_table(), help::environment()),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The options every command takes, shown apart from each command's own.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
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
    #[command(after_help = help::after("login", "Examples:
  latchkey login
  latchkey login --profile work --timeout 120
  latchkey login --no-browser      # SSH, port forwarded: open the URL yourself
  latchkey login --paste           # SSH, no forwarding: paste the address
  latchkey login --browser-command firefox
  latchkey login --switch-user     # end the browser session, then ask who
  latchkey login --param lang=fr --param idp_identifier=example.com

With --paste, the browser may be on any computer: after signing in it ends on the redirect
URI (`http://localhost:PORT/callback?code=…&state=…`, often a \"cannot connect\" page); copy
that whole address from the address bar and paste it on stdin. It gets the same checks as the
callback itself (state, PKCE, token verification), and is never printed back.

While waiting, Ctrl-C cancels, frees the callback port and exits 130; a saved session is kept."))]
    Login(LoginArgs),
    /// Show whether you are signed in, as whom, and until when
    #[command(after_help = help::after("status", "Examples:
  latchkey status
  latchkey status --json | jq -r .email
  latchkey status --all            # every profile (* marks the default)
  latchkey status --all --json \\
      | jq -r '.[] | select(.signed_in) | .profile'

Exits 0 when signed in and 12 when not (the status is printed either way). `--all` reads the
keychain only (no refresh, no network, no browser) and exits 0 once the table is printed."))]
    Status(StatusArgs),
    /// Print a fresh token (refreshing it if needed) and nothing else on stdout
    #[command(after_help = help::after("token", "Examples:
  curl -H \"Authorization: $(latchkey token)\" https://api.example.com/me
  curl -H \"Authorization: Bearer $(latchkey token --access)\" \\
      https://api.example.com/me
  latchkey token --json | jq .expires_at
  latchkey token --format kubectl  # kubectl's exec plugin (see below)

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
otherwise. It never opens a browser: when the session has ended it fails (exit 12) and kubectl
shows the message; run `latchkey login` and retry."))]
    Token(TokenArgs),
    /// Call a protected API with the profile's token (same origin rule as the app)
    #[command(after_help = help::after("call", "Examples:
  latchkey call https://api.example.com/me
  latchkey call -X POST -H 'Content-Type: application/json' -d '{\"qty\":1}' \\
      https://api.example.com/orders
  latchkey call -d @order.json -X PUT https://api.example.com/orders/7
  latchkey call -i /demo-api/me    # a path on the first api_base_urls entry
  latchkey call --sigv4 \\
      https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items

The URL's origin must be listed in the profile's `api_base_urls` (or be the provider's own
origin); `--allow-any-origin` sends the token elsewhere once, on purpose. `--sigv4` signs the
request with the identity pool's AWS credentials instead of sending a token (API Gateway
`AWS_IAM` authorization), under the same origin rule."))]
    Call(CallArgs),
    /// Ask the provider who you are: its userinfo endpoint, with the access token
    #[command(after_help = help::after("userinfo", "Examples:
  latchkey userinfo
  latchkey userinfo --json | jq -r .email

The answer is checked: its `sub` must be the ID token's. Cognito answers only for an access
token with the `openid` scope (and `email`/`profile` for those attributes)."))]
    Userinfo(UserinfoArgs),
    /// Decode and verify a JWT: header, claims with readable times, checks
    #[command(after_help = help::after("inspect", "Examples:
  latchkey inspect                 # the current ID token
  latchkey inspect --access        # the current access token
  latchkey inspect eyJraWQiOi...   # a token you pasted
  pbpaste | latchkey inspect -
  latchkey inspect --json | jq .claims
  latchkey inspect --expect group=admins --expect custom:tenant=acme
                                   # CI: exit 11 unless both hold
  latchkey inspect --access --expect scope=orders/read"))]
    Inspect(InspectArgs),
    /// Sign out: revoke the refresh token and delete it from the keychain
    #[command(after_help = help::after("logout", "Examples:
  latchkey logout
  latchkey logout --everywhere     # every device, and the browser session
  latchkey logout --stray          # sessions no profile uses (see `doctor`)"))]
    Logout(LogoutArgs),
    /// Manage profiles (which provider, client and ports)
    #[command(
        subcommand,
        after_help = "Examples:
  latchkey profile add work --cognito --region eu-west-1 \\
      --user-pool-id eu-west-1_AbCdEf123 --client-id 1example23456789 \\
      --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey profile show work       # the callback URLs to register
  latchkey profile use work
  latchkey profile list"
    )]
    Profile(ProfileCommand),
    /// Check configuration, provider, keychain, ports, clock and browser, and explain problems
    #[command(after_help = help::after("doctor", "Examples:
  latchkey doctor
  latchkey doctor --profile work --json
  latchkey doctor --json | jq .stray_sessions  # sessions no profile uses

Exits 0 when nothing failed (warnings allowed), 1 otherwise."))]
    Doctor(DoctorArgs),
    /// AWS credentials from your sign-in (the profile's Cognito identity pool)
    #[command(subcommand, after_help = help::prose(help::AWS_EXAMPLES))]
    Aws(AwsCommand),
    /// Run a program with the profile's AWS credentials in its environment (and nowhere else)
    #[command(after_help = help::after("exec", help::EXEC_HELP))]
    Exec(ExecArgs),
    /// Print the profile's AWS credentials as shell lines to evaluate (prefer `exec`)
    #[command(after_help = help::after("env", help::ENV_HELP))]
    Env(EnvArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = help::after("completions", "Examples:
  source <(latchkey completions bash)          # this bash session
  latchkey completions bash \\
      > ~/.local/share/bash-completion/completions/latchkey
  latchkey completions zsh > ~/.zfunc/_latchkey  # fpath+=(~/.zfunc) in ~/.zshrc
  latchkey completions fish > ~/.config/fish/completions/latchkey.fish
  latchkey completions powershell >> $PROFILE

The .deb and .rpm install the bash, zsh and fish scripts already."))]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout
    #[command(after_help = help::after("man", "Examples:
  latchkey man | man -l -
  latchkey man | gzip > ~/.local/share/man/man1/latchkey.1.gz

The .deb and .rpm install it as `man latchkey`."))]
    Man,
    /// Run the development provider in the foreground (same as `latchkey-devidp`)
    #[command(
        disable_help_flag = true,
        after_help = help::after("devidp", "Examples:
  latchkey devidp                  # on 47211 and 47212, as the app's Demo
  latchkey devidp --rotation=5
  latchkey devidp --help           # all of the provider's options")
    )]
    Devidp(DevidpArgs),
    /// Run the session agent in the foreground, or ask the running one (status, stop)
    #[command(after_help = agent_args::AGENT_HELP)]
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
                ProfileCommand::List { json, .. }
                | ProfileCommand::Show { json, .. }
                | ProfileCommand::Import { json, .. },
            ) => *json,
            Command::Aws(AwsCommand::Whoami { json, .. }) => *json,
            Command::Env(a) => a.shell == EnvShell::Json,
            Command::Agent(a) => a.wants_json(),
            Command::Profile(_)
            | Command::Aws(_)
            | Command::Exec(_)
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
    /// Browser for this sign-in: a JSON array with "{url}" where the address goes, `none`,
    /// `system`, or a command line split on whitespace (the address last); wins over
    /// LATCHKEY_BROWSER_COMMAND and the profile's `browser`
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
    /// Also ask the provider whether the session is still valid there, not only by its
    /// tokens' expiry: Cognito profiles call the user pool's GetUser (the access token needs
    /// the aws.cognito.signin.user.admin scope), and a session signed out everywhere from
    /// another device shows as ended (exit 12). OpenID Connect profiles: the expiry alone, as
    /// without --check
    #[arg(long, conflicts_with = "all")]
    pub check: bool,
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
    /// With an agent and no terminal: when a sign-in is needed, wait up to SECONDS for the
    /// user to sign in from the agent's notification (default: exit 13 at once)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_sign_in: u64,
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

#[derive(Subcommand, Debug)]
pub enum AwsCommand {
    /// Print the profile's AWS credentials (cached, or fetched with the sign-in)
    #[command(after_help = help::after("aws credentials", help::AWS_EXAMPLES))]
    Credentials {
        /// `process`: the credential_process JSON; `env`: `export AWS_…=` lines
        #[arg(long, value_enum, default_value = "process")]
        format: CredentialsFormat,
        /// As `token --wait-for-sign-in`: wait up to SECONDS for a sign-in from the agent's
        /// notification
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait_for_sign_in: u64,
    },
    /// Show the identity, role, expiry and the user's other roles
    #[command(after_help = help::after("aws whoami", help::AWS_EXAMPLES))]
    Whoami {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Print the ~/.aws/config section that runs `latchkey aws credentials`
    #[command(after_help = help::after("aws config-snippet", help::AWS_EXAMPLES))]
    ConfigSnippet {
        /// The AWS profile's name (default: the Latchkey profile's)
        #[arg(long, value_name = "NAME")]
        aws_profile: Option<String>,
    },
    /// Serve the credentials to AWS SDKs on 127.0.0.1 (the container-credentials endpoint)
    #[command(after_help = help::after("aws serve", help::AWS_SERVE_HELP))]
    Serve,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsFormat {
    /// The `credential_process` JSON (Version 1) an AWS SDK reads
    Process,
    /// `export AWS_…=` lines for `eval` in a shell
    Env,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// As `token --wait-for-sign-in`: wait up to SECONDS for a sign-in from the agent's
    /// notification
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_sign_in: u64,
    /// The program to run and its arguments (after `--`)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    /// The shell that evaluates the lines (`json`: one object of the variables)
    #[arg(long, value_enum, value_name = "SHELL")]
    pub shell: EnvShell,
    /// As `token --wait-for-sign-in`: wait up to SECONDS for a sign-in from the agent's
    /// notification
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_sign_in: u64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvShell {
    /// `unset` and `export NAME='value'` lines
    Bash,
    /// The same lines as bash
    Zsh,
    /// `set -e` and `set -gx NAME 'value'` lines
    Fish,
    /// `Remove-Item Env:` and `$Env:NAME = 'value'` lines
    Powershell,
    /// One JSON object: {"AWS_ACCESS_KEY_ID": …}
    Json,
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
