//! The floor of `latchkey aws credentials` in BENCHMARKS.md: a process that does nothing but
//! read one Secret Service item (through the keyring store Latchkey uses) and print its size.
//!
//! Usage: `keychain-read-floor SERVICE ACCOUNT` (exit 0 when the item was read).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(service), Some(account)) = (args.next(), args.next()) else {
        eprintln!("usage: keychain-read-floor SERVICE ACCOUNT");
        return ExitCode::from(2);
    };
    match read(&service, &account) {
        Ok(len) => {
            println!("{len}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keychain-read-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn read(service: &str, account: &str) -> Result<usize, keyring_core::Error> {
    use keyring_core::api::CredentialStoreApi;
    let store = zbus_secret_service_keyring_store::Store::new()?;
    let secret = store.build(service, account, None)?.get_secret()?;
    Ok(secret.len())
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn read(_: &str, _: &str) -> Result<usize, String> {
    Err("the floor is measured on Linux (Secret Service) only".into())
}
