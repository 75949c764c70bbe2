//! The node's catalog cache: valid by the database's stamp, whichever node changes the catalog.

use crate::bookings::*;

#[tokio::test]
async fn a_node_that_cached_a_resource_sees_another_nodes_catalog_change_once_told() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    // Node A books (and caches the laser cutter's catalog rows).
    lab.book(&maker, &lab.laser, (9, 0), (10, 0)).await;
    // Node B, on the same database, closes the space for the afternoon.
    let b = crate::helpers::spawn_with_clock(
        crate::helpers::FreshDb::existing(&lab.app.fresh.url),
        |s| s,
        labinn::clock::Clock::fixed(NOW),
    )
    .await;
    let seen = crate::helpers::cache_generation(&lab.app.db);
    let c = b
        .post(
            &format!("/api/v1/spaces/{}/closures", lab.slug),
            Some(&lab.op),
            json!({"reason": "停电 power cut", "start": at(13, 0), "end": at(18, 0)}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    // Node A's next booking in the afternoon is refused once the database's notification of
    // the change has reached it (PostgreSQL; SQLite has one node): its session carried the
    // catalog's stamp, and the cached resource is stale by it.
    crate::helpers::notified_since(&lab.app.db, seen).await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(14, 0), "end": at(15, 0)}))
        .await;
    assert_eq!((r.status, r.code()), (422, "policy_violation"), "{}", r.text);
    assert!(r.text.contains("in_closure"), "{}", r.text);
    // And a policy change on node B (shorter bookings) holds on node A too.
    let seen = crate::helpers::cache_generation(&lab.app.db);
    let p = b
        .patch_json(&format!("/api/v1/resources/{}", lab.laser), &lab.op, json!({"policy": {"max_minutes": 30}}))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    crate::helpers::notified_since(&lab.app.db, seen).await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert!(r.status == 422 && r.text.contains("too_long"), "{}", r.text);
}

/// Every table the catalog cache reads bumps the catalog's stamp on insert, update and
/// delete: a table added to the cache without its trigger (or a trigger dropped, or a column
/// added that the update trigger does not name) would let a node keep deciding bookings on
/// rows that changed. The schema is read for all three triggers and their columns, and an
/// update written straight into each table is seen to move the stamp.
#[tokio::test]
async fn every_table_the_catalog_cache_reads_bumps_the_catalog_stamp_on_every_change() {
    // Columns no change of which needs a new entry: ids and creation times never change, and
    // resources.max_blocked_ms is read fresh by every decision (never cached).
    let unwatched = ["id", "created_at", "max_blocked_ms"];
    let lab = lab().await;
    // One row in each table (the lab has spaces, resources, units and an opening rule).
    let c = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/closures", lab.slug),
            Some(&lab.op),
            json!({"reason": "维修 repairs", "start": at(13, 0), "end": at(14, 0)}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let db = &lab.app.db;
    for &table in labinn::store::CATALOG_TABLES {
        let (events, columns) = bumping_triggers(db, table).await;
        for event in ["INSERT", "UPDATE", "DELETE"] {
            assert!(events.iter().any(|e| e == event), "{table} has no trigger bumping catalog_version on {event}");
        }
        // An update trigger that names its columns must name every column but the unwatched.
        if let Some(watched) = columns {
            let missed: Vec<String> = table_columns(db, table)
                .await
                .into_iter()
                .filter(|c| !watched.contains(c) && !unwatched.contains(&c.as_str()))
                .collect();
            assert!(missed.is_empty(), "updates of {table}.{missed:?} leave the catalog's stamp");
        }

        let column = match table {
            "units" => "label",
            "opening_rules" => "rrule",
            "closures" => "reason",
            _ => "name_en",
        };
        let before = db.catalog_version().await.unwrap();
        let touch = format!("UPDATE {table} SET {column} = {column}");
        let touched = match db {
            labinn::store::Db::Postgres { pool, .. } => {
                sqlx::query(sqlx::AssertSqlSafe(touch)).execute(pool).await.unwrap().rows_affected()
            }
            labinn::store::Db::Sqlite { write, .. } => {
                sqlx::query(sqlx::AssertSqlSafe(touch)).execute(write).await.unwrap().rows_affected()
            }
        };
        assert!(touched > 0, "{table} has a row to touch");
        assert!(db.catalog_version().await.unwrap() > before, "an update of {table} left the catalog's stamp");
    }
}

/// The events (INSERT, UPDATE, DELETE) on which `table` bumps `catalog_version`, and the
/// columns its update trigger is limited to (`None`: any update).
async fn bumping_triggers(db: &labinn::store::Db, table: &str) -> (Vec<String>, Option<Vec<String>>) {
    match db {
        labinn::store::Db::Postgres { pool, .. } => {
            let events: Vec<String> = sqlx::query_scalar(
                "SELECT event_manipulation::text FROM information_schema.triggers \
                 WHERE event_object_table = $1 AND action_statement = 'EXECUTE FUNCTION bump_catalog_version()'",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
            let columns: Vec<String> = sqlx::query_scalar(
                "SELECT c.event_object_column::text FROM information_schema.triggered_update_columns c \
                 JOIN information_schema.triggers t ON t.trigger_name = c.trigger_name \
                 WHERE c.event_object_table = $1 AND t.action_statement = 'EXECUTE FUNCTION bump_catalog_version()'",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
            (events, (!columns.is_empty()).then_some(columns))
        }
        labinn::store::Db::Sqlite { read, .. } => {
            let bodies: Vec<String> =
                sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?")
                    .bind(table)
                    .fetch_all(read)
                    .await
                    .unwrap();
            let mut events = Vec::new();
            let mut columns = None;
            for sql in bodies.iter().filter(|sql| sql.contains("UPDATE catalog_version SET version = version + 1")) {
                let head = &sql[..sql.find(&format!(" ON {table}")).expect("a trigger names its table")];
                let Some(event) =
                    ["INSERT", "UPDATE", "DELETE"].into_iter().find(|e| head.contains(&format!("AFTER {e}")))
                else {
                    continue;
                };
                events.push(event.to_owned());
                if let Some((_, of)) = head.split_once("AFTER UPDATE OF ") {
                    columns = Some(of.split(',').map(|c| c.trim().to_owned()).collect());
                }
            }
            (events, columns)
        }
    }
}

async fn table_columns(db: &labinn::store::Db, table: &str) -> Vec<String> {
    match db {
        labinn::store::Db::Postgres { pool, .. } => {
            sqlx::query_scalar("SELECT column_name::text FROM information_schema.columns WHERE table_name = $1")
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap()
        }
        labinn::store::Db::Sqlite { read, .. } => {
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?)").bind(table).fetch_all(read).await.unwrap()
        }
    }
}
