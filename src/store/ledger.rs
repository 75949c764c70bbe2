//! The evidence ledger: an append-only, hash-chained record of check-ins, check-outs,
//! no-shows and cancellations, appended inside the transaction of the change it records,
//! and its verification.
//!
//! Appends are serialised: SQLite has one writer, and PostgreSQL nodes take a
//! transaction-scoped advisory lock ([`super::dialect::Dialect::ledger_lock`]) before
//! reading the head, so that nodes never fork the chain.

use super::checkin::{MeteredSession, session_facts};
use super::{Db, StoreResult};
use crate::domain::booking::BookingStatus;
use crate::domain::ledger::{Entry, EntryKind, GENESIS};
use crate::on_read;
use serde_json::Value;

/// Appends `entries` (kind, subject, payload) to the ledger inside transaction `$tx`.
/// `$lock` is [`Db::ledger_lock`]. Evaluates to the last sequence number written. Rows go in
/// as multi-row INSERTs ([`LedgerLock::rows_per_statement`]): the no-show job appends
/// hundreds at once.
///
/// The Merkle log's nodes (each new leaf and the subtrees it completes) are written in the
/// same transaction, from the right edge of the tree before the batch: this node's copy of it
/// when the head it read is the one that copy was made at ([`TreeEdge`]), else read from the
/// database. On PostgreSQL a small batch writes its rows and its nodes in one statement.
#[macro_export]
macro_rules! ledger_append {
    ($tx:ident, $lock:expr, $now:expr, $entries:expr) => {{
        let lock: $crate::store::ledger::LedgerLock<'_> = $lock;
        if let Some(l) = lock.sql {
            sqlx::query(l).execute(&mut *$tx).await?;
        }
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *$tx).await?;
        let (mut seq, mut prev) = head.unwrap_or((0, $crate::domain::ledger::GENESIS.to_owned()));
        let before = seq;
        let mut frontier = match lock.edge.get(before, &prev) {
            Some(f) => f,
            None => $crate::ledger_tree_frontier!($tx, before),
        };
        let mut rows: Vec<(i64, String, String, String, String, String)> = Vec::new();
        let mut nodes = Vec::new();
        for (kind, subject, payload) in $entries {
            let kind: &str = $crate::domain::ledger::EntryKind::as_str(kind);
            let subject: &str = subject;
            seq += 1;
            let payload = $crate::domain::ledger::canonical_json(&payload);
            let hash = $crate::domain::ledger::entry_hash(&prev, seq, kind, subject, $now, &payload);
            let data = $crate::domain::ledger::leaf_data(seq, kind, subject, $now, &payload, &prev, &hash);
            nodes.extend(frontier.push($crate::domain::merkle::leaf_hash(data.as_bytes())));
            rows.push((seq, kind.to_owned(), subject.to_owned(), payload, prev, hash.clone()));
            prev = hash;
        }
        let values = $crate::store::ledger::value_rows;
        const INSERT_LEDGER: &str =
            "INSERT INTO ledger (seq, kind, subject_id, payload, prev_hash, hash, recorded_at) VALUES ";
        const INSERT_TREE: &str = "INSERT INTO ledger_tree (level, idx, hash) VALUES ";
        if lock.one_statement && rows.len() <= 50 {
            // One round trip: the tree's rows in a data-modifying CTE beside the ledger's.
            let sql = format!(
                "WITH t AS ({INSERT_TREE}{}) {INSERT_LEDGER}{}",
                values(nodes.len(), 3, 0),
                values(rows.len(), 7, nodes.len() * 3)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((level, idx), hash) in &nodes {
                q = q.bind(i16::from(*level)).bind(i64::try_from(*idx).unwrap_or(i64::MAX)).bind(hash.to_vec());
            }
            for (seq, kind, subject, payload, prev, hash) in &rows {
                q = q.bind(*seq).bind(kind).bind(subject).bind(payload).bind(prev).bind(hash).bind($now);
            }
            q.execute(&mut *$tx).await?;
        } else {
            for chunk in rows.chunks(lock.rows_per_statement) {
                let sql = format!("{INSERT_LEDGER}{}", values(chunk.len(), 7, 0));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (seq, kind, subject, payload, prev, hash) in chunk {
                    q = q.bind(*seq).bind(kind).bind(subject).bind(payload).bind(prev).bind(hash).bind($now);
                }
                q.execute(&mut *$tx).await?;
            }
            $crate::ledger_tree_write!($tx, nodes, 2 * lock.rows_per_statement);
        }
        // Kept for the next append; a rollback leaves a head that this copy does not match.
        lock.edge.put(seq, &prev, frontier);
        seq
    }};
}

/// `n` rows of `width` placeholders for a multi-row `VALUES`, numbered from `$(from + 1)`:
/// `value_rows(2, 3, 0)` is `($1, $2, $3), ($4, $5, $6)`.
#[doc(hidden)]
pub fn value_rows(n: usize, width: usize, from: usize) -> String {
    (0..n)
        .map(|i| {
            let marks: Vec<String> = (1..=width).map(|k| format!("${}", from + i * width + k)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn value_rows_number_their_placeholders_in_order() {
    assert_eq!(value_rows(2, 3, 0), "($1, $2, $3), ($4, $5, $6)");
    assert_eq!(value_rows(1, 2, 6), "($7, $8)");
}

/// This node's copy of the Merkle tree's right edge, with the ledger head (sequence number,
/// hash) it was made at. The head's hash commits to every entry before it, so an equal head
/// means an equal tree: the copy spares each append a read of the edge. Another node's
/// append, or a rolled-back one, leaves a head that the copy does not match, and the edge is
/// read from the database again.
#[derive(Debug, Default)]
pub struct TreeEdge(std::sync::Mutex<Option<(i64, String, crate::domain::merkle::Frontier)>>);

impl TreeEdge {
    /// The edge at head (`seq`, `hash`), when this copy is of that head.
    pub fn get(&self, seq: i64, hash: &str) -> Option<crate::domain::merkle::Frontier> {
        let kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.as_ref().filter(|(s, h, _)| *s == seq && h == hash).map(|(_, _, f)| f.clone())
    }

    pub fn put(&self, seq: i64, hash: &str, frontier: crate::domain::merkle::Frontier) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((seq, hash.to_owned(), frontier));
    }

    pub fn forget(&self) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// What an appending transaction needs: the statement that serialises appends (see the
/// module documentation), this node's [`TreeEdge`], and whether rows and nodes may go in one
/// statement (PostgreSQL's data-modifying CTEs; SQLite has none).
#[derive(Debug, Clone, Copy)]
pub struct LedgerLock<'a> {
    pub sql: Option<&'static str>,
    pub edge: &'a TreeEdge,
    pub one_statement: bool,
    /// Ledger rows a multi-row INSERT (twice as many tree nodes): 200 on PostgreSQL, where a
    /// statement is a round trip; 50 on SQLite, where sqlx asks each parameter's name and
    /// SQLite finds it by a scan of the statement's list of names, so that binding costs the
    /// parameters squared (`sqlite3_bind_parameter_name` was 5 % of the no-show job's profile
    /// at 200 rows).
    pub rows_per_statement: usize,
}

/// Writes stored-tree nodes (`(level, idx), hash`) inside `$tx`, `$per` a statement.
#[doc(hidden)]
#[macro_export]
macro_rules! ledger_tree_write {
    ($tx:ident, $nodes:expr, $per:expr) => {{
        let nodes: Vec<($crate::domain::merkle::NodeKey, $crate::domain::merkle::Hash)> = $nodes;
        for chunk in nodes.chunks($per) {
            let sql = format!(
                "INSERT INTO ledger_tree (level, idx, hash) VALUES {}",
                $crate::store::ledger::value_rows(chunk.len(), 3, 0)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((level, idx), hash) in chunk {
                q = q.bind(i16::from(*level)).bind(i64::try_from(*idx).unwrap_or(i64::MAX)).bind(hash.to_vec());
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// Reads stored-tree nodes by key inside `$tx` (or from a pool): a map from key to hash.
#[doc(hidden)]
#[macro_export]
macro_rules! ledger_tree_read {
    ($exec:expr, $keys:expr) => {{
        let keys: &[$crate::domain::merkle::NodeKey] = $keys;
        let mut out: std::collections::HashMap<$crate::domain::merkle::NodeKey, $crate::domain::merkle::Hash> =
            std::collections::HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(400) {
            let wanted: Vec<String> =
                (0..chunk.len()).map(|i| format!("(level = ${} AND idx = ${})", i * 2 + 1, i * 2 + 2)).collect();
            let sql = format!("SELECT level, idx, hash FROM ledger_tree WHERE {}", wanted.join(" OR "));
            let mut q = sqlx::query_as::<_, (i16, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql));
            for (level, idx) in chunk {
                q = q.bind(i16::from(*level)).bind(i64::try_from(*idx).unwrap_or(i64::MAX));
            }
            for (level, idx, hash) in q.fetch_all($exec).await? {
                let hash: $crate::domain::merkle::Hash = hash.try_into().map_err(|_| {
                    $crate::store::StoreError::Corrupt(format!("tree node ({level}, {idx}) is not 32 bytes"))
                })?;
                out.insert((u8::try_from(level).unwrap_or(u8::MAX), u64::try_from(idx).unwrap_or(0)), hash);
            }
        }
        out
    }};
}

/// The right edge of the stored tree at `$size` leaves, inside `$tx`. A tree behind the
/// ledger (entries a node of an older version appended, or a ledger from before the tree) is
/// first extended from the ledger's rows, in this transaction.
#[doc(hidden)]
#[macro_export]
macro_rules! ledger_tree_frontier {
    ($tx:ident, $size:expr) => {{
        use $crate::domain::merkle::Frontier;
        let size = u64::try_from($size).unwrap_or(0);
        let keys = Frontier::keys(size);
        let got = $crate::ledger_tree_read!(&mut *$tx, &keys);
        match Frontier::new(size, keys.iter().filter_map(|k| got.get(k).copied()).collect()) {
            Some(f) => f,
            None => {
                let last: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(idx) FROM ledger_tree WHERE level = 0").fetch_one(&mut *$tx).await?;
                let stored = u64::try_from(last.map_or(0, |m| m + 1)).unwrap_or(0);
                let keys = Frontier::keys(stored);
                let got = $crate::ledger_tree_read!(&mut *$tx, &keys);
                let mut f = Frontier::new(stored, keys.iter().filter_map(|k| got.get(k).copied()).collect())
                    .ok_or_else(|| {
                        $crate::store::StoreError::Corrupt(format!(
                            "the tree's right edge at {stored} leaves is missing"
                        ))
                    })?;
                while f.size() < size {
                    let from = i64::try_from(f.size()).unwrap_or(i64::MAX);
                    let to = i64::try_from(size.min(f.size() + 5_000)).unwrap_or(i64::MAX);
                    let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
                        "SELECT seq, kind, subject_id, payload, prev_hash, hash, recorded_at FROM ledger \
                         WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *$tx)
                    .await?;
                    if rows.len() as u64 != u64::try_from(to - from).unwrap_or(0) {
                        return Err($crate::store::StoreError::Corrupt(format!(
                            "the ledger has a gap between entries {from} and {to}"
                        ))
                        .into());
                    }
                    let mut nodes = Vec::with_capacity(rows.len() * 2);
                    for (seq, kind, subject, payload, prev, hash, at) in &rows {
                        let data = $crate::domain::ledger::leaf_data(*seq, kind, subject, *at, payload, prev, hash);
                        nodes.extend(f.push($crate::domain::merkle::leaf_hash(data.as_bytes())));
                    }
                    $crate::ledger_tree_write!($tx, nodes, 100);
                }
                f
            }
        }
    }};
}

impl Db {
    /// The latest ledger entry (sequence number, hash) of each of `subjects` that has one:
    /// what a pack cites for a row. Read 500 subjects a statement.
    ///
    /// # Errors
    /// Database errors.
    pub async fn latest_entries(
        &self,
        subjects: &[&str],
    ) -> StoreResult<std::collections::HashMap<String, (i64, String)>> {
        let mut out = std::collections::HashMap::with_capacity(subjects.len());
        for chunk in subjects.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT l.subject_id, l.seq, l.hash FROM ledger l JOIN \
                 (SELECT subject_id, MAX(seq) AS seq FROM ledger WHERE subject_id IN ({}) GROUP BY subject_id) m \
                 ON m.subject_id = l.subject_id AND m.seq = l.seq",
                marks.join(", ")
            );
            let rows: Vec<(String, i64, String)> = on_read!(self, |p| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for s in chunk {
                    q = q.bind(*s);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows.into_iter().map(|(s, seq, h)| (s, (seq, h))));
        }
        Ok(out)
    }

    /// What an appending transaction takes: see [`LedgerLock`].
    pub fn ledger_lock(&self) -> LedgerLock<'_> {
        let (Db::Sqlite { edge, .. } | Db::Postgres { edge, .. }) = self;
        let pg = matches!(self, Db::Postgres { .. });
        LedgerLock {
            sql: self.dialect().ledger_lock(),
            edge,
            one_statement: pg,
            rows_per_statement: if pg { 200 } else { 50 },
        }
    }

    /// Forgets this node's copy of the tree's edge (after the tree was rebuilt, or changed
    /// behind this node's back, as the tests of a damaged tree do).
    #[doc(hidden)]
    pub fn forget_tree_edge(&self) {
        self.ledger_lock().edge.forget();
    }

    /// (count, head hash) of the ledger.
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_head(&self) -> StoreResult<(i64, String)> {
        let head: Option<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(p).await?
        });
        Ok(head.unwrap_or((0, GENESIS.to_owned())))
    }

    /// The whole ledger in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_entries(&self) -> StoreResult<Vec<Entry>> {
        let rows: Vec<EntryRow> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT seq, kind, subject_id, payload, prev_hash, hash, recorded_at FROM ledger ORDER BY seq",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(entry_of).collect())
    }
}

/// A ledger row as `SELECT seq, kind, subject_id, payload, prev_hash, hash, recorded_at` reads it.
pub(crate) type EntryRow = (i64, String, String, String, String, String, i64);

/// The entry of a ledger row.
pub(crate) fn entry_of((seq, kind, subject, payload, prev_hash, hash, recorded_at): EntryRow) -> Entry {
    Entry { seq, kind, subject, payload, prev_hash, hash, recorded_at }
}

impl Db {
    /// Recomputes the ledger's chain, then checks the evidence rows against it: every
    /// session must equal its last ledger entry, and every cancelled or no-show booking must
    /// have its entry. `Ok(Ok((count, head)))` when all holds; `Ok(Err(why))` names the
    /// first entry or row that was altered, inserted or removed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_ledger(&self) -> StoreResult<Result<(i64, String), String>> {
        let entries = self.ledger_entries().await?;
        let head = match crate::domain::ledger::verify(entries.iter().cloned()) {
            Ok(h) => h,
            Err(b) => return Ok(Err(b.to_string())),
        };
        // The Merkle log's stored tree is the tree of these entries.
        let mut tree = crate::domain::merkle::Frontier::new(0, Vec::new()).unwrap_or_else(|| unreachable!());
        for e in &entries {
            tree.push(e.leaf());
        }
        match self.tree_root(tree.size()).await? {
            Some(root) if root == tree.root() => {}
            Some(_) => {
                return Ok(Err(format!(
                    "the Merkle log's stored tree of {} entries does not match the ledger's entries: the tree or \
                     the entries were changed outside labinn",
                    tree.size()
                )));
            }
            None => return Ok(Err(format!("the Merkle log's tree is behind the ledger's {} entries", tree.size()))),
        }
        let sessions = self.all_metered_sessions().await?;
        if let Err(why) = cross_check(&sessions, &entries) {
            return Ok(Err(why));
        }
        let released: Vec<(String, BookingStatus)> = on_read!(self, |p| {
            sqlx::query_as("SELECT id, status FROM bookings WHERE status IN ('cancelled', 'no_show') ORDER BY id")
                .fetch_all(p)
                .await?
        });
        let noted: std::collections::HashSet<(&str, &str)> =
            entries.iter().map(|e| (e.subject.as_str(), e.kind.as_str())).collect();
        for (id, status) in &released {
            let kind = if *status == BookingStatus::Cancelled { EntryKind::Cancellation } else { EntryKind::NoShow };
            let kind = kind.as_str();
            if !noted.contains(&(id.as_str(), kind)) {
                return Ok(Err(format!("booking {id} is {status} but the ledger has no {kind} entry for it")));
            }
        }
        Ok(Ok(head))
    }
}

/// Compares every session row with the last ledger entry about it. Returns the first
/// difference: a session changed, or one with no entry at all.
pub fn cross_check(sessions: &[MeteredSession], entries: &[Entry]) -> Result<(), String> {
    let mut last: std::collections::HashMap<&str, &Entry> = std::collections::HashMap::new();
    for e in entries {
        let about_a_session = matches!(
            EntryKind::from_db(&e.kind),
            Some(EntryKind::CheckIn | EntryKind::CheckOut | EntryKind::Correction)
        );
        if about_a_session {
            last.insert(e.subject.as_str(), e);
        }
    }
    for s in sessions {
        let Some(e) = last.get(s.id.as_str()) else {
            return Err(format!("session {} has no ledger entry: it was inserted outside labinn", s.id));
        };
        let recorded: Value = serde_json::from_str(&e.payload).map_err(|err| format!("entry {}: {err}", e.seq))?;
        let facts = session_facts(s);
        let Value::Object(want) = &facts else { unreachable!("session facts are an object") };
        for (k, v) in want {
            if recorded.get(k) != Some(v) {
                return Err(format!(
                    "session {} differs from ledger entry {} in {k}: the row says {v}, the ledger {}",
                    s.id,
                    e.seq,
                    recorded.get(k).cloned().unwrap_or(Value::Null)
                ));
            }
        }
    }
    Ok(())
}
