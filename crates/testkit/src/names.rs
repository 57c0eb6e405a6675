//! Names no other test uses: keychain services, accounts, directories.

use std::sync::atomic::{AtomicU32, Ordering};

/// `{prefix}-{pid}-{n}-{nanos}`: unique within this machine's test runs.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A keychain service name of this test alone.
pub fn unique_service(what: &str) -> String {
    unique(&format!("latchkey-test-{what}"))
}
