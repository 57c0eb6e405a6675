//! "Copy as curl" run for real: the console's command, in bash, against the development
//! provider's demo APIs, with a `latchkey` on PATH that prints the session's real ID token (or
//! AWS credentials) and a `curl` on PATH that records its arguments before running the real
//! one. The calls answer 200 for the signed-in user, no program's arguments held a secret, and
//! the SigV4 form leaves no AWS variable in the calling shell.

use std::path::PathBuf;
use std::process::Command;

use latchkey_app::console::{curl_command, ConsoleRequest};
use latchkey_core::aws::env_exports;
use latchkey_core::config::{Scheme, TokenChoice};
use latchkey_core::{HeldSecrets, Vault};
use latchkey_testkit::{signed_in, start_cognito, with_identity_pool};
use serde_json::Value;
use url::Url;

/// A folder of stand-ins put first on PATH, and where they record their arguments.
struct Stand {
    dir: tempfile::TempDir,
}

impl Stand {
    /// `latchkey` prints `token` for `latchkey token …` and `aws_env` for `latchkey aws …`;
    /// `curl` runs the real curl. Both append their arguments (NUL-separated) to a file.
    fn new(token: &str, aws_env: &str) -> Stand {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("token"), token).unwrap();
        std::fs::write(dir.path().join("aws-env"), aws_env).unwrap();
        let latchkey = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{d}/latchkey-argv'\ncase \"$1\" in\n  token) cat '{d}/token' ;;\n  aws) cat '{d}/aws-env' ;;\n  *) exit 2 ;;\nesac\n"
        );
        let curl = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{d}/curl-argv'\nexec '{}' \"$@\"\n",
            real_curl().display()
        );
        for (name, text) in [("latchkey", latchkey), ("curl", curl)] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Stand { dir }
    }

    /// Runs `command` in bash with only the stand-ins and the system on PATH, then prints the
    /// names of the shell's AWS_* variables; returns (the command's stdout, those names).
    fn run(&self, command: &str) -> (String, Vec<String>) {
        let script = format!("{command}\nprintf '\\nAWS-VARS:%s\\n' \"$(compgen -v AWS_)\"\n");
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().display()),
            )
            .env("HOME", self.dir.path())
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "the command failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let (body, vars) = stdout.rsplit_once("\nAWS-VARS:").expect("the marker line");
        let names = vars.split_whitespace().map(str::to_owned).collect();
        (body.to_owned(), names)
    }

    /// Every argument `program` was run with.
    fn arguments(&self, program: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(format!("{program}-argv")))
            .unwrap_or_default()
            .split('\0')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The real curl: the first on PATH.
fn real_curl() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("curl"))
        .find(|path| path.is_file())
        .expect("curl is installed")
}

fn request(url: &str, scheme: Scheme) -> ConsoleRequest {
    ConsoleRequest {
        method: "GET".into(),
        url: url.into(),
        params: vec![],
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
        token: TokenChoice::Id,
        scheme,
        token_header: "Authorization".into(),
        timeout_secs: 30,
        aws_service: None,
        aws_region: None,
    }
}

fn assert_no_argument_holds(stand: &Stand, secrets: &[&str]) {
    for program in ["curl", "latchkey"] {
        let arguments = stand.arguments(program);
        assert!(!arguments.is_empty(), "{program} was not run");
        for secret in secrets {
            assert!(
                !arguments.iter().any(|a| a.contains(secret)),
                "{program}'s arguments held a secret ({} arguments)",
                arguments.len()
            );
        }
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_curl_commands_call_the_api_without_a_secret_in_any_arguments_or_the_shell() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let session = signed_in(profile.clone(), Vault::memory()).await;
    let id_token = session.token(TokenChoice::Id).await.unwrap();
    let creds = session.aws_credentials().await.unwrap();
    let stand = Stand::new(id_token.expose(), &env_exports(&creds).unwrap());
    let base = Url::parse(&idp.base_url()).unwrap();

    // The token in its header, read by curl through a pipe.
    let url = base.join("/demo-api/me").unwrap();
    let bearer = curl_command(
        &request(url.as_str(), Scheme::Bearer),
        &url,
        &profile.name,
        None,
        &HeldSecrets::default(),
    );
    let (body, _) = stand.run(&bearer);
    let me = json(&body);
    assert_eq!(
        me["email"],
        latchkey_testkit::devidp::DEMO_USERNAME,
        "{body}"
    );
    assert_eq!(me["token_use"], "id");
    assert_no_argument_holds(&stand, &[id_token.expose()]);

    // SigV4: the key pair and session token from `latchkey aws credentials`, in a subshell.
    let url = base.join("/demo-aws-api/me").unwrap();
    let region = profile.identity_pool().unwrap().region;
    let signed = curl_command(
        &request(url.as_str(), Scheme::Sigv4),
        &url,
        &profile.name,
        Some(&region),
        &HeldSecrets::default(),
    );
    let (body, aws_variables) = stand.run(&signed);
    assert_eq!(
        json(&body)["cognito_identity_id"],
        creds.identity_id.as_str(),
        "{body}"
    );
    assert_eq!(
        aws_variables,
        Vec::<String>::new(),
        "the calling shell keeps no AWS variable"
    );
    assert_no_argument_holds(
        &stand,
        &[
            id_token.expose(),
            creds.secret_access_key.expose(),
            creds.session_token.expose(),
        ],
    );
    assert!(
        stand.arguments("latchkey").starts_with(&[
            "token".to_owned(),
            "--profile".to_owned(),
            profile.name.clone()
        ]),
        "the first command asked `latchkey token` for the profile's token"
    );
}
