//! The evidence ledger: a hash chain over every check-in, check-out, no-show, cancellation
//! and manual correction.
//!
//! Entry `n`'s hash is SHA-256 over the previous entry's hash and entry `n`'s canonical
//! bytes: `seq`, `kind`, `subject`, `recorded_at` and the payload as canonical JSON (object
//! keys sorted, no whitespace), each on its own line. The first entry's previous hash is
//! [`GENESIS`]. Changing, inserting or removing any entry changes every hash after it.

use crate::domain::interval::Millis;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The "previous hash" of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

text_enum! {
    /// What an entry records.
    pub enum EntryKind {
        /// A metered session opened (kiosk, operator, walk-up).
        CheckIn => "check_in",
        /// A metered session closed (kiosk, operator, automatic).
        CheckOut => "check_out",
        /// A booking released because nobody checked in.
        NoShow => "no_show",
        /// A booking cancelled.
        Cancellation => "cancellation",
        /// A session's facts corrected by an operator.
        Correction => "correction",
        /// A register row (area plan, residency, event, document) recorded or changed; the
        /// payload states the row as it now stands.
        Register => "register",
        /// A participant checked in at an event with the event code (metered attendance).
        Attendance => "attendance",
    }
}

/// One ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
    pub recorded_at: Millis,
}

impl Entry {
    /// The entry's leaf in the Merkle log ([`leaf_data`]).
    pub fn leaf(&self) -> super::merkle::Hash {
        super::merkle::leaf_hash(
            leaf_data(
                self.seq,
                &self.kind,
                &self.subject,
                self.recorded_at,
                &self.payload,
                &self.prev_hash,
                &self.hash,
            )
            .as_bytes(),
        )
    }
}

/// The data of an entry's leaf in the Merkle log (leaf `seq − 1`): every stored field as
/// canonical JSON, `{"hash", "kind", "payload", "prev_hash", "recorded_at", "seq", "subject"}`,
/// the payload as its canonical JSON text. The leaf commits to the chain hash, so a pack that
/// cites `(seq, hash)` is checked against the tree with the entry alone.
pub fn leaf_data(
    seq: i64,
    kind: &str,
    subject: &str,
    recorded_at: Millis,
    payload: &str,
    prev_hash: &str,
    hash: &str,
) -> String {
    canonical_json(&serde_json::json!({
        "seq": seq, "kind": kind, "subject": subject, "recorded_at": recorded_at,
        "payload": payload, "prev_hash": prev_hash, "hash": hash,
    }))
}

/// JSON with object keys sorted and no insignificant whitespace.
pub fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The hash of an entry, from its predecessor's hash and its own fields.
pub fn entry_hash(prev_hash: &str, seq: i64, kind: &str, subject: &str, recorded_at: Millis, payload: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev_hash, &seq.to_string(), kind, subject, &recorded_at.to_string(), payload] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    super::hex(&h.finalize())
}

/// The first place where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("entry {seq} was altered: its stored hash does not match its contents")]
    Altered { seq: i64 },
    #[error("entry {seq} does not follow entry {prev}: an entry was inserted or removed, or its link altered")]
    Relinked { seq: i64, prev: i64 },
    #[error("entries are missing between {after} and {seq}")]
    Gap { after: i64, seq: i64 },
}

/// Recomputes the chain (entries in `seq` order, starting at 1) and returns its head hash.
///
/// # Errors
/// The first [`Break`].
pub fn verify(entries: impl IntoIterator<Item = Entry>) -> Result<(i64, String), Break> {
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS.to_owned();
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(Break::Gap { after: prev_seq, seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(Break::Relinked { seq: e.seq, prev: prev_seq });
        }
        if entry_hash(&e.prev_hash, e.seq, &e.kind, &e.subject, e.recorded_at, &e.payload) != e.hash {
            return Err(Break::Altered { seq: e.seq });
        }
        prev_seq = e.seq;
        prev_hash = e.hash;
    }
    Ok((prev_seq, prev_hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn chain(n: usize) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for i in 0..n {
            let seq = i as i64 + 1;
            let prev = out.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
            let payload = canonical_json(&json!({ "n": i, "who": "maker" }));
            let hash = entry_hash(&prev, seq, "check_in", "s", 1000 + seq, &payload);
            out.push(Entry {
                seq,
                kind: "check_in".into(),
                subject: "s".into(),
                payload,
                prev_hash: prev,
                hash,
                recorded_at: 1000 + seq,
            });
        }
        out
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        assert_eq!(
            canonical_json(&json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "x"}], "c": null}})),
            r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#
        );
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let c = chain(5);
        assert_eq!(verify(c.clone()), Ok((5, c[4].hash.clone())));
        assert_eq!(verify(Vec::new()), Ok((0, GENESIS.to_owned())));
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let mut altered = chain(5);
        altered[2].payload = canonical_json(&json!({ "n": 99, "who": "maker" }));
        assert_eq!(verify(altered), Err(Break::Altered { seq: 3 }));

        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(verify(removed), Err(Break::Gap { after: 2, seq: 4 }));

        let mut last_removed_and_renumbered = chain(5);
        last_removed_and_renumbered.remove(1);
        for (i, e) in last_removed_and_renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(last_removed_and_renumbered), Err(Break::Relinked { seq: 2, prev: 1 }));
    }

    proptest! {
        #[test]
        fn any_single_payload_change_is_caught(n in 1usize..20, at in 0usize..20, junk in "[a-z]{1,8}") {
            let mut c = chain(n);
            let i = at % n;
            c[i].payload.push_str(&junk);
            prop_assert_eq!(verify(c), Err(Break::Altered { seq: i as i64 + 1 }));
        }
    }
}
