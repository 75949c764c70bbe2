//! PostgreSQL's grouped reads (the maker's facts, logins): many requests asked in one statement each get their own answer, the same as alone.

use crate::bookings::*;

/// Many makers' reads at one moment share one statement on PostgreSQL; the answers must be
/// each maker's own, and equal to what a read in a statement of its own gives (the path a
/// group takes when its statement fails). On SQLite both are the same inline read.
#[tokio::test]
async fn reads_asked_together_give_each_maker_their_own_facts_and_session() {
    use labinn::domain::interval::Interval;
    use labinn::store::bookings::ResourceRef;
    let lab = lab().await;
    laser_safety(&lab).await;
    let q = kind_quotas(&lab, json!({"broadband_seat": {"hours_per_week": 30}})).await;
    assert_eq!(q.status, 200, "{}", q.text);
    // Maker k holds k one-hour seat bookings, and makers 2, 4 and 6 hold the training.
    let mut makers = Vec::new();
    for k in 0..8u32 {
        let email = format!("together{k}@example.org");
        let (id, token) = lab.app.maker(&email).await;
        for h in 0..k {
            let r = lab
                .app
                .post(
                    "/api/v1/bookings",
                    Some(&token),
                    json!({"resource": lab.seats, "start": at(9 + h, 0), "end": at(10 + h, 0)}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        if k % 2 == 0 && k > 0 {
            let g = lab.app.post("/api/v1/trainings/laser-safety/grants", Some(&lab.op), json!({"email": email})).await;
            assert_eq!(g.status, 201, "{}", g.text);
        }
        makers.push((id, token));
    }
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&makers[3].1),
            json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let space = lab.app.db.space(&lab.slug).await.unwrap().id;
    let week = Interval::new(NOW - 86_400_000, NOW + 6 * 86_400_000).unwrap();
    let day = Interval::new(NOW, NOW + 86_400_000).unwrap();

    for switches in 0..4u8 {
        for blocks in [false, true] {
            let mut asked = Vec::new();
            for (id, _) in &makers {
                let (db, id, space, seats, unit) = (
                    lab.app.db.clone(),
                    labinn::domain::ids::AccountId::new(id),
                    space.clone(),
                    labinn::domain::ids::ResourceId::new(&lab.seats),
                    labinn::domain::ids::UnitId::new(&lab.laser_unit),
                );
                asked.push(tokio::spawn(async move {
                    let r = ResourceRef {
                        id: &seats,
                        space_id: &space,
                        kind: "broadband_seat",
                        kind_quota: switches & 2 != 0,
                        quota: switches & 1 != 0,
                        blocks_of: blocks.then_some((&unit, day)),
                    };
                    let together = db.maker_facts(&id, &r, week, NOW).await.unwrap();
                    let alone = db.maker_facts_alone(&id, &r, week, NOW).await.unwrap();
                    (together, alone)
                }));
            }
            for (k, task) in asked.into_iter().enumerate() {
                let (together, alone) = task.await.unwrap();
                let ctx = format!("maker {k}, switches {switches}, blocks {blocks}");
                assert_eq!(together, alone, "{ctx}");
                let k = k as i64;
                assert_eq!(together.trainings.len(), usize::from(k % 2 == 0 && k > 0), "{ctx}");
                if switches & 1 != 0 {
                    assert_eq!((together.week_minutes, together.active_bookings), (60 * k, k), "{ctx}");
                }
                if switches & 2 != 0 {
                    assert_eq!((together.kind_week_minutes, together.kind_active_bookings), (60 * k, k), "{ctx}");
                }
                // The laser's one booking (10:00-11:00 and its 15-minute buffer), whoever asks.
                assert_eq!(together.unit_blocks.len(), usize::from(blocks), "{ctx}");
            }
        }
    }

    let mut asked = Vec::new();
    for (_, token) in makers.iter().map(|(i, t)| (i, t.clone())).chain([(&String::new(), "no-such-token".to_owned())]) {
        let db = lab.app.db.clone();
        asked.push(tokio::spawn(async move {
            let hash = labinn::auth::token_hash(&token);
            (db.login_for_token(&hash, NOW).await.unwrap(), db.login_for_token_alone(&hash, NOW).await.unwrap())
        }));
    }
    for (k, task) in asked.into_iter().enumerate() {
        let (together, alone) = task.await.unwrap();
        assert_eq!(together, alone, "session {k}");
        match makers.get(k) {
            Some((id, _)) => {
                assert_eq!(together.map(|s| s.0.id.into_string()).as_deref(), Some(id.as_str()), "session {k}")
            }
            None => assert!(together.is_none(), "an unknown token has no session"),
        }
    }
}
