//! The item protocol: a value inline in its account's item when it fits, else in chunk items
//! that a header points at (pending mark, stale chunks), over any [`RawStore`]; no other file
//! touches raw items.

use crate::error::{Error, ErrorKind, Result};

use super::item::Index;
use super::Vault;

/// Bytes per keychain item. Windows caps one credential blob at 2,560 bytes
/// (`CRED_MAX_CREDENTIAL_BLOB_SIZE`); elsewhere a session (≈ 3.5 KB with Cognito's tokens)
/// fits in one item with its header, and every item written costs a keyring file rewrite
/// (the sign-in's largest part, see BENCHMARKS.md), so items are larger.
#[cfg(windows)]
pub const CHUNK_SIZE: usize = 2560;
/// Bytes per keychain item (see the Windows value for why it differs).
#[cfg(not(windows))]
pub const CHUNK_SIZE: usize = 8 * 1024;

/// A store of named items under one service, as the protocol sees it: an item is read,
/// written or deleted whole. The platform stores implement it (`backend.rs`).
pub(super) trait RawStore: Send + Sync {
    /// The item's bytes; `None` when there is no such item.
    fn get(&self, item: &str) -> Result<Option<Vec<u8>>>;
    /// Create or replace the item.
    fn set(&self, item: &str, bytes: &[u8]) -> Result<()>;
    /// Remove the item; no such item is no error.
    fn delete(&self, item: &str) -> Result<()>;
    /// Whether `item` now holds `bytes`, after a write the store reported done (F6: some
    /// stores report success and store nothing). The protocol asks it of the write that
    /// commits a value, and of no other. By default the item is read back and compared.
    fn confirm(&self, item: &str, bytes: &[u8]) -> Result<bool> {
        Ok(self.get(item)?.as_deref() == Some(bytes))
    }
    /// Every item under the service, or `None` when the store cannot list them.
    fn names(&self) -> Result<Option<Vec<String>>>;
}

/// The name of chunk `i` of generation `gen` of `account`'s value.
pub(super) fn chunk_item(account: &str, gen: u64, i: usize) -> String {
    format!("{account}#{gen}.{i}")
}

/// Whether `bytes`, written to an account's own item, commit a value: a header that points
/// at a value, not the `pending` mark a chunked write sets before its chunks.
pub(super) fn commits_a_value(bytes: &[u8]) -> bool {
    Index::decode(bytes).is_some_and(|(idx, _)| idx.pending.is_none())
}

/// The protocol over one store; `store_name` names it in errors. Writes and deletes need the
/// caller's write lock (the vault's), so that no two interleave in this process.
pub(super) struct ChunkedItems<'a> {
    raw: &'a dyn RawStore,
    store_name: &'a str,
}

impl ChunkedItems<'_> {
    /// The account's own item: its header, and the value when it is stored inline.
    pub(super) fn read_item(&self, account: &str) -> Result<Option<(Index, Vec<u8>)>> {
        match self.raw.get(account)? {
            None => Ok(None),
            Some(item) => Index::decode(&item).map(Some).ok_or_else(|| {
                Error::keychain_damaged(self.store_name, "the stored session index is damaged")
            }),
        }
    }

    fn read_chunks(&self, account: &str, idx: &Index) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(idx.len);
        for i in 0..idx.chunks {
            match self.raw.get(&chunk_item(account, idx.gen, i))? {
                Some(c) => out.extend_from_slice(&c),
                None => {
                    return Err(Error::keychain_damaged(
                        self.store_name,
                        "part of the stored session is missing",
                    ))
                }
            }
        }
        if out.len() != idx.len {
            return Err(Error::keychain_damaged(
                self.store_name,
                "the stored session has the wrong length",
            ));
        }
        Ok(out)
    }

    /// The value an item points at: its inline bytes, or its chunks.
    pub(super) fn value_of(&self, account: &str, idx: &Index, inline: Vec<u8>) -> Result<Vec<u8>> {
        if idx.chunks == 0 {
            Ok(inline)
        } else {
            self.read_chunks(account, idx)
        }
    }

    /// Read a value.
    pub(super) fn get_bytes(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match self.read_item(account)? {
            None => Ok(None),
            Some((idx, inline)) => self.value_of(account, &idx, inline).map(Some),
        }
    }

    fn delete_generation(&self, account: &str, gen: u64, known_chunks: Option<usize>) {
        match known_chunks {
            Some(n) => (0..n).for_each(|i| {
                let _ = self.raw.delete(&chunk_item(account, gen, i));
            }),
            None => self.delete_chunks_from(account, gen, 0),
        }
    }

    /// Delete the chunk items `first`, `first + 1`, … of `gen` while they exist (at most 64).
    fn delete_chunks_from(&self, account: &str, gen: u64, first: usize) {
        for i in first..first.max(64) {
            let acc = chunk_item(account, gen, i);
            if matches!(self.raw.get(&acc), Ok(None) | Err(_)) {
                break;
            }
            let _ = self.raw.delete(&acc);
        }
    }

    /// Write a value (the caller holds the write lock; `old` is the item as it was). A crash
    /// at any point leaves either the old or the new value readable, never neither.
    ///
    /// A value that fits in one item (a session, outside Windows) is written in place: one
    /// keychain write that replaces the old value at once, then a check that it is stored
    /// (some stores "succeed" without storing, F6; see [`RawStore::confirm`]). A larger
    /// one goes to new-generation chunk items, read back before the header points at them.
    /// Chunks of the generation replaced are deleted after the commit; the new header names
    /// them until the next write, so a crash before that deletion leaves a record, not an
    /// orphan. A chunked write over an inline value first marks the old header `pending`, so
    /// a crash before its commit leaves a record too.
    pub(super) fn write(
        &self,
        account: &str,
        old_item: Option<&(Index, Vec<u8>)>,
        value: &[u8],
    ) -> Result<()> {
        let old = old_item.map(|(idx, _)| idx);
        let gen = old.map_or(1, |o| o.gen + 1);
        let replaced = old.and_then(Index::chunk_items);
        let mut idx = Index {
            v: 2,
            gen,
            chunks: 0,
            len: value.len(),
            stale: replaced,
            pending: None,
        };
        let inline = idx.encode(value);
        let item = if inline.len() <= CHUNK_SIZE {
            inline
        } else {
            if let Some((o, v)) = old_item.filter(|(o, _)| o.holds_value_inline()) {
                self.raw.set(
                    account,
                    &Index {
                        pending: Some(gen),
                        ..*o
                    }
                    .encode(v),
                )?;
            }
            let chunks: Vec<&[u8]> = value.chunks(CHUNK_SIZE).collect();
            for (i, c) in chunks.iter().enumerate() {
                self.raw.set(&chunk_item(account, gen, i), c)?;
            }
            idx.chunks = chunks.len();
            if self.read_chunks(account, &idx)? != value {
                self.delete_generation(account, gen, Some(idx.chunks));
                return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the value (read-back differs). The old session is kept.", self.store_name)));
            }
            idx.encode(&[])
        };
        self.raw.set(account, &item)?;
        if !self.raw.confirm(account, &item)? {
            return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the session (checked after writing). The session is kept in memory only.", self.store_name)));
        }
        // The generation just replaced, and any an earlier crash left named in the old header.
        for stale in [replaced, old.and_then(|o| o.stale)].into_iter().flatten() {
            self.delete_generation(account, stale.gen, Some(stale.chunks));
        }
        // Chunks of this generation beyond the ones it uses: left by a chunked write that
        // crashed before its commit (it wrote the same generation). One read when none is;
        // none at all over an inline value that no chunked write had marked `pending`.
        let inline_unmarked = old.is_some_and(|o| o.holds_value_inline() && o.pending != Some(gen));
        if idx.chunks > 0 || !inline_unmarked {
            self.delete_chunks_from(account, gen, idx.chunks);
        }
        // A first-version header named nothing stale: that format deleted the generation
        // before the old one on every write, so a crash may have left exactly that one.
        if let Some(o) = old.filter(|o| o.v < 2 && o.gen >= 2) {
            self.delete_generation(account, o.gen - 1, None);
        }
        Ok(())
    }

    /// Delete a value and its chunks (the caller holds the write lock).
    pub(super) fn delete(&self, account: &str) -> Result<()> {
        if let Ok(Some((idx, _))) = self.read_item(account) {
            for chunks in [idx.chunk_items(), idx.stale].into_iter().flatten() {
                self.delete_generation(account, chunks.gen, Some(chunks.chunks));
            }
            // Chunks of a write that crashed before its commit, or (first-version headers,
            // which named nothing stale) after it.
            self.delete_generation(account, idx.gen + 1, None);
            if idx.v < 2 && idx.gen >= 1 {
                self.delete_generation(account, idx.gen - 1, None);
            }
        }
        self.raw.delete(account)
    }

    /// Write one plain item, read it back and delete it: whether the store keeps what it is
    /// given (the probe).
    pub(super) fn round_trip(&self, item: &str, value: &[u8]) -> Result<()> {
        let result = self.raw.set(item, value).and_then(|_| self.raw.get(item)).and_then(|got| {
            if got.as_deref() == Some(value) {
                Ok(())
            } else {
                Err(Error::new(ErrorKind::Keychain, format!("{}: a value written could not be read back (the keychain accepted it but stored nothing). Latchkey keeps the session in memory only.", self.store_name)))
            }
        });
        let _ = self.raw.delete(item);
        result
    }
}

/// A vault's values and raw items: the protocol over its store, writes under its write lock.
impl Vault {
    /// The item protocol over this vault's store.
    pub(super) fn items(&self) -> Result<ChunkedItems<'_>> {
        Ok(ChunkedItems {
            raw: self.backend().raw()?,
            store_name: &self.store_name,
        })
    }

    /// One item as stored (a header, an inline value or a chunk), bypassing the format.
    pub(crate) fn raw_get(&self, item: &str) -> Result<Option<Vec<u8>>> {
        self.backend().raw()?.get(item)
    }

    /// Write one item as is (see [`Vault::raw_get`]).
    pub(crate) fn raw_set(&self, item: &str, bytes: &[u8]) -> Result<()> {
        self.backend().raw()?.set(item, bytes)
    }

    /// Every account with an item under this vault's service (sessions, their chunks, AWS
    /// credentials, whatever a crash left), or `None` when the store cannot list its items.
    pub(crate) fn accounts(&self) -> Result<Option<Vec<String>>> {
        self.backend().raw()?.names()
    }

    /// The name of chunk `i` of generation `gen` of `account`'s value.
    pub(crate) fn chunk_account(account: &str, gen: u64, i: usize) -> String {
        chunk_item(account, gen, i)
    }

    /// Read a value.
    pub(crate) fn get_bytes(&self, account: &str) -> Result<Option<Vec<u8>>> {
        self.items()?.get_bytes(account)
    }

    /// Write a value (see [`ChunkedItems::write`] for the layout and the crash guarantees).
    pub(crate) fn set_bytes(&self, account: &str, value: &[u8]) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let items = self.items()?;
        let old = items.read_item(account).ok().flatten();
        items.write(account, old.as_ref(), value)
    }

    /// Delete a value and its chunks.
    pub(crate) fn delete(&self, account: &str) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.items()?.delete(account)
    }
}
