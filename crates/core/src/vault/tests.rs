//! The item protocol's unit tests, over memory (a crash through [`CrashingStore`]) and, on
//! Linux, the real Secret Service.

use super::chunked::RawStore;
use super::*;
use crate::error::ErrorKind;

fn items(v: &Vault) -> Vec<String> {
    let mut names = v
        .accounts()
        .unwrap()
        .expect("a memory vault lists its items");
    names.sort();
    names
}

/// The store under `v`'s item protocol.
fn raw(v: &Vault) -> &dyn RawStore {
    v.backend().raw().unwrap()
}

/// A memory vault whose writes die at the point its [`CrashingStore`] is told.
fn crashing_memory_vault() -> (Vault, CrashingStore) {
    let crash = CrashingStore::over(&Vault::memory()).unwrap();
    (crash.vault(), crash)
}

#[test]
fn chunked_round_trip_in_memory_and_shrink_cleans_stale_chunks() {
    let v = Vault::memory();
    let big: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
    v.set_bytes("acc", &big).unwrap();
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), big);
    assert_eq!(items(&v).len(), 1 + big.len().div_ceil(CHUNK_SIZE));
    v.set_bytes("acc", b"small").unwrap();
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"small");
    // one item, the value inline: the chunks of the big value are gone
    assert_eq!(items(&v), ["acc"]);
    v.delete("acc").unwrap();
    assert!(items(&v).is_empty());
}

#[test]
fn a_value_that_fits_is_one_item_rewritten_in_place() {
    let v = Vault::memory();
    // A Cognito session (≈ 3.5 KB) elsewhere; under Windows' 2,560-byte item limit, less.
    let session = vec![b'x'; 3560.min(CHUNK_SIZE - 256)];
    for round in 0..3u8 {
        let value = [&session[..], &[round]].concat();
        v.set_bytes("acc", &value).unwrap();
        assert_eq!(items(&v), ["acc"], "round {round}");
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), value);
    }
}

#[test]
fn chunks_left_by_a_crash_after_the_commit_go_with_the_next_write() {
    let (v, crash) = crashing_memory_vault();
    let big = vec![7u8; 2 * CHUNK_SIZE];
    v.set_bytes("acc", &big).unwrap();
    crash.crash_at(Some(CrashPoint::AfterCommit));
    assert!(v.set_bytes("acc", b"small").is_err(), "the simulated crash");
    crash.crash_at(None);
    // The new value is committed; the old chunks are still there, named in its header.
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"small");
    assert_eq!(items(&v).len(), 1 + 2);
    v.set_bytes("acc", b"smaller").unwrap();
    assert_eq!(items(&v), ["acc"]);
    // The same after a crash between two chunked writes, and at sign-out.
    v.set_bytes("acc", &big).unwrap();
    crash.crash_at(Some(CrashPoint::AfterCommit));
    let _ = v.set_bytes("acc", &[8u8; 2 * CHUNK_SIZE]);
    crash.crash_at(None);
    assert_eq!(items(&v).len(), 1 + 2 + 2);
    v.delete("acc").unwrap();
    assert!(items(&v).is_empty());
}

#[test]
fn a_first_version_index_still_reads_and_is_replaced_cleanly() {
    let v = Vault::memory();
    let value = vec![5u8; 100];
    {
        let m = raw(&v);
        m.set("acc", br#"{"v":1,"gen":4,"chunks":1,"len":100}"#)
            .unwrap();
        m.set("acc#4.0", &value).unwrap();
        // what that format's crash after a commit left: the generation before
        m.set("acc#3.0", &[4u8; 100]).unwrap();
    }
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), value);
    v.set_bytes("acc", b"new").unwrap();
    assert_eq!(items(&v), ["acc"]);
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"new");
    let (idx, _) = v.items().unwrap().read_item("acc").unwrap().unwrap();
    assert_eq!((idx.v, idx.gen, idx.chunks), (2, 5, 0));
}

#[test]
fn chunks_left_by_a_crash_before_the_commit_go_with_the_next_write() {
    let (v, crash) = crashing_memory_vault();
    v.set_bytes("acc", b"session").unwrap();
    // A chunked write of generation 2 that dies before its header is written: its chunks
    // exist, nothing points at them, and the old header says a chunked write was pending.
    crash.crash_at(Some(CrashPoint::BeforeCommit));
    assert!(v.set_bytes("acc", &vec![b'x'; CHUNK_SIZE + 10]).is_err());
    crash.crash_at(None);
    assert_eq!(items(&v), ["acc", "acc#2.0", "acc#2.1"]);
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"session");
    let (idx, _) = v.items().unwrap().read_item("acc").unwrap().unwrap();
    assert_eq!(idx.pending, Some(2));
    // The next write (inline, the same generation) finds them through that mark.
    v.set_bytes("acc", b"next session").unwrap();
    assert_eq!(items(&v), ["acc"]);
    assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"next session");
    let (idx, _) = v.items().unwrap().read_item("acc").unwrap().unwrap();
    assert_eq!((idx.gen, idx.pending), (2, None));
}

#[test]
fn an_item_of_an_unknown_format_version_is_damaged_not_misread() {
    let v = Vault::memory();
    raw(&v)
        .set("acc", b"{\"v\":3,\"gen\":1,\"chunks\":0,\"len\":2}\nhi")
        .unwrap();
    let err = v.get_bytes("acc").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Keychain);
}

#[test]
fn the_newer_session_gets_a_generation_above_the_stored_one() {
    let v = Vault::memory();
    let mut s: StoredSession = serde_json::from_value(serde_json::json!({
        "version": 1, "generation": 9, "refresh_token": null, "refresh_stored_since": 0,
        "id_token": "i", "access_token": "a", "id_expires_at": 0, "access_expires_at": 0,
        "issuer": "https://issuer", "client_id": "c", "sub": "s", "aud": ["c"],
    }))
    .unwrap();
    v.store_session("acc", &s).unwrap();
    s.generation = 2;
    assert_eq!(v.store_newer_session("acc", &s).unwrap(), 10);
    assert_eq!(v.load_session("acc").unwrap().unwrap().generation, 10);
    s.generation = 20;
    assert_eq!(v.store_newer_session("acc", &s).unwrap(), 20);

    // Over an item read before (a sign-in reads it while the code is exchanged): the same
    // generation rule, and the item it read is the one replaced.
    let base = v.write_base("acc");
    s.generation = 3;
    assert_eq!(v.store_newer_session_on("acc", &base, &s).unwrap(), 21);
    assert_eq!(v.load_session("acc").unwrap().unwrap().generation, 21);
    let fresh = v.write_base("another-account");
    assert_eq!(
        v.store_newer_session_on("another-account", &fresh, &s)
            .unwrap(),
        3
    );
}

#[test]
fn a_write_over_an_earlier_read_still_removes_the_chunks_it_replaces() {
    let v = Vault::memory();
    let big = vec![b'x'; CHUNK_SIZE * 2 + 10];
    v.set_bytes("acc", &big).unwrap();
    assert!(items(&v).iter().any(|i| i.starts_with("acc#")));
    let mut s: StoredSession = serde_json::from_value(serde_json::json!({
        "version": 1, "generation": 1, "refresh_token": null, "refresh_stored_since": 0,
        "id_token": "i", "access_token": "a", "id_expires_at": 0, "access_expires_at": 0,
        "issuer": "https://issuer", "client_id": "c", "sub": "s", "aud": ["c"],
    }))
    .unwrap();
    let base = v.write_base("acc");
    s.generation = 1;
    v.store_newer_session_on("acc", &base, &s).unwrap();
    assert_eq!(
        items(&v),
        vec!["acc".to_string()],
        "only the session's own item is left"
    );
}

/// The real Secret Service (`cargo xtask test` runs every test with one): a write is
/// confirmed by finding its item, and a missing item is not taken as stored.
#[test]
#[cfg(target_os = "linux")]
fn on_the_secret_service_a_write_is_confirmed_by_finding_its_item() {
    let v = Vault::system_with_service(&format!("latchkey-confirm-{}", std::process::id()));
    assert!(
        !raw(&v).confirm("nobody", b"x").unwrap(),
        "no item, not stored"
    );
    v.raw_set("somebody", b"value").unwrap();
    assert!(raw(&v).confirm("somebody", b"value").unwrap());
    raw(&v).delete("somebody").unwrap();
    assert!(!raw(&v).confirm("somebody", b"value").unwrap());
}

#[test]
fn mock_store_errors_are_specific() {
    let store = keyring_core::mock::Store::new().unwrap();
    let v = Vault::with_store(store, "mock");
    assert!(v.probe().ok);
    v.set_bytes("a", b"x").unwrap();
    assert_eq!(v.get_bytes("a").unwrap().unwrap(), b"x");
}
