//! The Merkle log over the ledger. `cargo bench --bench merkle` (release):
//!
//! - **proofs**: a stored tree of `LABINN_BENCH_LEAVES` leaves (default 10,000,000), written
//!   straight into `ledger_tree` (the nodes an append would write, from synthetic leaves), on
//!   SQLite and then PostgreSQL (`LABINN_BENCH_SQLITE_ONLY=1` skips it). Then p50/p99 of 2,000
//!   inclusion proofs with their root (random entry, full size) and 2,000 consistency proofs
//!   with both roots (random old size), each one statement through the store as the API reads
//!   it and each checked; beside them the ceiling, one indexed read of one node; and the batch
//!   proof of 50,000 entries spread over the log (what a large pack reads).
//! - **offline**: a pack citing 100,000 entries of a 1,000,000-entry log (in memory), with a
//!   signed checkpoint and a district checkpoint at 500,000: the time of
//!   `labinn::service::log::verify_offline` (parse included) and the pack's size.

mod common;

use common::pct;
use labinn::config::{Config, Settings};
use labinn::domain::checkpoint::{self, Checkpoint, Signer};
use labinn::domain::ledger::{GENESIS, entry_hash, leaf_data};
use labinn::domain::merkle::{self, Frontier, Hash, NodeKey};
use labinn::store::Db;
use std::collections::HashMap;
use std::time::Instant;

fn leaf(i: u64) -> Hash {
    merkle::leaf_hash(&i.to_le_bytes())
}

async fn fill(url: &str, leaves: u64) -> Db {
    let config = Config::from_settings(Settings { database_url: Some(url.to_owned()), ..Settings::default() }).unwrap();
    let db = Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    let started = Instant::now();
    let mut f = Frontier::new(0, Vec::new()).unwrap();
    let mut batch: Vec<(NodeKey, Hash)> = Vec::with_capacity(200_000);
    let mut i = 0;
    while i < leaves {
        batch.clear();
        while i < leaves && batch.len() < 190_000 {
            batch.extend(f.push(leaf(i)));
            i += 1;
        }
        db.bench_write_tree(&batch).await.unwrap();
    }
    println!("  wrote {leaves} leaves' nodes in {:.1} s", started.elapsed().as_secs_f64());
    db
}

async fn proofs(label: &'static str, url: String) {
    let leaves: u64 = std::env::var("LABINN_BENCH_LEAVES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    println!("\n[{label}] proofs in a stored tree of {leaves} leaves");
    let db = fill(&url, leaves).await;
    let root = db.tree_root(leaves).await.unwrap().unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut inc, mut con, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2_000 {
        // The ceiling: one indexed read of a single node, the least a proof can cost.
        let t = Instant::now();
        db.tree_nodes(&[(0, next(leaves))]).await.unwrap();
        ceiling.push(t.elapsed().as_secs_f64() * 1e3);
        let i = next(leaves);
        let t = Instant::now();
        let (p, r) = db.inclusion_proof(i, leaves).await.unwrap().unwrap();
        inc.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r, root);
        assert_eq!(merkle::verify_inclusion(i, leaves, &leaf(i), &p, &root), Ok(()));
        let m = 1 + next(leaves - 1);
        let t = Instant::now();
        let (p, old, new) = db.consistency_proof(m, leaves).await.unwrap().unwrap();
        con.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(new, root);
        assert_eq!(merkle::verify_consistency(m, leaves, &old, &root, &p), Ok(()));
    }
    // A pack's batch proof: 50,000 entries spread over the log.
    let step = usize::try_from((leaves / 50_000).max(1)).unwrap();
    let indices: Vec<u64> = (0..leaves).step_by(step).take(50_000).collect();
    let t = Instant::now();
    let batch = db.batch_proof(&indices, leaves).await.unwrap().unwrap();
    println!(
        "  batch proof of {} entries: {} hashes in {:.2} s",
        indices.len(),
        batch.len(),
        t.elapsed().as_secs_f64()
    );
    let mine: Vec<Hash> = indices.iter().map(|&i| leaf(i)).collect();
    assert_eq!(merkle::verify_batch(&indices, &mine, leaves, &batch), Ok(root));
    for (name, v) in
        [("one node (ceiling)", &mut ceiling), ("inclusion + root", &mut inc), ("consistency + both roots", &mut con)]
    {
        v.sort_by(f64::total_cmp);
        println!("  {name:<26} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms", pct(v, 0.5), pct(v, 0.99), v[v.len() - 1]);
    }
    db.close().await;
}

fn offline() {
    const LOG: u64 = 1_000_000;
    const CITED: u64 = 100_000;
    const DISTRICT: u64 = 500_000;
    println!("\n[offline] a pack citing {CITED} entries of a log of {LOG}");
    // The log: chained entries, their leaves, and every stored node.
    let mut prev = GENESIS.to_owned();
    let mut f = Frontier::new(0, Vec::new()).unwrap();
    let mut nodes: HashMap<NodeKey, Hash> = HashMap::new();
    let mut cited = Vec::new();
    let mut district = None;
    for seq in 1..=LOG as i64 {
        let payload = format!("{{\"session\":\"s{seq}\",\"started_at\":{seq}}}");
        let hash = entry_hash(&prev, seq, "check_in", &format!("s{seq}"), seq, &payload);
        let data = leaf_data(seq, "check_in", &format!("s{seq}"), seq, &payload, &prev, &hash);
        nodes.extend(f.push(merkle::leaf_hash(data.as_bytes())));
        if (seq as u64).is_multiple_of(LOG / CITED) {
            cited.push(serde_json::json!({"seq": seq, "kind": "check_in", "subject": format!("s{seq}"),
                "recorded_at": seq, "payload": payload, "prev_hash": prev, "hash": hash}));
        }
        if seq as u64 == DISTRICT {
            district = Some(f.root());
        }
        prev = hash;
    }
    let root = f.root();
    let signer = Signer::from_seed("bench/log", [5; 32]).unwrap();
    let sign = |size, root| {
        checkpoint::sign(&Checkpoint { origin: "bench/log".into(), size, root, time_ms: 1 }.body(), &[&signer]).unwrap()
    };
    let indices: Vec<u64> = cited.iter().map(|e| e["seq"].as_u64().unwrap() - 1).collect();
    let mut get = |k: NodeKey| nodes[&k];
    let batch = merkle::batch_proof_from(&indices, LOG, &mut get);
    let consistency = merkle::consistency_proof_from(DISTRICT, LOG, &mut get);
    let hex = |hs: &[Hash]| hs.iter().map(|h| labinn::domain::hex(h)).collect::<Vec<_>>();
    let rows: Vec<serde_json::Value> = cited
        .iter()
        .map(|e| serde_json::json!({"table": "sessions", "id": e["subject"], "ledger_seq": e["seq"], "ledger_hash": e["hash"]}))
        .collect();
    let pack = serde_json::json!({
        "ledger_head": {"count": LOG},
        "criteria": [{"id": "occupancy", "rows": rows}],
        "log": {
            "checkpoint": {"size": LOG, "root": labinn::domain::hex(&root), "signed_at": 1, "key_id": signer.verifier().label(), "note": sign(LOG, root)},
            "keys": [signer.verifier().vkey()],
            "entries": cited,
            "inclusion": hex(&batch),
            "consistency": [{"from": DISTRICT, "to": LOG, "from_root": labinn::domain::hex(&district.unwrap()),
                "to_root": labinn::domain::hex(&root), "proof": hex(&consistency)}],
        }
    });
    let bytes = serde_json::to_vec(&pack).unwrap();
    let separate: usize = indices.iter().map(|&i| merkle::inclusion_proof_from(i, LOG, &mut get).len()).sum();
    println!(
        "  pack.json {:.1} MB; batch proof {} hashes (separate proofs would be {separate})",
        bytes.len() as f64 / 1e6,
        batch.len()
    );
    let copies = labinn::service::log::DistrictCopies::from_files(&[
        ("keys.txt".into(), signer.verifier().vkey()),
        ("d.checkpoint".into(), sign(DISTRICT, district.unwrap())),
    ])
    .unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let r = labinn::service::log::verify_offline(&json, &copies);
        times.push(t.elapsed().as_secs_f64());
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
    times.sort_by(f64::total_cmp);
    println!("  verify_offline (parse included), 5 runs: median {:.2} s, max {:.2} s", times[2], times[4]);
}

#[tokio::main]
async fn main() {
    println!("cpu probe: {:.1} ms", common::cpu_probe_ms());
    offline();
    common::on_both_backends("merkle", proofs).await;
}
