//! The district's copies of the ledger head. A reviewer records the head (entry count and
//! hash) while reviewing a space: who, when, and for which space. Because every entry's hash
//! covers the one before it, the head commits to every entry up to it; a later check that
//! entry `seq` still has the recorded hash shows that nothing up to it was changed, inserted
//! or removed since, and a mismatch shows that the ledger was rewritten. (Signed checkpoints
//! and proofs that need no database are issue 20.)

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

/// Records the ledger's head now for the space `slug`: the reviewer's own copy.
///
/// # Errors
/// [`super::Code::NotFound`] for an unknown space; store errors.
pub async fn record_head(svc: &Services, reviewer: &Reviewer, slug: &str, now: i64) -> ServiceResult<RecordedHead> {
    let space = super::catalog::find_space(svc, slug).await?;
    let (seq, hash) = svc.db.ledger_head().await?;
    let id = crate::store::new_id();
    svc.db.record_head(&id, &space.id, seq, &hash, reviewer.id(), now).await?;
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
