//! Independent peers and private system services started by tests: `moto_server` (PyPI,
//! pinned in tests/interop/aws/requirements.txt) as Cognito Identity and STS, and a private
//! gnome-keyring on its own D-Bus session for tests that lock or break the keychain.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ports::free_port;

/// The role moto's identity pools hand out in the interop tests (moto accepts any ARN).
pub const MOTO_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyMotoRole";

/// A program of the pinned Python peers' virtualenv (`cargo xtask test` installs it); panics
/// with how to install it when it is missing.
pub fn aws_peer_bin(name: &str) -> PathBuf {
    let path = aws_peers_dir().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask test` installs the pinned Python peers (or: python3 -m venv \
         tests/interop/aws/.venv && tests/interop/aws/.venv/bin/pip install -r tests/interop/aws/requirements.txt)",
        path.display()
    );
    path
}

/// `tests/interop/aws`: the peers' requirements, virtualenv and scripts.
pub fn aws_peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/aws")
}

/// `moto_server` on a free loopback port, stopped on drop. Its log (stderr) is drained into
/// memory so a chatty server never blocks on a full pipe, and shown if it fails to start.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT/`: every service moto emulates answers here.
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let mut child = Command::new(aws_peer_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let log = drain(child.stderr.take().expect("a piped stderr"));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "moto_server exited ({status}) before listening:\n{}",
                    log.lock().unwrap()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}/"),
        }
    }

    /// `CreateIdentityPool` (moto accepts it unsigned); returns the pool id. Callable from
    /// sync and async tests alike (the blocking request runs on its own thread).
    pub fn create_identity_pool(&self) -> String {
        let endpoint = self.endpoint.clone();
        std::thread::spawn(move || {
            let answer: serde_json::Value = reqwest::blocking::Client::new()
                .post(&endpoint)
                .header("content-type", "application/x-amz-json-1.1")
                .header(
                    "x-amz-target",
                    "AWSCognitoIdentityService.CreateIdentityPool",
                )
                .body(r#"{"IdentityPoolName":"latchkey","AllowUnauthenticatedIdentities":false}"#)
                .send()
                .expect("moto answers CreateIdentityPool")
                .json()
                .expect("a JSON answer");
            answer["IdentityPoolId"]
                .as_str()
                .expect("an IdentityPoolId")
                .to_owned()
        })
        .join()
        .expect("the CreateIdentityPool thread")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(stderr: std::process::ChildStderr) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let mut log = sink.lock().unwrap();
            if log.len() < 64 * 1024 {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
    log
}

/// A `bash -c` script: an unlocked gnome-keyring (password in `$KEYRING_PW`, data under
/// `$XDG_DATA_HOME`) on the current D-Bus session, then `"$@"`, then the daemon stopped. Run it
/// under `dbus-run-session` without `DISPLAY`, so a locked collection's unlock prompt fails at
/// once instead of waiting for a user.
pub const ISOLATED_KEYRING_SCRIPT: &str = r#"
set -u
eval "$(printf '%s' "$KEYRING_PW" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
# Wait until the unlocked daemon owns the bus name; an early request would D-Bus-activate a
# second, locked daemon instead.
for _ in $(seq 100); do
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null \
    | grep -q true && break
  sleep 0.05
done
"$@"
status=$?
[ -n "${GNOME_KEYRING_PID:-}" ] && kill "$GNOME_KEYRING_PID" 2>/dev/null
exit $status
"#;
