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
