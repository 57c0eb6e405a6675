//! Which store [`super::Vault::system`] uses on Linux: the Secret Service over the D-Bus
//! session bus, or the kernel keyring where no session bus runs; `LATCHKEY_KEYCHAIN` chooses.

use crate::error::{Error, ErrorKind};

/// The environment variable that chooses the store: `auto` (the default), `secret-service`
/// or `kernel`.
pub const KEYCHAIN_VAR: &str = "LATCHKEY_KEYCHAIN";

/// The kernel keyring's name in messages, `status` and `doctor`.
pub(super) const KERNEL_STORE_NAME: &str = "Linux kernel keyring (keyutils)";

/// What the kernel keyring keeps and for how long (persistent-keyring(7)): a sentence for
/// `status`, `login` and `doctor`.
pub(super) const KERNEL_LIFETIME: &str = "kept in kernel memory, never on disk: lost at reboot, and once no Latchkey command has used it for `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds (3 days by default)";

/// The store chosen, and why (for `doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoreChoice {
    pub(super) store: SystemStore,
    pub(super) why: &'static str,
    /// `auto` on a session bus: when no Secret Service answers there (a server's user bus
    /// without a keyring daemon), the kernel keyring is used instead ([`no_secret_service`]).
    pub(super) may_fall_back: bool,
}

/// The stores [`super::Vault::system`] can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SystemStore {
    /// The OS keychain: the Secret Service on Linux, the macOS Keychain, the Windows
    /// Credential Manager.
    Platform,
    /// The Linux kernel keyring (keyutils): the user's persistent keyring.
    Kernel,
}

/// The store `LATCHKEY_KEYCHAIN` asks for (`value`), or on `auto` the one that fits this
/// session: the Secret Service when a D-Bus session bus is there (`bus_present`), else the
/// kernel keyring. A value it does not know is a configuration error that names the three.
pub(super) fn choose(value: Option<&str>, bus_present: bool) -> Result<StoreChoice, Error> {
    let linux = cfg!(target_os = "linux");
    let chosen = |store, why| {
        Ok(StoreChoice {
            store,
            why,
            may_fall_back: false,
        })
    };
    match value.map(str::trim).unwrap_or("") {
        "" | "auto" => Ok(auto_choice(linux && !bus_present)),
        "secret-service" | "kernel" if !linux => Err(Error::new(
            ErrorKind::Config,
            format!("{KEYCHAIN_VAR} chooses between Linux stores; unset it to use this system's keychain."),
        )),
        "secret-service" => chosen(SystemStore::Platform, "LATCHKEY_KEYCHAIN=secret-service"),
        "kernel" => chosen(SystemStore::Kernel, "LATCHKEY_KEYCHAIN=kernel"),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("{KEYCHAIN_VAR} must be `auto`, `secret-service` or `kernel`; unset it for `auto`."),
        )),
    }
}

/// `auto`: the kernel keyring on Linux without a session bus (`no_bus`), else the OS keychain
/// (on Linux, with the kernel keyring to fall back on when no Secret Service answers).
fn auto_choice(no_bus: bool) -> StoreChoice {
    match no_bus {
        true => StoreChoice {
            store: SystemStore::Kernel,
            why: "no D-Bus session bus runs here, so no Secret Service can answer (LATCHKEY_KEYCHAIN=auto)",
            may_fall_back: false,
        },
        false => StoreChoice {
            store: SystemStore::Platform,
            why: "the default (LATCHKEY_KEYCHAIN=auto)",
            may_fall_back: cfg!(target_os = "linux"),
        },
    }
}

/// `auto` when the session bus has no Secret Service to connect to (nothing owns or can
/// start `org.freedesktop.secrets`: an SSH session on a server): the kernel keyring.
pub(super) fn no_secret_service() -> StoreChoice {
    StoreChoice {
        store: SystemStore::Kernel,
        why: "no Secret Service answered on the D-Bus session bus (LATCHKEY_KEYCHAIN=auto)",
        may_fall_back: false,
    }
}

/// The store this process should use: `LATCHKEY_KEYCHAIN`, and whether a D-Bus session bus
/// is there (`DBUS_SESSION_BUS_ADDRESS`, else the `bus` socket in `XDG_RUNTIME_DIR`, where
/// the D-Bus library looks).
pub(super) fn choose_from_env() -> Result<StoreChoice, Error> {
    let value = std::env::var(KEYCHAIN_VAR).ok();
    choose(value.as_deref(), session_bus_present())
}

fn session_bus_present() -> bool {
    let set = |var| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if set("DBUS_SESSION_BUS_ADDRESS") {
        return true;
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|dir| !dir.is_empty())
        .is_some_and(|dir| std::path::Path::new(&dir).join("bus").exists())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_secret_service_on_a_session_bus_and_the_kernel_keyring_without_one() {
        assert_eq!(choose(None, true).unwrap().store, SystemStore::Platform);
        assert_eq!(
            choose(Some("auto"), false).unwrap().store,
            SystemStore::Kernel
        );
        assert_eq!(choose(None, false).unwrap().store, SystemStore::Kernel);
    }

    #[test]
    fn an_explicit_choice_wins_over_the_bus() {
        assert_eq!(
            choose(Some("kernel"), true).unwrap().store,
            SystemStore::Kernel
        );
        let ss = choose(Some("secret-service"), false).unwrap();
        assert_eq!(ss.store, SystemStore::Platform);
    }

    #[test]
    fn an_unknown_choice_is_a_configuration_error() {
        assert_eq!(
            choose(Some("file"), true).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
