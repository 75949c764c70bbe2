//! The ledger as a Merkle log: a reviewer keeps signed checkpoints, every entry is proved in
//! them, and a pack is checked offline against the district's copies, which catch each way an
//! operator could rewrite what was metered.

use crate::checkin::sqlx_exec;
use crate::evidence::hub;
use crate::helpers::TestApp;
use labinn::domain::checkpoint::{self, Checkpoint, Signer, Verifier};
use labinn::domain::ledger::entry_hash;
use labinn::domain::merkle::{self, Hash};
use labinn::service::log::{DistrictCopies, OfflineReport, verify_offline};
use serde_json::{Value, json};

const PACK: &str = "/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31";

async fn reviewer(app: &TestApp) -> String {
    let admin = app.admin().await;
    let (id, _) = app.maker("reviewer@example.org").await;
    let g = app.post(&format!("/api/v1/admin/accounts/{id}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    app.login("reviewer@example.org").await
}

/// The log's keys as anyone reads them.
async fn published_keys(app: &TestApp) -> Vec<Verifier> {
    let r = app.get("/.well-known/labinn-log-keys", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text.lines().map(|l| Verifier::parse(l).unwrap()).collect()
}

fn unhex(s: &str) -> Hash {
    let b: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).unwrap()).collect();
    b.try_into().unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| unhex(h.as_str().unwrap())).collect()
}

/// The district's copies, downloaded as the reviewer's export.
async fn copies(app: &TestApp, reviewer: &str) -> (Vec<u8>, DistrictCopies) {
    let bytes = app
        .client
        .get(app.url("/api/v1/district/checkpoints"))
        .bearer_auth(reviewer)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        files.push((f.name().unwrap().into_owned(), text));
    }
    (bytes, DistrictCopies::from_files(&files).unwrap())
}

async fn pack(app: &TestApp, op: &str) -> Value {
    let r = app.get(PACK, Some(op)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// The log grows by one entry: the operator adds a part to the hub's area plan.
async fn grow(app: &TestApp, op: &str) {
    let part = json!({"name": "Lab", "area_m2": 50.0, "use_class": "maker_work"});
    let r = app.post("/api/v1/spaces/hub/area-plan", Some(op), part).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn problems(r: &OfflineReport) -> String {
    r.problems.join("\n")
}

#[tokio::test]
async fn every_entry_is_proved_in_the_signed_checkpoint_and_every_earlier_tree_is_consistent() {
    let (app, op, _) = hub().await;
    assert_eq!(app.get("/api/v1/ledger/checkpoint", None).await.status, 401);
    let r = app.get("/api/v1/ledger/checkpoint", Some(&op)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys = published_keys(&app).await;
    let (c, opened) = checkpoint::open_checkpoint(r.body["note"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(opened.signed_by, [keys[0].label()]);
    assert_eq!(c.origin, "labinn.local/ledger");
    let entries = app.db.ledger_entries().await.unwrap();
    assert_eq!(c.size, entries.len() as u64);
    assert!(c.size >= 6, "the hub's area plan and residents are logged: {}", c.size);
    let leaves: Vec<Hash> = entries.iter().map(labinn::domain::ledger::Entry::leaf).collect();
    assert_eq!(c.root, merkle::root(&leaves), "the stored tree is the tree of the entries");
    for e in &entries {
        let p = app.get(&format!("/api/v1/ledger/proof/inclusion?entry={}&size={}", e.seq, c.size), Some(&op)).await;
        assert_eq!(p.status, 200, "{}", p.text);
        assert_eq!(unhex(p.body["leaf_hash"].as_str().unwrap()), e.leaf());
        let proof = hashes(&p.body["proof"]);
        assert_eq!(merkle::verify_inclusion(e.seq as u64 - 1, c.size, &e.leaf(), &proof, &c.root), Ok(()));
    }
    for m in 1..c.size {
        let p = app.get(&format!("/api/v1/ledger/proof/consistency?from={m}&to={}", c.size), Some(&op)).await;
        assert_eq!(p.status, 200, "{}", p.text);
        let old = merkle::root(&leaves[..m as usize]);
        assert_eq!(unhex(p.body["from_root"].as_str().unwrap()), old);
        assert_eq!(merkle::verify_consistency(m, c.size, &old, &c.root, &hashes(&p.body["proof"])), Ok(()));
    }
    // Questions the log cannot answer are refused with a reason.
    for (q, code) in [
        ("inclusion?entry=0", "out_of_range"),
        ("inclusion?entry=-9223372036854775808", "out_of_range"),
        ("inclusion?entry=1&size=1000000000", "beyond_log"),
        ("consistency?from=5&to=3", "out_of_range"),
        ("consistency?from=1&to=18446744073709551615", "beyond_log"),
    ] {
        let r = app.get(&format!("/api/v1/ledger/proof/{q}"), Some(&op)).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["fields"][0]["code"], code, "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn a_ledger_from_before_the_tree_gets_its_tree_and_a_damaged_tree_is_named() {
    let (app, op, _) = hub().await;
    let count = app.db.ledger_head().await.unwrap().0 as u64;
    let root = app.db.tree_root(count).await.unwrap().unwrap();
    // As a database migrated from before the tree: built at start, in order.
    sqlx_exec(&app, "DELETE FROM ledger_tree").await;
    assert_eq!(app.db.extend_tree().await.unwrap(), count);
    assert_eq!(app.db.tree_root(count).await.unwrap(), Some(root));
    // Entries that an older node appended without the tree are caught up by the next append
    // (of a node that has no copy of the edge: the older node's append moved the head).
    sqlx_exec(&app, "DELETE FROM ledger_tree").await;
    app.db.forget_tree_edge();
    grow(&app, &op).await;
    assert_eq!(app.db.tree_size().await.unwrap(), count + 1);
    let entries = app.db.ledger_entries().await.unwrap();
    let leaves: Vec<Hash> = entries.iter().map(labinn::domain::ledger::Entry::leaf).collect();
    assert_eq!(app.db.tree_root(count + 1).await.unwrap(), Some(merkle::root(&leaves)));
    assert!(labinn::service::checkin::verify_ledger(&app.db).await.unwrap().is_ok());
    // A leaf changed in the stored tree: verify-ledger names it.
    sqlx_exec(&app, "DELETE FROM ledger_tree WHERE level > 0").await;
    sqlx_exec(&app, "UPDATE ledger_tree SET hash = (SELECT hash FROM ledger_tree WHERE level = 0 AND idx = 1) WHERE level = 0 AND idx = 0").await;
    let mut f = merkle::Frontier::new(0, Vec::new()).unwrap();
    let mut nodes = Vec::new();
    for (i, l) in leaves.iter().enumerate() {
        nodes.extend(f.push(if i == 0 { leaves[1] } else { *l }));
    }
    for ((level, idx), h) in nodes.into_iter().filter(|((l, _), _)| *l > 0) {
        let hex = labinn::domain::hex(&h);
        let lit = if app.fresh.is_postgres() { format!("'\\x{hex}'") } else { format!("X'{hex}'") };
        sqlx_exec(&app, &format!("INSERT INTO ledger_tree (level, idx, hash) VALUES ({level}, {idx}, {lit})")).await;
    }
    let verdict = labinn::service::checkin::verify_ledger(&app.db).await.unwrap();
    assert!(verdict.unwrap_err().contains("stored tree of"), "the tree no longer matches the entries");
}

#[tokio::test]
async fn two_nodes_appending_in_turn_keep_one_tree() {
    let (app, op, _) = hub().await;
    // Each node keeps its own copy of the tree's edge; the other's appends move the head
    // under it, so each reads the edge again before it appends.
    let other = crate::helpers::spawn_with_clock(
        crate::helpers::FreshDb::existing(&app.fresh.url),
        |s| s,
        labinn::clock::Clock::fixed(app.clock.now_ms()),
    )
    .await;
    for _ in 0..3 {
        grow(&app, &op).await;
        grow(&other, &op).await;
        grow(&other, &op).await;
    }
    let entries = app.db.ledger_entries().await.unwrap();
    let leaves: Vec<Hash> = entries.iter().map(labinn::domain::ledger::Entry::leaf).collect();
    assert_eq!(app.db.tree_size().await.unwrap(), leaves.len() as u64);
    assert_eq!(other.db.tree_root(leaves.len() as u64).await.unwrap(), Some(merkle::root(&leaves)));
    assert!(labinn::service::checkin::verify_ledger(&app.db).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_pack_checked_offline_holds_and_every_rewrite_is_named() {
    let (app, op, _) = hub().await;
    let rev = reviewer(&app).await;
    let h = app.post("/api/v1/spaces/hub/recorded-heads", Some(&rev), json!({})).await;
    assert_eq!(h.status, 201, "{}", h.text);
    assert!(h.body["checkpoint"].as_str().unwrap().contains("\n\n— labinn.local/ledger "), "{}", h.text);
    let not_rev = app.post("/api/v1/spaces/hub/recorded-heads", Some(&op), json!({})).await;
    assert_eq!(not_rev.status, 403);
    // The log grows after the district's copy.
    grow(&app, &op).await;
    let (_, district) = copies(&app, &rev).await;
    assert_eq!((district.keys.len(), district.checkpoints.len()), (1, 1));

    let good = pack(&app, &op).await;
    let log = &good["log"];
    assert_eq!(log["checkpoint"]["size"], good["ledger_head"]["count"]);
    assert_eq!(log["consistency"].as_array().unwrap().len(), 1, "from the district's one checkpoint");
    let r = verify_offline(&good, &district);
    assert!(r.problems.is_empty(), "{}", problems(&r));
    let held = r.held.join("\n");
    assert!(held.contains("cited entries") && held.contains("are in the signed log"), "{held}");
    assert!(held.contains("the log only grew since the district's checkpoint"), "{held}");
    // The same head gives the same checkpoint (so the same pack).
    assert_eq!(pack(&app, &op).await["log"]["checkpoint"], log["checkpoint"]);

    // An entry edited in the pack.
    let mut p = good.clone();
    p["log"]["entries"][0]["payload"] = json!("{\"area_m2\":9000}");
    let seq = p["log"]["entries"][0]["seq"].clone();
    assert!(problems(&verify_offline(&p, &district)).contains(&format!("entry {seq} (")), "names the entry");
    // Edited with its hash recomputed, and the row citing the new hash: not in the signed tree.
    let mut p = good.clone();
    let e = &mut p["log"]["entries"][0];
    e["payload"] = json!("{\"area_m2\":9000}");
    let new_hash = entry_hash(
        e["prev_hash"].as_str().unwrap(),
        e["seq"].as_i64().unwrap(),
        e["kind"].as_str().unwrap(),
        e["subject"].as_str().unwrap(),
        e["recorded_at"].as_i64().unwrap(),
        e["payload"].as_str().unwrap(),
    );
    let old_hash = e["hash"].as_str().unwrap().to_owned();
    e["hash"] = json!(new_hash);
    let mut text = serde_json::to_string(&p).unwrap();
    text = text.replace(&format!("\"ledger_hash\":\"{old_hash}\""), &format!("\"ledger_hash\":\"{new_hash}\""));
    let p: Value = serde_json::from_str(&text).unwrap();
    assert!(
        problems(&verify_offline(&p, &district)).contains("do not lead to the signed root"),
        "{}",
        problems(&verify_offline(&p, &district))
    );
    // An entry removed from the pack.
    let mut p = good.clone();
    let removed = p["log"]["entries"].as_array_mut().unwrap().remove(0);
    assert!(
        problems(&verify_offline(&p, &district))
            .contains(&format!("cites entry {}, which the pack does not carry", removed["seq"]))
    );
    // Two entries swapped (their places in the log, hashes recomputed).
    let mut p = good.clone();
    let es = p["log"]["entries"].as_array_mut().unwrap();
    let (a, b) = (es[0]["seq"].clone(), es[1]["seq"].clone());
    es[0]["seq"] = b;
    es[1]["seq"] = a;
    for e in es.iter_mut() {
        let h = entry_hash(
            e["prev_hash"].as_str().unwrap(),
            e["seq"].as_i64().unwrap(),
            e["kind"].as_str().unwrap(),
            e["subject"].as_str().unwrap(),
            e["recorded_at"].as_i64().unwrap(),
            e["payload"].as_str().unwrap(),
        );
        e["hash"] = json!(h);
    }
    es.sort_by_key(|e| e["seq"].as_i64());
    assert!(!verify_offline(&p, &district).problems.is_empty());
    // A tree rewritten and signed afresh under another key.
    let mut p = good.clone();
    let forger = Signer::from_seed("labinn.local/ledger", [9; 32]).unwrap();
    let fake = Checkpoint { origin: "labinn.local/ledger".into(), size: 99, root: [1; 32], time_ms: 1 };
    p["log"]["checkpoint"]["note"] = json!(checkpoint::sign(&fake.body(), &[&forger]).unwrap());
    let said = problems(&verify_offline(&p, &district));
    assert!(
        said.contains(&format!("signed only by keys the district does not hold ({})", forger.verifier().label())),
        "{said}"
    );

    // The operator rewrites the log itself: an early entry edited, the chain and the tree
    // recomputed, the old checkpoints removed, a new pack signed with the log's own key.
    let mut entries = app.db.ledger_entries().await.unwrap();
    entries[0].payload = "{\"area_m2\":9000}".into();
    let mut prev = labinn::domain::ledger::GENESIS.to_owned();
    for e in &mut entries {
        e.prev_hash = prev.clone();
        e.hash = entry_hash(&e.prev_hash, e.seq, &e.kind, &e.subject, e.recorded_at, &e.payload);
        prev = e.hash.clone();
        sqlx_exec(
            &app,
            &format!(
                "UPDATE ledger SET payload = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                e.payload, e.prev_hash, e.hash, e.seq
            ),
        )
        .await;
    }
    sqlx_exec(&app, "DELETE FROM ledger_tree").await;
    sqlx_exec(&app, "DELETE FROM checkpoints").await;
    app.db.extend_tree().await.unwrap();
    let forked = pack(&app, &op).await;
    let said = problems(&verify_offline(&forked, &district));
    assert!(said.contains("does not extend the district's checkpoint"), "{said}");
}

#[tokio::test]
async fn a_rotated_key_signs_from_then_on_and_old_checkpoints_stay_verifiable() {
    let (app, op, _) = hub().await;
    let rev = reviewer(&app).await;
    assert_eq!(app.post("/api/v1/spaces/hub/recorded-heads", Some(&rev), json!({})).await.status, 201);
    let (_, before) = copies(&app, &rev).await;
    let old_keys = published_keys(&app).await;
    let svc = &app.state.svc;
    let (new_key, first) = labinn::service::log::rotate(svc, app.clock.now_ms() + 1).await.unwrap();
    // The rotation's checkpoint is signed by both keys; the old one stays published.
    let keys = published_keys(&app).await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].vkey(), new_key.vkey);
    assert_eq!(checkpoint::open(&first.note, &old_keys).unwrap().signed_by, [old_keys[0].label()]);
    assert_eq!(checkpoint::open(&first.note, &keys).unwrap().signed_by.len(), 2);
    // A pack signed by the new key only: copies from before the rotation say so.
    grow(&app, &op).await;
    let p = pack(&app, &op).await;
    assert!(problems(&verify_offline(&p, &before)).contains("rotated its key"));
    // The reviewer records a head again and exports: both keys, and both checkpoints verify.
    assert_eq!(app.post("/api/v1/spaces/hub/recorded-heads", Some(&rev), json!({})).await.status, 201);
    let (_, after) = copies(&app, &rev).await;
    assert_eq!((after.keys.len(), after.checkpoints.len()), (2, 2));
    let r = verify_offline(&pack(&app, &op).await, &after);
    assert!(r.problems.is_empty(), "{}", problems(&r));
}

#[tokio::test]
async fn the_cli_checks_a_pack_with_no_database_and_the_job_signs_when_the_log_grew() {
    let (app, op, _) = hub().await;
    let rev = reviewer(&app).await;
    assert_eq!(app.post("/api/v1/spaces/hub/recorded-heads", Some(&rev), json!({})).await.status, 201);
    let dir = tempfile::tempdir().unwrap();
    let (export, _) = copies(&app, &rev).await;
    let copies_zip = dir.path().join("district.zip");
    std::fs::write(&copies_zip, export).unwrap();
    let zip = app
        .client
        .get(app.url(&format!("{PACK}&format=zip")))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let file = dir.path().join("pack.zip");
    std::fs::write(&file, &zip).unwrap();
    let run = |pack: &std::path::Path| {
        let out = crate::cli::labinn()
            .args(["verify-pack", pack.to_str().unwrap(), "--checkpoints", copies_zip.to_str().unwrap()])
            .env("LABINN_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, said) = run(&file);
    assert!(ok, "{said}");
    assert!(
        said.contains("pack holds offline") && said.contains("every file of the ZIP is the one its manifest lists"),
        "{said}"
    );
    // A forged pack.json beside it.
    let (mut pack_json, _) = labinn::service::log::open_pack_file(&zip).unwrap();
    pack_json["log"]["entries"][0]["payload"] = json!("{}");
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, serde_json::to_vec(&pack_json).unwrap()).unwrap();
    let (ok, said) = run(&forged);
    assert!(!ok && said.contains("was edited"), "{said}");

    // The job: a checkpoint when the log grew and the last is an hour old, not before.
    let svc = &app.state.svc;
    let client = reqwest::Client::new();
    let now = app.clock.now_ms();
    grow(&app, &op).await;
    assert_eq!(labinn::jobs::run_once(svc, &client, now + 60_000).await.checkpoints, 0, "the last is a minute old");
    assert_eq!(labinn::jobs::run_once(svc, &client, now + 3_600_000).await.checkpoints, 1);
    assert_eq!(labinn::jobs::run_once(svc, &client, now + 7_300_000).await.checkpoints, 0, "the log did not grow");
    let latest = app.get("/api/v1/ledger/checkpoint", Some(&op)).await;
    assert_eq!(latest.body["size"].as_u64(), Some(app.db.ledger_head().await.unwrap().0 as u64));
}
