//! The district's copies of the ledger head. A reviewer records the head (entry count and
//! hash) while reviewing a space: who, when, and for which space. Because every entry's hash
//! covers the one before it, the head commits to every entry up to it; a later check that
//! entry `seq` still has the recorded hash shows that nothing up to it was changed, inserted
//! or removed since, and a mismatch shows that the ledger was rewritten. Each head is also a
//! signed checkpoint of the Merkle log ([`super::log`]); [`export`] writes the district's
//! copies as files that `labinn verify-pack --checkpoints` reads with no database.

use super::powers::{Identity, Reviewer};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::ledger::GENESIS;
use crate::store::witness::RecordedHeadRow;
use serde::Serialize;
use std::collections::HashMap;

/// A recorded head, and whether the ledger still holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedHead {
    pub id: String,
    /// Entries in the ledger when recorded (the head's sequence number).
    pub count: i64,
    pub hash: String,
    pub recorded_by: String,
    pub recorded_by_name: String,
    pub recorded_at: i64,
    /// The ledger's entry `count` still has `hash` (an empty ledger's head is the genesis).
    pub holds: bool,
    /// The signed checkpoint of this head (C2SP note), the district's copy.
    pub checkpoint: Option<String>,
}

/// How many recorded heads of a space a reader is shown.
pub const SHOWN: i64 = 20;

async fn checked(svc: &Services, rows: Vec<RecordedHeadRow>) -> ServiceResult<Vec<RecordedHead>> {
    let mut out = Vec::with_capacity(rows.len());
    // Several copies of one head are checked once.
    let mut seen: HashMap<i64, Option<String>> = HashMap::new();
    for r in rows {
        let now_hash = match seen.get(&r.seq) {
            Some(h) => h.clone(),
            None => {
                let h = if r.seq == 0 { Some(GENESIS.to_owned()) } else { svc.db.ledger_hash_at(r.seq).await? };
                seen.insert(r.seq, h.clone());
                h
            }
        };
        out.push(RecordedHead {
            holds: now_hash.as_deref() == Some(r.hash.as_str()),
            id: r.id,
            count: r.seq,
            hash: r.hash,
            recorded_by: r.recorded_by,
            recorded_by_name: r.recorded_by_name,
            recorded_at: r.recorded_at,
            checkpoint: r.note,
        });
    }
    Ok(out)
}

fn district(who: &Identity) -> ServiceResult<()> {
    if who.reviewer().is_none() && who.admin().is_none() {
        return Err(ServiceError::forbidden("recorded ledger heads are the district's: reviewers and admins"));
    }
    Ok(())
}

/// Records the ledger's head now for the space `slug`: the reviewer's own copy, with a
/// checkpoint of it signed now (or the one signed before at this size).
///
/// # Errors
/// [`super::Code::NotFound`] for an unknown space; store errors.
pub async fn record_head(svc: &Services, reviewer: &Reviewer, slug: &str, now: i64) -> ServiceResult<RecordedHead> {
    let space = super::catalog::find_space(svc, slug).await?;
    let (seq, hash) = svc.db.ledger_head().await?;
    let signed = super::log::checkpoint_at(svc, Some(u64::try_from(seq).unwrap_or(0)), now).await?;
    let id = crate::store::new_id();
    svc.db.record_head(&id, &space.id, seq, &hash, Some(&signed.note), reviewer.id(), now).await?;
    let rows = svc.db.recorded_heads(&space.id, 1).await?;
    Ok(checked(svc, rows).await?.remove(0))
}

/// The heads recorded for the space `slug`, newest first (at most [`SHOWN`]), each checked
/// against the ledger. Reviewers and admins.
///
/// # Errors
/// [`super::Code::Forbidden`] for anyone else; [`super::Code::NotFound`]; store errors.
pub async fn heads_of(svc: &Services, who: &Identity, slug: &str) -> ServiceResult<Vec<RecordedHead>> {
    district(who)?;
    let space = super::catalog::find_space(svc, slug).await?;
    let rows = svc.db.recorded_heads(&space.id, SHOWN).await?;
    checked(svc, rows).await
}

/// The newest recorded head of every space that has one, by the space's slug, checked.
/// Reviewers and admins.
///
/// # Errors
/// [`super::Code::Forbidden`] for anyone else; store errors.
pub async fn latest_heads(svc: &Services, who: &Identity) -> ServiceResult<HashMap<String, RecordedHead>> {
    district(who)?;
    let rows = svc.db.latest_recorded_heads().await?;
    let spaces: Vec<String> = rows.iter().map(|r| r.space_slug.clone()).collect();
    Ok(spaces.into_iter().zip(checked(svc, rows).await?).collect())
}

/// The district's copies as a ZIP, for a reviewer to keep outside labinn: `keys.txt` (the
/// log's verifier keys that signed a recorded checkpoint) and one
/// `checkpoints/<space>-<size>-<id>.checkpoint` per recorded head. Reviewers and admins.
///
/// # Errors
/// [`super::Code::Forbidden`] for anyone else; store errors.
pub async fn export(svc: &Services, who: &Identity) -> ServiceResult<Vec<u8>> {
    use std::io::Write;
    district(who)?;
    let rows = svc.db.district_checkpoints().await?;
    let keys = svc.db.log_keys().await?;
    let signed_by = |note: &str| -> Vec<String> {
        keys.iter()
            .filter(|k| {
                crate::domain::checkpoint::Verifier::parse(&k.vkey)
                    .is_ok_and(|v| crate::domain::checkpoint::open(note, &[v]).is_ok())
            })
            .map(|k| k.vkey.clone())
            .collect()
    };
    let mut vkeys: Vec<String> = rows.iter().filter_map(|r| r.note.as_deref()).flat_map(signed_by).collect();
    vkeys.sort();
    vkeys.dedup();
    let internal = |e: &dyn std::fmt::Display| ServiceError::internal(anyhow::anyhow!("export: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut keys_txt = String::from("# The labinn log's verifier keys that signed the district's checkpoints\n");
    for k in &vkeys {
        keys_txt.push_str(k);
        keys_txt.push('\n');
    }
    zip.start_file("keys.txt", options).map_err(|e| internal(&e))?;
    zip.write_all(keys_txt.as_bytes()).map_err(|e| internal(&e))?;
    for r in &rows {
        let Some(note) = &r.note else { continue };
        zip.start_file(format!("checkpoints/{}-{}-{}.checkpoint", r.space_slug, r.seq, r.id), options)
            .map_err(|e| internal(&e))?;
        zip.write_all(note.as_bytes()).map_err(|e| internal(&e))?;
    }
    Ok(zip.finish().map_err(|e| internal(&e))?.into_inner())
}
