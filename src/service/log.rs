//! The Merkle log over the ledger, as the district uses it: the keys that sign checkpoints
//! (generated on first start or configured; rotated with `labinn rotate-log-key`), signed
//! checkpoints (hourly, for every pack, whenever a reviewer records a head), inclusion and
//! consistency proofs, the log's part of an evidence pack, and the offline check of a pack
//! against the checkpoints the district kept ([`verify_offline`]), which needs no database.

use super::{ServiceError, ServiceResult, Services};
use crate::domain::checkpoint::{self, Checkpoint, NoteError, Signer, Verifier};
use crate::domain::hex;
use crate::domain::ledger::{Entry, entry_hash};
use crate::domain::merkle::{self, Hash};
use crate::store::log::{CheckpointRow, LogKeyRow};
use serde::{Deserialize, Serialize};

/// A key of the log, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogKey {
    /// `name+keyid`.
    pub id: String,
    /// The verifier key, as Go's note package reads it.
    pub vkey: String,
    pub created_at: i64,
    /// When a newer key took over; `None` for the current key.
    pub retired_at: Option<i64>,
}

impl From<LogKeyRow> for LogKey {
    fn from(r: LogKeyRow) -> Self {
        Self { id: r.id, vkey: r.vkey, created_at: r.created_at, retired_at: r.retired_at }
    }
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub size: u64,
    /// The tree's root, hex.
    pub root: String,
    pub signed_at: i64,
    /// The key that signed it (`name+keyid`).
    pub key_id: String,
    /// The signed note (C2SP tlog-checkpoint), as a file would hold it.
    pub note: String,
}

impl From<CheckpointRow> for SignedCheckpoint {
    fn from(r: CheckpointRow) -> Self {
        Self {
            size: u64::try_from(r.size).unwrap_or(0),
            root: r.root,
            signed_at: r.signed_at,
            key_id: r.key_id,
            note: r.note,
        }
    }
}

/// Who reads the ledger's head, the log's checkpoints and its proofs: reviewers, operators
/// and admins (the keys are public).
///
/// # Errors
/// [`crate::service::Code::Forbidden`] for anyone else.
pub fn may_read(who: &super::powers::Identity) -> ServiceResult<()> {
    if who.reviewer().is_none() && who.admin().is_none() && who.operated_spaces().next().is_none() {
        return Err(ServiceError::forbidden("this needs the reviewer, operator or admin role"));
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(anyhow::anyhow!("log: {e}"))
}

fn key_row(s: &Signer, keep_secret: bool, now: i64) -> LogKeyRow {
    let v = s.verifier();
    LogKeyRow {
        id: v.label(),
        name: s.name.clone(),
        vkey: v.vkey(),
        skey: keep_secret.then(|| s.skey()),
        created_at: now,
        retired_at: None,
    }
}

/// The key that signs from now: the configured one (recorded as current), or the current
/// generated one of the log's origin, generated on first use (first writer wins when nodes
/// start together).
///
/// # Errors
/// Store errors; [`crate::service::Code::Internal`] for a stored key that does not parse.
pub async fn signer(svc: &Services, now: i64) -> ServiceResult<Signer> {
    if let Some(k) = &svc.config.log_key {
        let s = Signer::parse(&k.0).map_err(internal)?;
        let row = key_row(&s, false, now);
        if !svc.db.log_keys().await?.iter().any(|k| k.id == row.id && k.retired_at.is_none()) {
            svc.db.add_log_key(&row, true, now).await?;
        }
        return Ok(s);
    }
    let origin = &svc.config.log_origin;
    for attempt in 0..2 {
        let keys = svc.db.log_keys().await?;
        if let Some(k) = keys.iter().find(|k| &k.name == origin && k.retired_at.is_none()) {
            return match &k.skey {
                Some(skey) => Signer::parse(skey).map_err(internal),
                None => Err(internal(format!(
                    "the current key {} was configured (LABINN_LOG_KEY) and is not set now: set it, or rotate",
                    k.id
                ))),
            };
        }
        if attempt == 0 {
            let seed = crate::auth::random_bytes::<32>().map_err(internal)?;
            let s = Signer::from_seed(origin, seed).map_err(internal)?;
            if svc.db.add_log_key(&key_row(&s, true, now), false, now).await? {
                tracing::info!(key = %s.verifier().vkey(), "generated the log's signing key");
            }
        }
    }
    Err(internal("no current log key after generating one"))
}

/// Every key the log has signed with, the current one first.
///
/// # Errors
/// Store errors.
pub async fn keys(svc: &Services) -> ServiceResult<Vec<LogKey>> {
    Ok(svc.db.log_keys().await?.into_iter().map(LogKey::from).collect())
}

/// Signs `text` with `signers`, as a stored checkpoint of `size` and `root`.
async fn keep(svc: &Services, c: &Checkpoint, signers: &[&Signer]) -> ServiceResult<SignedCheckpoint> {
    let note = checkpoint::sign(&c.body(), signers).map_err(internal)?;
    let row = CheckpointRow {
        id: crate::store::new_id(),
        size: i64::try_from(c.size).map_err(internal)?,
        root: hex(&c.root),
        signed_at: c.time_ms,
        key_id: signers[0].verifier().label(),
        note,
    };
    Ok(svc.db.keep_checkpoint(&row).await?.into())
}

/// The checkpoint of the log at `size` entries (default: all of them now), signed by the
/// current key: the stored one if that key signed this size before, so that the same head
/// gives the same note.
///
/// # Errors
/// [`crate::service::Code::ValidationFailed`] (`beyond_log`) for a size the log has not
/// reached; store errors.
pub async fn checkpoint_at(svc: &Services, size: Option<u64>, now: i64) -> ServiceResult<SignedCheckpoint> {
    let signer = signer(svc, now).await?;
    let size = match size {
        Some(s) => s,
        None => svc.db.tree_size().await?,
    };
    if let Some(c) = svc.db.checkpoint_of(i64::try_from(size).map_err(internal)?, &signer.verifier().label()).await? {
        return Ok(c.into());
    }
    let root = svc.db.tree_root(size).await?.ok_or_else(|| beyond("size", size))?;
    let c = Checkpoint { origin: svc.config.log_origin.clone(), size, root, time_ms: now };
    keep(svc, &c, &[&signer]).await
}

fn beyond(field: &str, n: u64) -> ServiceError {
    ServiceError::invalid_field(field, "beyond_log", &format!("the log does not have {n} entries yet"))
}

/// The newest checkpoint (signed by the job, for packs and for reviewers); one is signed
/// now only if there is none at all, so that reading never makes a write per request.
///
/// # Errors
/// Store errors.
pub async fn latest(svc: &Services, now: i64) -> ServiceResult<SignedCheckpoint> {
    match svc.db.latest_checkpoint().await? {
        Some(c) => Ok(c.into()),
        None => checkpoint_at(svc, None, now).await,
    }
}

/// The scheduled job: signs a checkpoint when the log grew and the newest is at least
/// `every_ms` old. Returns whether it signed.
///
/// # Errors
/// Store errors.
pub async fn scheduled(svc: &Services, now: i64, every_ms: i64) -> ServiceResult<bool> {
    let size = svc.db.tree_size().await?;
    let due = match svc.db.latest_checkpoint().await? {
        None => true,
        Some(c) => u64::try_from(c.size).unwrap_or(0) < size && now - c.signed_at >= every_ms,
    };
    if due {
        checkpoint_at(svc, Some(size), now).await?;
    }
    Ok(due)
}

/// Retires the current generated key and makes a new one. The first checkpoint of the new
/// key is signed by the old key too, so that whoever trusts the old key can take the new
/// one from it. Old checkpoints stay verifiable with the old (published) key.
///
/// # Errors
/// [`crate::service::Code::Conflict`] when the key is configured (change the configuration
/// instead); store errors.
pub async fn rotate(svc: &Services, now: i64) -> ServiceResult<(LogKey, SignedCheckpoint)> {
    if svc.config.log_key.is_some() {
        return Err(ServiceError::new(
            super::Code::Conflict,
            "the log key is configured (LABINN_LOG_KEY): set a new one there; the old one stays listed",
        ));
    }
    let old = signer(svc, now).await?;
    let seed = crate::auth::random_bytes::<32>().map_err(internal)?;
    let new = Signer::from_seed(&svc.config.log_origin, seed).map_err(internal)?;
    let row = key_row(&new, true, now);
    svc.db.add_log_key(&row, true, now).await?;
    let size = svc.db.tree_size().await?;
    let root = svc.db.tree_root(size).await?.ok_or_else(|| beyond("size", size))?;
    let c = Checkpoint { origin: svc.config.log_origin.clone(), size, root, time_ms: now };
    let signed = keep(svc, &c, &[&new, &old]).await?;
    Ok((LogKeyRow { skey: None, ..row }.into(), signed))
}

/// An inclusion proof (RFC 9162): entry `entry` is leaf `entry − 1` of the tree of `size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    pub entry: i64,
    pub leaf_index: u64,
    pub size: u64,
    /// The entry's leaf hash, hex: SHA-256(0x00 ‖ the entry's leaf data).
    pub leaf_hash: String,
    /// The root of the tree of `size`, hex.
    pub root: String,
    /// The audit path, lowest level first, hex.
    pub proof: Vec<String>,
}

fn hexes(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(|h| hex(h)).collect()
}

/// The inclusion proof of ledger entry `entry` in the tree of `size` (default: the newest
/// checkpoint's size).
///
/// # Errors
/// [`crate::service::Code::ValidationFailed`] (`out_of_range`, `beyond_log`); store errors.
pub async fn inclusion(svc: &Services, entry: i64, size: Option<u64>, now: i64) -> ServiceResult<InclusionProof> {
    let size = match size {
        Some(s) => s,
        None => latest(svc, now).await?.size,
    };
    let leaf_index =
        entry.checked_sub(1).and_then(|i| u64::try_from(i).ok()).filter(|&i| i < size).ok_or_else(|| {
            ServiceError::invalid_field(
                "entry",
                "out_of_range",
                &format!("entry must be between 1 and the size ({size})"),
            )
        })?;
    let (proof, root) = svc.db.inclusion_proof(leaf_index, size).await?.ok_or_else(|| beyond("size", size))?;
    let e = svc.db.ledger_entries_at(&[entry]).await?.pop().ok_or_else(|| beyond("entry", leaf_index + 1))?;
    Ok(InclusionProof { entry, leaf_index, size, leaf_hash: hex(&e.leaf()), root: hex(&root), proof: hexes(&proof) })
}

/// A consistency proof (RFC 9162): the tree of `from` is a prefix of the tree of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    pub proof: Vec<String>,
}

/// The consistency proof from size `from` to size `to` (default: the newest checkpoint's).
///
/// # Errors
/// [`crate::service::Code::ValidationFailed`] (`out_of_range`, `beyond_log`); store errors.
pub async fn consistency(svc: &Services, from: u64, to: Option<u64>, now: i64) -> ServiceResult<ConsistencyProof> {
    let to = match to {
        Some(t) => t,
        None => latest(svc, now).await?.size,
    };
    if from == 0 || from > to {
        return Err(ServiceError::invalid_field("from", "out_of_range", "from must be between 1 and to"));
    }
    let (proof, from_root, to_root) = svc.db.consistency_proof(from, to).await?.ok_or_else(|| beyond("to", to))?;
    Ok(ConsistencyProof { from, to, from_root: hex(&from_root), to_root: hex(&to_root), proof: hexes(&proof) })
}

/// A cited ledger entry, whole: what a verifier recomputes the chain hash and the leaf from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackEntry {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub recorded_at: i64,
    /// The payload's canonical JSON text.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<Entry> for PackEntry {
    fn from(e: Entry) -> Self {
        Self {
            seq: e.seq,
            kind: e.kind,
            subject: e.subject,
            recorded_at: e.recorded_at,
            payload: e.payload,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

impl From<&PackEntry> for Entry {
    fn from(e: &PackEntry) -> Self {
        Self {
            seq: e.seq,
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            payload: e.payload.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
            recorded_at: e.recorded_at,
        }
    }
}

/// The log's part of an evidence pack: the checkpoint it was made at, every cited entry,
/// one batch inclusion proof of them all, and consistency proofs from the checkpoints the
/// district recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackLog {
    pub checkpoint: SignedCheckpoint,
    /// Every key the log has signed with (for reading; a verifier trusts its own copies).
    pub keys: Vec<String>,
    /// The cited entries, by sequence number.
    pub entries: Vec<PackEntry>,
    /// The batch inclusion proof of `entries` in the checkpoint's tree (leaf `seq − 1`), hex:
    /// the roots of the ranges holding no cited entry, in the order of RFC 6962's recursion.
    pub inclusion: Vec<String>,
    /// From each size the district recorded a checkpoint at (up to the pack's), newest first.
    pub consistency: Vec<ConsistencyProof>,
}

/// How many of the district's recorded sizes a pack proves consistency from.
const DISTRICT_SIZES: usize = 50;

/// The log's part of a pack whose ledger head was `head` entries and which cites entries
/// `cited`: signs (or reuses) the checkpoint at `head`.
///
/// # Errors
/// Store errors.
pub async fn pack_log(svc: &Services, cited: &[i64], head: i64, now: i64) -> ServiceResult<PackLog> {
    let size = u64::try_from(head).map_err(internal)?;
    let checkpoint = checkpoint_at(svc, Some(size), now).await?;
    let mut seqs: Vec<i64> = cited.iter().copied().filter(|&s| s >= 1 && s <= head).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let entries = svc.db.ledger_entries_at(&seqs).await?;
    let indices: Vec<u64> = entries.iter().filter_map(|e| u64::try_from(e.seq.checked_sub(1)?).ok()).collect();
    let inclusion = if indices.is_empty() {
        Vec::new()
    } else {
        svc.db.batch_proof(&indices, size).await?.ok_or_else(|| beyond("size", size))?
    };
    let mut sizes: Vec<u64> = svc
        .db
        .district_checkpoint_sizes()
        .await?
        .into_iter()
        .filter_map(|s| u64::try_from(s).ok())
        .filter(|&s| s >= 1 && s <= size)
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    sizes.truncate(DISTRICT_SIZES);
    let mut consistency = Vec::with_capacity(sizes.len());
    for from in sizes {
        consistency.push(self::consistency(svc, from, Some(size), now).await?);
    }
    Ok(PackLog {
        checkpoint,
        keys: keys(svc).await?.into_iter().map(|k| k.vkey).collect(),
        entries: entries.into_iter().map(PackEntry::from).collect(),
        inclusion: hexes(&inclusion),
        consistency,
    })
}

/// What the district kept: the log's keys it trusts, and signed checkpoints (file name,
/// note), from an exported directory or ZIP.
#[derive(Debug, Clone, Default)]
pub struct DistrictCopies {
    pub keys: Vec<Verifier>,
    pub checkpoints: Vec<(String, String)>,
}

impl DistrictCopies {
    /// Reads the files of an export: `keys.txt` (one verifier key a line; `#` comments) and
    /// every `*.checkpoint`.
    ///
    /// # Errors
    /// A message naming a key line that does not parse.
    pub fn from_files(files: &[(String, String)]) -> Result<Self, String> {
        let mut out = Self::default();
        for (name, text) in files {
            if name.ends_with("keys.txt") {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                    out.keys.push(Verifier::parse(line).map_err(|e| format!("{name}: {e}"))?);
                }
            } else if name.ends_with(".checkpoint") {
                out.checkpoints.push((name.clone(), text.clone()));
            }
        }
        out.checkpoints.sort();
        Ok(out)
    }
}

/// The outcome of an offline check: what held, and what did not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OfflineReport {
    pub held: Vec<String>,
    pub problems: Vec<String>,
    /// Checks that could not be made offline (a district checkpoint newer than the pack).
    pub notes: Vec<String>,
}

fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn unhexes(v: &[String]) -> Option<Vec<Hash>> {
    v.iter().map(|s| unhex(s)).collect()
}

/// Checks a pack (its `pack.json`) with no database: the pack's checkpoint is signed by a
/// key the district holds; every row the pack cites is one of the pack's entries, each entry
/// gives its own chain hash, and together they lead, with the batch proof, to the signed
/// root; and the signed tree extends every checkpoint the district kept (its consistency
/// proof holds). Every problem is named.
#[allow(clippy::too_many_lines)]
pub fn verify_offline(pack: &serde_json::Value, district: &DistrictCopies) -> OfflineReport {
    let mut r = OfflineReport::default();
    if district.keys.is_empty() {
        r.problems.push("the district's copies hold no log key (keys.txt): nothing can be trusted".into());
        return r;
    }
    // The district's own checkpoints, each under its own keys.
    let mut kept: Vec<(String, Checkpoint)> = Vec::new();
    for (file, note) in &district.checkpoints {
        match checkpoint::open_checkpoint(note, &district.keys) {
            Ok((c, _)) => kept.push((file.clone(), c)),
            Err(e) => r.problems.push(format!("the district's checkpoint {file}: {e}")),
        }
    }
    let Some(log) = pack.get("log").filter(|l| !l.is_null()) else {
        r.problems.push(
            "the pack carries no log part (it was made before the Merkle log): check it against the database instead"
                .into(),
        );
        return r;
    };
    let log: PackLog = match serde_json::from_value(log.clone()) {
        Ok(l) => l,
        Err(e) => {
            r.problems.push(format!("the pack's log part is malformed: {e}"));
            return r;
        }
    };
    let signed = match checkpoint::open_checkpoint(&log.checkpoint.note, &district.keys) {
        Ok((c, opened)) => {
            r.held.push(format!(
                "the pack's checkpoint ({} entries) is signed by {}, a key the district holds",
                c.size,
                opened.signed_by.join(", ")
            ));
            c
        }
        Err(e @ NoteError::UnknownKey(_)) => {
            r.problems.push(format!(
                "the pack's checkpoint: {e}. A log rewritten and signed afresh looks like this; if the log rotated \
                 its key, record a head (the rotation's checkpoint is signed by the old key too) and export again"
            ));
            return r;
        }
        Err(e) => {
            r.problems.push(format!("the pack's checkpoint: {e}"));
            return r;
        }
    };
    if signed.size != log.checkpoint.size || hex(&signed.root) != log.checkpoint.root {
        r.problems.push("the pack's checkpoint fields differ from its signed note".into());
    }
    if let Some(head) = pack["ledger_head"]["count"].as_i64()
        && u64::try_from(head).ok() != Some(signed.size)
    {
        r.problems.push(format!("the pack's ledger head ({head}) is not the checkpoint's size ({})", signed.size));
    }
    // Every entry gives its own chain hash; every cited row is an entry of the pack.
    let mut ok_entries = true;
    let by_seq: std::collections::HashMap<i64, &PackEntry> = log.entries.iter().map(|e| (e.seq, e)).collect();
    for e in &log.entries {
        if entry_hash(&e.prev_hash, e.seq, &e.kind, &e.subject, e.recorded_at, &e.payload) != e.hash {
            r.problems.push(format!(
                "entry {} ({} of {}) was edited: its contents do not give its hash",
                e.seq, e.kind, e.subject
            ));
            ok_entries = false;
        }
    }
    let mut cited = 0usize;
    for c in pack["criteria"].as_array().into_iter().flatten() {
        for row in c["rows"].as_array().into_iter().flatten() {
            let Some(seq) = row["ledger_seq"].as_i64() else { continue };
            cited += 1;
            let id = row["id"].as_str().unwrap_or("");
            match by_seq.get(&seq) {
                None => {
                    r.problems.push(format!("{} {id} cites entry {seq}, which the pack does not carry", row["table"]));
                    ok_entries = false;
                }
                Some(e) if e.subject != id || Some(e.hash.as_str()) != row["ledger_hash"].as_str() => {
                    r.problems.push(format!(
                        "{} {id} cites entry {seq} with hash {}, but entry {seq} is about {} with hash {}",
                        row["table"], row["ledger_hash"], e.subject, e.hash
                    ));
                    ok_entries = false;
                }
                Some(_) => {}
            }
        }
    }
    // Together they lead to the signed root.
    if !log.entries.is_empty() {
        let indices: Vec<u64> = log
            .entries
            .iter()
            .map(|e| e.seq.checked_sub(1).and_then(|i| u64::try_from(i).ok()).unwrap_or(u64::MAX))
            .collect();
        let leaves: Vec<Hash> = log.entries.iter().map(|e| Entry::from(e).leaf()).collect();
        match unhexes(&log.inclusion).map(|p| merkle::verify_batch(&indices, &leaves, signed.size, &p)) {
            None => r.problems.push("the pack's inclusion proof is not hex hashes".into()),
            Some(Err(e)) => r.problems.push(format!("the pack's inclusion proof: {e}")),
            Some(Ok(root)) if root != signed.root => r.problems.push(format!(
                "the {} cited entries do not lead to the signed root of {} entries: an entry was edited, removed \
                 or moved after the log recorded it",
                log.entries.len(),
                signed.size
            )),
            Some(Ok(_)) if ok_entries => r.held.push(format!(
                "all {} cited entries ({cited} rows) are in the signed log of {} entries",
                log.entries.len(),
                signed.size
            )),
            Some(Ok(_)) => {}
        }
    }
    // The signed tree extends every checkpoint the district kept.
    for (file, c) in &kept {
        if c.origin != signed.origin {
            r.notes.push(format!("the district's checkpoint {file} is of another log ({})", c.origin));
            continue;
        }
        if c.size == 0 {
            // The empty tree is a prefix of every tree.
            r.held.push(format!("the district's checkpoint {file} is of the empty log"));
            continue;
        }
        if c.size > signed.size {
            r.notes.push(format!(
                "the district's checkpoint {file} ({} entries) is newer than the pack ({}): check it online with \
                 GET /api/v1/ledger/proof/consistency?from={}&to={}",
                c.size, signed.size, signed.size, c.size
            ));
            continue;
        }
        if c.size == signed.size {
            if c.root == signed.root {
                r.held.push(format!("the district's checkpoint {file} is the pack's own"));
            } else {
                r.problems.push(format!(
                    "the district's checkpoint {file} has another root for the same {} entries: the log was rewritten \
                     (a fork)",
                    c.size
                ));
            }
            continue;
        }
        let Some(p) = log.consistency.iter().find(|p| p.from == c.size && p.to == signed.size) else {
            r.problems.push(format!(
                "the pack carries no consistency proof from the district's checkpoint {file} ({} entries)",
                c.size
            ));
            continue;
        };
        let proof = unhexes(&p.proof);
        let holds = proof.is_some_and(|proof| {
            merkle::verify_consistency(c.size, signed.size, &c.root, &signed.root, &proof).is_ok()
        });
        if holds {
            r.held.push(format!(
                "the log only grew since the district's checkpoint {file} ({} → {} entries)",
                c.size, signed.size
            ));
        } else {
            r.problems.push(format!(
                "the pack's log does not extend the district's checkpoint {file} ({} entries, signed at {}): entries \
                 up to {} were changed, removed or reordered since (a rewrite or a fork)",
                c.size,
                crate::clock::rfc3339(c.time_ms),
                c.size
            ));
        }
    }
    if kept.is_empty() && district.checkpoints.is_empty() {
        r.notes.push("the district kept no checkpoint: that the log only grew is not checked".into());
    }
    r
}

/// Reads a pack file (its ZIP or its `pack.json`): the pack, and for a ZIP whether every
/// file is the one `manifest.json` lists (its SHA-256).
///
/// # Errors
/// A message for a file that is neither.
pub fn open_pack_file(bytes: &[u8]) -> Result<(serde_json::Value, OfflineReport), String> {
    use sha2::Digest;
    let mut report = OfflineReport::default();
    if !bytes.starts_with(b"PK") {
        let json = serde_json::from_slice(bytes).map_err(|e| format!("the file is not JSON: {e}"))?;
        return Ok((json, report));
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a ZIP: {e}"))?;
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| e.to_string())?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).map_err(|e| e.to_string())?;
        files.insert(f.name().map_err(|e| e.to_string())?.into_owned(), data);
    }
    let pack = files.get("pack.json").ok_or("the ZIP has no pack.json")?;
    let json: serde_json::Value = serde_json::from_slice(pack).map_err(|e| format!("pack.json is not JSON: {e}"))?;
    match files.get("manifest.json").and_then(|m| serde_json::from_slice::<serde_json::Value>(m).ok()) {
        None => report.problems.push("the ZIP has no readable manifest.json".into()),
        Some(m) => {
            let mut listed = 0;
            for f in m["files"].as_array().into_iter().flatten() {
                let name = f["file"].as_str().unwrap_or("");
                listed += 1;
                match files.get(name) {
                    None => report.problems.push(format!("{name}, listed in the manifest, is missing from the ZIP")),
                    Some(data) if f["sha256"].as_str() != Some(hex(&sha2::Sha256::digest(data)).as_str()) => {
                        report.problems.push(format!("{name} was changed: its SHA-256 is not the manifest's"));
                    }
                    Some(_) => {}
                }
            }
            if listed + 1 < files.len() {
                report.problems.push("the ZIP holds files the manifest does not list".into());
            }
            if report.problems.is_empty() {
                report.held.push(format!("every file of the ZIP is the one its manifest lists ({listed})"));
            }
        }
    }
    Ok((json, report))
}
