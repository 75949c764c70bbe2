//! The Merkle log over the ledger (migration 0019): the stored tree's roots and proofs, read
//! in O(log n) rows; the keys that sign checkpoints; the checkpoints. The tree itself is
//! written by [`crate::ledger_append!`], in the transaction of each entry.

use super::{Db, StoreResult};
use crate::domain::ledger::Entry;
use crate::domain::merkle::{self, Frontier, Hash, NodeKey};
use crate::on_read;
use std::collections::HashMap;

/// A key that signs (or signed) checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogKeyRow {
    /// `name+keyid`.
    pub id: String,
    pub name: String,
    pub vkey: String,
    /// The signer key, when generated here.
    pub skey: Option<String>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    pub id: String,
    pub size: i64,
    /// Hex.
    pub root: String,
    pub signed_at: i64,
    pub key_id: String,
    pub note: String,
}

/// Leaves the start-up build of the tree adds per transaction.
const EXTEND_BATCH: i64 = 50_000;

impl Db {
    /// The number of leaves in the stored tree.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tree_size(&self) -> StoreResult<u64> {
        let last: Option<i64> =
            on_read!(self, |p| sqlx::query_scalar("SELECT MAX(idx) FROM ledger_tree WHERE level = 0")
                .fetch_one(p)
                .await?);
        Ok(u64::try_from(last.map_or(0, |m| m + 1)).unwrap_or(0))
    }

    /// Builds the tree of every entry that has no leaf yet (a ledger from before the tree),
    /// a batch of 50 000 leaves a transaction, under the ledger's lock, so that nodes starting
    /// together and appends in between never write a node twice. Returns the leaves added.
    ///
    /// # Errors
    /// Database errors; [`super::StoreError::Corrupt`] for a damaged tree or a ledger gap.
    pub async fn extend_tree(&self) -> StoreResult<u64> {
        let mut added = 0;
        loop {
            let lock = self.ledger_lock();
            let step: u64 = crate::in_write_tx!(self, |tx| {
                if let Some(l) = lock.sql {
                    sqlx::query(l).execute(&mut *tx).await?;
                }
                let count: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM ledger").fetch_one(&mut *tx).await?;
                let count = count.unwrap_or(0);
                let last: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(idx) FROM ledger_tree WHERE level = 0").fetch_one(&mut *tx).await?;
                let stored = last.map_or(0, |m| m + 1);
                let target = count.min(stored + EXTEND_BATCH);
                if target > stored {
                    let _ = crate::ledger_tree_frontier!(tx, target);
                }
                u64::try_from(target - stored).unwrap_or(0)
            });
            if step == 0 {
                return Ok(added);
            }
            added += step;
            tracing::info!(leaves = added, "built the Merkle log's tree of earlier entries");
        }
    }

    /// Writes tree nodes directly, in one transaction: for the benchmarks only (a stored
    /// tree of millions of leaves without their ledger rows).
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub async fn bench_write_tree(&self, nodes: &[(NodeKey, Hash)]) -> StoreResult<()> {
        crate::in_write_tx!(self, |tx| {
            crate::ledger_tree_write!(tx, nodes.to_vec(), 300);
        });
        Ok(())
    }

    /// Stored nodes by key (those that exist).
    ///
    /// # Errors
    /// Database errors.
    pub async fn tree_nodes(&self, keys: &[NodeKey]) -> StoreResult<HashMap<NodeKey, Hash>> {
        match self {
            // SQLite: keys as OR-ed primary-key lookups, 400 a statement.
            Db::Sqlite { read, .. } => Ok(crate::ledger_tree_read!(read, keys)),
            // PostgreSQL plans a long OR slowly (165 s for a pack's 378,000 keys): the keys go
            // as two arrays, joined on the primary key, 50,000 a statement.
            // A proof's few dozen keys go to the generic-plan connections: the statement's
            // text never changes, and planning it again was part of each proof's time.
            Db::Postgres { pool, hot, .. } => {
                let pool = if keys.len() <= 1_000 { hot } else { pool };
                let mut out = HashMap::with_capacity(keys.len());
                for chunk in keys.chunks(50_000) {
                    let levels: Vec<i16> = chunk.iter().map(|(l, _)| i16::from(*l)).collect();
                    let idxs: Vec<i64> = chunk.iter().map(|(_, i)| i64::try_from(*i).unwrap_or(i64::MAX)).collect();
                    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT t.level, t.idx, t.hash FROM unnest($1::int2[], $2::int8[]) AS k(level, idx) \
                         JOIN ledger_tree t ON t.level = k.level AND t.idx = k.idx",
                    )
                    .bind(levels)
                    .bind(idxs)
                    .fetch_all(pool)
                    .await?;
                    for (level, idx, hash) in rows {
                        let hash: Hash = hash.try_into().map_err(|_| {
                            super::StoreError::Corrupt(format!("tree node ({level}, {idx}) is not 32 bytes"))
                        })?;
                        out.insert((u8::try_from(level).unwrap_or(u8::MAX), u64::try_from(idx).unwrap_or(0)), hash);
                    }
                }
                Ok(out)
            }
        }
    }

    /// Runs a computation over stored nodes (see [`merkle::keys_of`]): reads the keys it
    /// needs in one pass, then computes. `None` when a node is missing: the size is beyond
    /// the stored tree.
    async fn over_nodes<T>(&self, run: impl Fn(&mut merkle::Nodes<'_>) -> T) -> StoreResult<Option<T>> {
        let keys = merkle::keys_of(|get| {
            run(get);
        });
        let nodes = self.tree_nodes(&keys).await?;
        if nodes.len() != keys.len() {
            return Ok(None);
        }
        Ok(Some(run(&mut |k| nodes[&k])))
    }

    /// The root of the tree of `size` leaves; `None` beyond the stored tree.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tree_root(&self, size: u64) -> StoreResult<Option<Hash>> {
        self.over_nodes(|get| merkle::root_from(size, get)).await
    }

    /// The inclusion proof of leaf `index` in the tree of `size`, and that tree's root, read
    /// in one statement; `None` beyond the tree.
    ///
    /// # Errors
    /// Database errors.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> StoreResult<Option<(Vec<Hash>, Hash)>> {
        self.over_nodes(|get| (merkle::inclusion_proof_from(index, size, get), merkle::root_from(size, get))).await
    }

    /// The consistency proof from size `old` to size `new`, and both roots, read in one
    /// statement; `None` beyond the tree.
    ///
    /// # Errors
    /// Database errors.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> StoreResult<Option<(Vec<Hash>, Hash, Hash)>> {
        self.over_nodes(|get| {
            (merkle::consistency_proof_from(old, new, get), merkle::root_from(old, get), merkle::root_from(new, get))
        })
        .await
    }

    /// The batch inclusion proof of the leaves `indices` (sorted, distinct) in the tree of
    /// `size`; `None` beyond the tree.
    ///
    /// # Errors
    /// Database errors.
    pub async fn batch_proof(&self, indices: &[u64], size: u64) -> StoreResult<Option<Vec<Hash>>> {
        self.over_nodes(|get| merkle::batch_proof_from(indices, size, get)).await
    }

    /// The right edge of the stored tree at `size` leaves, if stored.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tree_frontier(&self, size: u64) -> StoreResult<Option<Frontier>> {
        let keys = Frontier::keys(size);
        let nodes = self.tree_nodes(&keys).await?;
        Ok(Frontier::new(size, keys.iter().filter_map(|k| nodes.get(k).copied()).collect()))
    }

    /// The ledger entries with sequence numbers `seqs`, in order (500 a statement).
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_entries_at(&self, seqs: &[i64]) -> StoreResult<Vec<Entry>> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT seq, kind, subject_id, payload, prev_hash, hash, recorded_at FROM ledger WHERE seq IN ({})",
                marks.join(", ")
            );
            let rows: Vec<super::ledger::EntryRow> = on_read!(self, |p| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for s in chunk {
                    q = q.bind(*s);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows.into_iter().map(super::ledger::entry_of));
        }
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    /// Every key, current ones first, then newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn log_keys(&self) -> StoreResult<Vec<LogKeyRow>> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT id, name, vkey, skey, created_at, retired_at FROM log_keys \
             ORDER BY (retired_at IS NULL) DESC, created_at DESC, id"
        )
        .fetch_all(p)
        .await?))
    }

    /// Adds a key unless one with its id, or a current one with its name, exists. With
    /// `retire_others`, first retires the current key of its name (a rotation, or a
    /// configured key replacing a generated one). Returns whether it was added.
    ///
    /// # Errors
    /// Database errors.
    pub async fn add_log_key(&self, row: &LogKeyRow, retire_others: bool, now: i64) -> StoreResult<bool> {
        Ok(crate::in_write_tx!(self, |tx| {
            if retire_others {
                sqlx::query("UPDATE log_keys SET retired_at = $1 WHERE name = $2 AND retired_at IS NULL AND id <> $3")
                    .bind(now)
                    .bind(&row.name)
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO log_keys (id, name, vkey, skey, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.vkey)
            .bind(&row.skey)
            .bind(row.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Keeps a signed checkpoint unless one of its size by its key exists; returns the one
    /// kept.
    ///
    /// # Errors
    /// Database errors.
    pub async fn keep_checkpoint(&self, row: &CheckpointRow) -> StoreResult<CheckpointRow> {
        crate::in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO checkpoints (id, size, root, signed_at, key_id, note) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(row.size)
            .bind(&row.root)
            .bind(row.signed_at)
            .bind(&row.key_id)
            .bind(&row.note)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(self.checkpoint_of(row.size, &row.key_id).await?.unwrap_or_else(|| row.clone()))
    }

    /// The checkpoint of `size` signed by `key_id`, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoint_of(&self, size: i64, key_id: &str) -> StoreResult<Option<CheckpointRow>> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT id, size, root, signed_at, key_id, note FROM checkpoints WHERE size = $1 AND key_id = $2"
        )
        .bind(size)
        .bind(key_id)
        .fetch_optional(p)
        .await?))
    }

    /// The newest checkpoint (largest size, then latest signed), if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn latest_checkpoint(&self) -> StoreResult<Option<CheckpointRow>> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT id, size, root, signed_at, key_id, note FROM checkpoints ORDER BY size DESC, signed_at DESC, id \
             LIMIT 1"
        )
        .fetch_optional(p)
        .await?))
    }
}
