//! The layout of a session's keychain item: the header line and, where the value fits, the
//! value after it (format v2); the chunk items of a value that does not fit.

use serde::{Deserialize, Serialize};

/// The header of the account's own item. Version 2 (written now): a JSON line, then the
/// value itself when it fits in the item (`chunks == 0`); otherwise the value is in `chunks`
/// items `account#gen.i`. Version 1 (read only): the JSON line alone, always chunked.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Index {
    pub(super) v: u32,
    pub(super) gen: u64,
    pub(super) chunks: usize,
    pub(super) len: usize,
    /// Chunk items of the generation this one replaced, deleted after the commit (named here
    /// so that a crash before their deletion leaves a record: the next write deletes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stale: Option<Chunks>,
    /// Set on an inline value's header just before a chunked write of generation `pending`
    /// writes its first chunk: if that write dies before its commit, the next write knows to
    /// look for its chunks. Without it, a write over an inline value skips that search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pending: Option<u64>,
}

/// The chunk items of one generation.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Chunks {
    pub(super) gen: u64,
    pub(super) chunks: usize,
}

impl Index {
    /// The header line, then `inline` (the value, or nothing for a chunked one).
    pub(super) fn encode(&self, inline: &[u8]) -> Vec<u8> {
        let mut item = serde_json::to_vec(self).expect("an index serialises");
        item.push(b'\n');
        item.extend_from_slice(inline);
        item
    }

    /// The header and the inline value of an item; `None` when it is not one of ours.
    pub(super) fn decode(item: &[u8]) -> Option<(Index, Vec<u8>)> {
        let (head, inline) = match item.iter().position(|b| *b == b'\n') {
            Some(i) => (&item[..i], &item[i + 1..]),
            None => (item, &[][..]),
        };
        let idx: Index = serde_json::from_slice(head).ok()?;
        let known_version = matches!(idx.v, 1 | 2);
        let consistent = known_version
            && match idx.chunks {
                0 => inline.len() == idx.len,
                _ => inline.is_empty(),
            };
        consistent.then(|| (idx, inline.to_vec()))
    }

    /// Whether the value follows this (current-format) header in the same item.
    pub(super) fn holds_value_inline(&self) -> bool {
        self.v >= 2 && self.chunks == 0
    }

    /// The chunk items this header points at, if the value is chunked.
    pub(super) fn chunk_items(&self) -> Option<Chunks> {
        (self.chunks > 0).then_some(Chunks {
            gen: self.gen,
            chunks: self.chunks,
        })
    }
}
