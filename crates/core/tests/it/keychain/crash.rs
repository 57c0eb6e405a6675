//! The item format across crashes and versions: a write that dies between its commit and
//! its cleanup loses nothing, and a session stored by the first format is read and rewritten.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_rotated_token_survives_crash_between_commit_and_old_token_deletion() {
    let Some(keychain) = keychain_vault("crash") else {
        return;
    };
    let crash = CrashingStore::over(&keychain).unwrap();
    let vault = crash.vault();
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::from_secs(0),
        })
    });
    let s = signed_in(profile.clone(), vault.clone()).await;
    // The provider rotates; the process "dies" right after the new token is committed and
    // read back, before the old generation is deleted.
    crash.crash_at(Some(CrashPoint::AfterCommit));
    s.force_refresh().await.unwrap();
    drop(s);
    crash.crash_at(None);

    let fresh = Vault::system_with_service(vault.service());
    let s2 = Session::new(
        profile.clone(),
        SessionOptions {
            vault: fresh.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        s2.restore().await.unwrap(),
        SessionState::SignedIn { .. }
    ));
    // With grace 0 the old refresh token is dead: only the rotated one can refresh.
    s2.force_refresh()
        .await
        .expect("the rotated refresh token survived the crash");
    assert_eq!(idp.stats().token_refresh_token, 2);
    s2.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(get_bytes(&fresh, &profile.keychain_account())
        .unwrap()
        .is_none());
}

/// The header of `account`'s own item, as JSON (the line before an inline value).
fn header(vault: &Vault, account: &str) -> serde_json::Value {
    let item = raw_item(vault, account).unwrap().expect("the item exists");
    let line = item.split(|b| *b == b'\n').next().unwrap();
    serde_json::from_slice(line).expect("a JSON header")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_session_stored_by_the_first_format_is_restored_and_rewritten() {
    let Some(vault) = keychain_vault("v1") else {
        return;
    };
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::from_secs(0),
        })
    });
    let account = profile.keychain_account();
    let session = {
        let s = signed_in(profile.clone(), vault.clone()).await;
        let bytes = get_bytes(&vault, &account).unwrap().unwrap();
        drop(s);
        bytes
    };
    let before = load_session(&vault, &account).unwrap().unwrap().generation;
    delete(&vault, &account).unwrap();
    // What the first format wrote: a header line alone and the value in chunk items of its
    // generation (2,000 bytes each in its first release), plus the generation before it, which
    // a crash after that format's commit left behind.
    let parts: Vec<&[u8]> = session.chunks(2000).collect();
    assert!(parts.len() >= 2, "a Cognito session spans chunks");
    let v1 = format!(
        r#"{{"v":1,"gen":4,"chunks":{},"len":{}}}"#,
        parts.len(),
        session.len()
    );
    plant_raw_item(&vault, &account, v1.as_bytes()).unwrap();
    for (i, part) in parts.iter().enumerate() {
        plant_raw_item(&vault, &chunk_item(&account, 4, i), part).unwrap();
    }
    plant_raw_item(&vault, &chunk_item(&account, 3, 0), b"left by a crash").unwrap();

    // A new process reads it and refreshes with its refresh token (grace 0: only that one works).
    let fresh = Vault::system_with_service(vault.service());
    let s = Session::new(
        profile.clone(),
        SessionOptions {
            vault: fresh.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        s.restore().await.unwrap(),
        SessionState::SignedIn { .. }
    ));
    s.force_refresh()
        .await
        .expect("the refresh token stored by the first format works");
    assert_eq!(idp.stats().token_refresh_token, 1);

    // Rewritten in the current format, the old chunks gone.
    let head = header(&fresh, &account);
    assert_eq!(head["v"], 2, "{head}");
    assert_eq!(head["gen"], 5, "{head}");
    let inline = session.len() + 200 < CHUNK_SIZE;
    if inline {
        assert_eq!(head["chunks"], 0, "the session fits in one item: {head}");
    }
    for (gen, i) in [(4, 0), (4, 1), (3, 0)] {
        assert!(
            raw_item(&fresh, &chunk_item(&account, gen, i))
                .unwrap()
                .is_none(),
            "chunk {gen}.{i} of the first format is deleted"
        );
    }
    let stored = load_session(&fresh, &account).unwrap().unwrap();
    assert!(stored.generation > before);
    s.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(raw_item(&fresh, &account).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_crash_after_an_inline_commit_loses_nothing_and_the_next_write_cleans_up() {
    let Some(keychain) = keychain_vault("inline-crash") else {
        return;
    };
    let crash = CrashingStore::over(&keychain).unwrap();
    let vault = crash.vault();
    let big: Vec<u8> = (0..2 * CHUNK_SIZE).map(|i| (i % 251) as u8).collect();
    set_bytes(&vault, "acc", &big).unwrap();
    assert_eq!(header(&vault, "acc")["chunks"], 2);
    let gen = header(&vault, "acc")["gen"].as_u64().unwrap();
    let chunks_of_big = [chunk_item("acc", gen, 0), chunk_item("acc", gen, 1)];

    // The process "dies" after the new value is committed in one item and read back, before
    // the previous generation's chunks are deleted.
    let small = vec![b's'; 1000];
    crash.crash_at(Some(CrashPoint::AfterCommit));
    assert!(
        set_bytes(&vault, "acc", &small).is_err(),
        "the simulated crash"
    );
    crash.crash_at(None);

    let fresh = Vault::system_with_service(vault.service());
    assert_eq!(get_bytes(&fresh, "acc").unwrap().unwrap(), small);
    let head = header(&fresh, "acc");
    assert_eq!(head["chunks"], 0, "inline: {head}");
    assert_eq!(
        head["stale"]["gen"], gen,
        "the old chunks are named: {head}"
    );
    for c in &chunks_of_big {
        assert!(raw_item(&fresh, c).unwrap().is_some(), "{c} still there");
    }

    // The next write (another process) deletes them.
    let next = vec![b'n'; 1200];
    set_bytes(&fresh, "acc", &next).unwrap();
    assert_eq!(get_bytes(&fresh, "acc").unwrap().unwrap(), next);
    for c in &chunks_of_big {
        assert!(raw_item(&fresh, c).unwrap().is_none(), "{c} deleted");
    }
    delete(&fresh, "acc").unwrap();
    assert!(raw_item(&fresh, "acc").unwrap().is_none());
}
