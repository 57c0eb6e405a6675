//! What lives and ends with a session: hooks that hold something derived from it (the AWS
//! credentials provider attaches one), found again by their type, and told when it ends.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::Session;
use crate::error::{Error, Result};

/// The future a hook hands back (hooks are called through `dyn`).
pub(crate) type HookFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a hook keeps held while sign-out runs (its own work stays out until it drops).
pub(crate) type Hold = Box<dyn Send>;

/// Something derived from the session that ends with it.
///
/// Who waits for whom follows from who calls whom: a hook's own work may call the session
/// (and wait for its locks), so sign-out calls [`SessionHook::hold_off`] before it takes any
/// lock of its own, and the session calls the other methods while it may hold its locks:
/// they never wait for the hook's own work.
pub(crate) trait SessionHook: Send + Sync + 'static {
    /// What it holds, for a warning: "the saved AWS credentials".
    fn name(&self) -> &'static str;
    /// Sign-out begins: wait for the hook's work in flight (it could still store something)
    /// and keep new work out until the hold drops, at the end of sign-out. An error is a
    /// warning: sign-out goes on with what was held.
    fn hold_off(&self) -> HookFuture<'_, (Hold, Option<Error>)>;
    /// The session ended (signed out, or ended by the provider): forget what is held and
    /// delete what is stored.
    fn ended(&self) -> HookFuture<'_, Result<()>>;
    /// The session ended elsewhere or is being replaced: forget what is held here.
    fn forget_held(&self);
    /// The secret values it holds (a record of a call must hold none of them).
    fn held_secrets(&self) -> Vec<String>;
    /// When what it holds for user `sub` expires (Unix seconds), for the session's state.
    fn held_until(&self, sub: &str) -> Option<i64>;
}

/// A hook, once as itself (to be found by type) and once as a hook.
#[derive(Clone)]
struct Attached {
    any: Arc<dyn Any + Send + Sync>,
    hook: Arc<dyn SessionHook>,
}

/// The session's hooks, in the order they were attached.
#[derive(Default)]
pub(super) struct Hooks(Mutex<Vec<Attached>>);

impl Hooks {
    fn all(&self) -> Vec<Arc<dyn SessionHook>> {
        let list = self.0.lock().unwrap();
        list.iter().map(|a| a.hook.clone()).collect()
    }
}

impl Session {
    /// Attach `hook`: it ends with the session, and [`Session::attached`] finds it.
    pub(crate) fn attach<T: SessionHook>(&self, hook: Arc<T>) {
        let attached = Attached {
            any: hook.clone(),
            hook,
        };
        self.inner.hooks.0.lock().unwrap().push(attached);
    }

    /// The hook of type `T`, if one is attached.
    pub(crate) fn attached<T: SessionHook>(&self) -> Option<Arc<T>> {
        let list = self.inner.hooks.0.lock().unwrap();
        list.iter().find_map(|a| a.any.clone().downcast::<T>().ok())
    }

    /// Sign-out's first step: every hook's work in flight finishes, and no new work starts
    /// while the holds live; what could not be held is a warning.
    pub(super) async fn hold_off_hooks(&self, warnings: &mut Vec<String>) -> Vec<Hold> {
        let mut holds = Vec::new();
        for hook in self.inner.hooks.all() {
            let (hold, failed) = hook.hold_off().await;
            warnings.extend(failed.map(|e| e.message().to_owned()));
            holds.push(hold);
        }
        holds
    }

    /// Tell every hook the session ended; what each could not delete, by its name.
    pub(super) async fn end_hooks(&self) -> Vec<(&'static str, Error)> {
        let mut failed = Vec::new();
        for hook in self.inner.hooks.all() {
            if let Err(e) = hook.ended().await {
                failed.push((hook.name(), e));
            }
        }
        failed
    }

    pub(super) fn forget_held_by_hooks(&self) {
        self.inner.hooks.all().iter().for_each(|h| h.forget_held());
    }

    pub(super) fn secrets_held_by_hooks(&self) -> Vec<String> {
        let hooks = self.inner.hooks.all();
        hooks.iter().flat_map(|h| h.held_secrets()).collect()
    }

    /// When what a hook holds for `sub` expires (the first hook that holds something).
    pub(super) fn held_by_hooks_until(&self, sub: &str) -> Option<i64> {
        self.inner
            .hooks
            .all()
            .iter()
            .find_map(|h| h.held_until(sub))
    }
}
