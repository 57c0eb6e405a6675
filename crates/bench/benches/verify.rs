//! ID-token verification per token, JWKS cached (issue 8, item 3): `verify_id_token` and the
//! Cognito access-token check on real tokens from latchkey-devidp. Run by `cargo xtask bench`
//! (or `cargo bench -p latchkey-bench --bench verify`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use latchkey_bench::flow::{self, core_like_client, Rig};
use latchkey_core::internals::{verify_access_token, verify_sign_in_id_token};
use latchkey_core::{Clock, Vault};

fn verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rig = Rig::start("criterion", Vault::memory()).expect("devidp starts");
    let provider = rig.provider().expect("provider");
    let http = core_like_client();
    let (tokens, nonce) = rt.block_on(async {
        let (code, req) = flow::fresh_code(&rig, &provider, &http)
            .await
            .expect("a code");
        let tokens = flow::exchange(&http, &provider, &rig.profile.client_id, &code, &req)
            .await
            .expect("tokens");
        (tokens, req.nonce.expose().to_owned())
    });
    let now = rig.clock.now();
    let verify_id = || {
        verify_sign_in_id_token(
            &provider,
            &rig.profile,
            &tokens.id_token,
            now,
            Some(&nonce),
            Some(&tokens.access_token),
        )
    };
    // Fill the JWKS cache (one fetch), as after the first sign-in.
    rt.block_on(verify_id()).expect("the ID token verifies");

    let mut group = c.benchmark_group("verify");
    group.bench_function("id_token", |b| {
        b.iter(|| rt.block_on(verify_id()).expect("verifies"))
    });
    group.bench_function("access_token", |b| {
        b.iter(|| {
            rt.block_on(verify_access_token(
                &provider,
                &rig.profile,
                &tokens.access_token,
                now,
            ))
            .expect("verifies")
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(100)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verification
}
criterion_main!(benches);
