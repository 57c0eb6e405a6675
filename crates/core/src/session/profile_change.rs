//! A profile edited, imported over or added again with `--force`: when its tokens would go
//! somewhere else, the session of the old settings is ended first, never carried over.

use super::{Session, SignOutOutcome, SignOutScope};
use crate::config::Profile;
use crate::error::Result;

impl Session {
    /// Signs this session out (revokes its refresh token, deletes it and its AWS credentials
    /// from the keychain) when `next`, the profile's new settings, sends tokens elsewhere
    /// ([`Profile::token_destination_changes`]); `None` when nothing moves. The keychain
    /// account follows the issuer and client id, so without this an edit of `api_base_urls`
    /// would hand the live session to the new API, and an edit of the issuer would leave the
    /// old refresh token behind where no profile reaches it.
    pub async fn sign_out_if_moved(&self, next: &Profile) -> Result<Option<SignOutOutcome>> {
        let moved = self.profile().token_destination_changes(next);
        if moved.is_empty() {
            return Ok(None);
        }
        tracing::info!(
            profile = %self.profile().name,
            ?moved,
            "the profile's tokens would go elsewhere: signing its session out first"
        );
        self.sign_out(SignOutScope::ThisDevice).await.map(Some)
    }
}
