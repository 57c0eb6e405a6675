//! Other processes on the same keychain: this test binary run again in a child mode (see
//! `child_process_entry`) without a Secret Service, with a locked one, or refreshing at once.

use super::*;

fn child(mode: &str, envs: &[(&str, String)]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "keychain::child_process_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, mode);
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

fn child_profile() -> Profile {
    let base = std::env::var("CHILD_IDP_BASE").unwrap();
    let mut p = Profile::cognito(
        "cog",
        "us-east-1",
        &std::env::var("CHILD_POOL").unwrap(),
        Url::parse(&base).unwrap(),
        &std::env::var("CHILD_CLIENT").unwrap(),
    );
    if let ProfileKind::Cognito { issuer, .. } = &mut p.kind {
        *issuer = Some(Url::parse(&std::env::var("CHILD_ISSUER").unwrap()).unwrap());
    }
    p.ports = vec![std::env::var("CHILD_PORT").unwrap().parse().unwrap()];
    p
}

pub(super) async fn child_no_secret_service() {
    let v = Vault::system();
    let h = v.probe();
    assert!(!h.ok, "probe must fail without a Secret Service");
    assert!(
        h.message.contains("Secret Service") || h.message.contains("keychain"),
        "{}",
        h.message
    );
    assert!(h.message.contains("memory only"), "{}", h.message);
    let s = Session::new(
        child_profile(),
        options_with(v, Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let st = s.storage();
    assert!(!st.persistent);
    assert!(
        st.warning
            .as_deref()
            .unwrap_or("")
            .contains("Secret Service"),
        "{st:?}"
    );
    s.sign_in(SignInOptions::default())
        .await
        .expect("memory-only sign-in works");
    let SessionState::SignedIn { storage, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert!(
        storage.warning.is_some(),
        "the warning is visible in the state"
    );
    println!("CHILD-OK");
}

pub(super) async fn child_locked_keychain() {
    let v = Vault::system();
    let h = v.probe();
    assert!(!h.ok, "probe must fail with a locked keyring");
    assert!(h.message.contains("locked"), "{}", h.message);
    assert!(
        h.message.contains("unlock"),
        "says what to do: {}",
        h.message
    );
    let s = Session::new(
        child_profile(),
        options_with(v, Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default())
        .await
        .expect("memory-only sign-in works");
    let SessionState::SignedIn { storage, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert!(!storage.persistent, "{storage:?}");
    assert!(storage.warning.unwrap().contains("locked"));
    println!("CHILD-OK");
}

pub(super) async fn child_refresher() {
    let dir = std::path::PathBuf::from(std::env::var("CHILD_SYNC_DIR").unwrap());
    let id = std::env::var("CHILD_ID").unwrap();
    let clock = Arc::new(OffsetClock::new(0));
    let vault = Vault::system_with_service(&std::env::var("CHILD_SERVICE").unwrap());
    let s = Session::new(
        child_profile(),
        SessionOptions {
            vault,
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        s.restore().await.unwrap(),
        SessionState::SignedIn { .. }
    ));
    std::fs::write(dir.join(format!("ready-{id}")), b"").unwrap();
    for _ in 0..600 {
        if dir.join("go").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(dir.join("go").exists());
    clock.set_offset(3600 - 120);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.tokens().await.map(|t| t.id_token.expose().len()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("tokens");
    }
    println!("CHILD-OK");
}

fn wait_for(path: &Path) {
    for _ in 0..1000 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never appeared", path.display());
}

fn child_env(idp: &devidp::DevIdp, profile: &Profile) -> Vec<(&'static str, String)> {
    vec![
        ("CHILD_IDP_BASE", idp.base_url()),
        ("CHILD_POOL", idp.user_pool_id()),
        ("CHILD_CLIENT", idp.client_id()),
        ("CHILD_ISSUER", idp.issuer()),
        ("CHILD_PORT", profile.ports[0].to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_absent_secret_service_gives_specific_error_and_memory_only_session() {
    let (idp, profile) = start_cognito(|_| {});
    let mut envs = child_env(&idp, &profile);
    envs.push((
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/latchkey-no-bus".into(),
    ));
    // The Secret Service asked for and unreachable (`auto` would use the kernel keyring).
    envs.push(("LATCHKEY_KEYCHAIN", "secret-service".into()));
    let out =
        tokio::task::spawn_blocking(move || child("no_secret_service", &envs).output().unwrap())
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(idp.stats().token_authorization_code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_locked_collection_gives_specific_error_and_memory_only_session() {
    let have = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !have("dbus-run-session") || !have("gnome-keyring-daemon") {
        if std::env::var("LATCHKEY_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: dbus-run-session/gnome-keyring-daemon not installed");
            return;
        }
        panic!("install dbus and gnome-keyring (or set LATCHKEY_SKIP_KEYCHAIN_TESTS=1)");
    }
    let (idp, profile) = start_cognito(|_| {});
    let data = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut envs = child_env(&idp, &profile);
    envs.push(("XDG_DATA_HOME", data.path().display().to_string()));
    let out = tokio::task::spawn_blocking(move || {
        // A keyring daemon of its own that was never unlocked: every write needs a prompt,
        // and with no display the prompt is dismissed.
        let mut c = Command::new("dbus-run-session");
        c.args(["--", "sh", "-c", "eval \"$(gnome-keyring-daemon --start --components=secrets)\"; export GNOME_KEYRING_CONTROL; exec \"$0\" \"$@\""])
            .arg(exe)
            .args(["--exact", "keychain::child_process_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "locked_keychain")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("GNOME_KEYRING_CONTROL");
        for (k, v) in &envs {
            c.env(k, v);
        }
        c.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_refreshing_at_once_cause_one_refresh() {
    let Some(vault) = keychain_vault("twoproc") else {
        return;
    };
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::from_secs(0),
        })
    });
    let s = signed_in(profile.clone(), vault.clone()).await;
    drop(s);
    let sync = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let mut handles = Vec::new();
    for id in ["a", "b"] {
        let mut envs = child_env(&idp, &profile);
        envs.push(("CHILD_SYNC_DIR", sync.path().display().to_string()));
        envs.push(("CHILD_ID", id.to_string()));
        envs.push(("CHILD_SERVICE", vault.service().to_string()));
        envs.push(("LATCHKEY_RUNTIME_DIR", runtime.path().display().to_string()));
        handles.push(std::thread::spawn(move || {
            child("refresher", &envs).output().unwrap()
        }));
    }
    let syncp = sync.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        wait_for(&syncp.join("ready-a"));
        wait_for(&syncp.join("ready-b"));
        std::fs::write(syncp.join("go"), b"").unwrap();
    })
    .await
    .unwrap();
    for h in handles {
        let out = tokio::task::spawn_blocking(move || h.join().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("CHILD-OK"),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        idp.stats().token_refresh_token,
        1,
        "exactly one refresh across two processes"
    );
    let _ = delete(&vault, &profile.keychain_account());
    let _ = ErrorKind::Keychain;
}
