//! Which unit gets a request that names a resource: best fit, so the calendar stays
//! unfragmented. Pure and deterministic.
//!
//! A unit can take the request when its span avoids the unit's closures and its blocked
//! interval (span plus buffers) overlaps none of the unit's blocks. Among those, the best
//! fit is the unit whose neighbouring gaps are tightest: the time between the previous
//! block's end and the request, plus the time between the request and the next block's
//! start (within the horizon looked at). Ties break by label, then id.

use super::ids::UnitId;
use super::interval::Interval;

/// One unit as the allocator sees it.
#[derive(Debug, Clone)]
pub struct UnitState {
    pub id: UnitId,
    pub label: String,
    /// Blocked intervals of its live bookings.
    pub blocks: Vec<Interval>,
    /// Its own closures (maintenance).
    pub closed: Vec<Interval>,
}

/// Whether `unit` can take a booking of `span` blocking `blocked`.
pub fn fits(unit: &UnitState, span: Interval, blocked: Interval) -> bool {
    !unit.blocks.iter().any(|b| b.overlaps(&blocked)) && !unit.closed.iter().any(|c| c.overlaps(&span))
}

/// The gap that placing `blocked` in `unit` would leave around it, within `horizon`.
fn leftover(unit: &UnitState, blocked: Interval, horizon: Interval) -> i64 {
    let prev =
        unit.blocks.iter().filter(|b| b.end() <= blocked.start()).map(|b| b.end()).max().unwrap_or(horizon.start());
    let next =
        unit.blocks.iter().filter(|b| b.start() >= blocked.end()).map(|b| b.start()).min().unwrap_or(horizon.end());
    (blocked.start() - prev.min(blocked.start())) + (next.max(blocked.end()) - blocked.end())
}

/// The units that can take the request, best fit first.
pub fn rank(units: &[UnitState], span: Interval, blocked: Interval, horizon: Interval) -> Vec<&UnitState> {
    let mut ok: Vec<(&UnitState, i64)> =
        units.iter().filter(|u| fits(u, span, blocked)).map(|u| (u, leftover(u, blocked, horizon))).collect();
    ok.sort_by(|(a, ga), (b, gb)| ga.cmp(gb).then_with(|| a.label.cmp(&b.label)).then_with(|| a.id.cmp(&b.id)));
    ok.into_iter().map(|(u, _)| u).collect()
}

/// For a series: the unit that can take the most occurrences, preferring `preferred`
/// where it ties; each occurrence then goes to that unit if it fits, else to its own best
/// fit. Returns the chosen unit per occurrence (`None`: nothing fits).
pub fn assign_series<'a>(
    units: &'a [UnitState],
    occurrences: &[(Interval, Interval)],
    horizon: Interval,
) -> Vec<Option<&'a UnitState>> {
    let score = |u: &UnitState| occurrences.iter().filter(|(s, b)| fits(u, *s, *b)).count();
    let anchor = units
        .iter()
        .max_by(|a, b| score(a).cmp(&score(b)).then_with(|| b.label.cmp(&a.label)).then_with(|| b.id.cmp(&a.id)));
    occurrences
        .iter()
        .map(|(s, b)| match anchor {
            Some(a) if fits(a, *s, *b) => Some(a),
            _ => rank(units, *s, *b, horizon).into_iter().next(),
        })
        .collect()
}

/// For a walk-up that starts at `start`: the unit that is free from then for the longest
/// time, and until when. A unit qualifies when neither its blocks nor its closures touch
/// `[start - before, start]` (the resource's set-up buffer holds for walk-ups too); it is free
/// until `cap` (the end of the opening window, or the longest booking allowed) or until the
/// cool-down buffer `after` before its next block or closure, whichever comes first, and must
/// be free for at least `min_len`. Ties go to the first unit given.
pub fn walk_up(
    units: &[UnitState],
    start: i64,
    cap: i64,
    before: i64,
    after: i64,
    min_len: i64,
) -> Option<(&UnitState, i64)> {
    let lead = Interval::new(start - before, start + 1).ok()?;
    let mut best: Option<(&UnitState, i64)> = None;
    for u in units {
        let busy = u.blocks.iter().chain(u.closed.iter());
        if busy.clone().any(|b| b.overlaps(&lead)) {
            continue;
        }
        let until = busy.filter(|b| b.start() > start).map(|b| b.start() - after).fold(cap, i64::min);
        if until - start >= min_len && best.is_none_or(|(_, t)| until > t) {
            best = Some((u, until));
        }
    }
    best
}

/// The nearest free alternatives to a refused request on the same resource: the same
/// length, moved by whole steps (the slot) forwards and backwards, inside `open` (opening
/// hours minus closures), not before `not_before`, each on its best-fit unit. The same
/// time on another unit comes first. At most `max`, nearest first; at most `max_steps`
/// steps each way are tried.
#[allow(clippy::too_many_arguments)]
pub fn alternatives<'a>(
    units: &'a [UnitState],
    open: &[Interval],
    requested: Interval,
    buffer_before: i64,
    buffer_after: i64,
    step: i64,
    not_before: i64,
    max: usize,
    max_steps: i64,
) -> Vec<(&'a UnitState, Interval)> {
    let horizon =
        Interval::new(requested.start() - max_steps * step, requested.end() + max_steps * step).unwrap_or(requested);
    let mut out = Vec::new();
    for k in 0..=max_steps {
        let shifts: &[i64] = if k == 0 { &[0] } else { &[1, -1] };
        for sign in shifts {
            let start = requested.start() + sign * k * step;
            let Ok(span) = Interval::new(start, start + requested.duration_ms()) else { continue };
            if start < not_before || !open.iter().any(|o| o.contains(&span)) {
                continue;
            }
            if let Some(u) = rank(units, span, span.widened(buffer_before, buffer_after), horizon).into_iter().next() {
                out.push((u, span));
                if out.len() >= max {
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(a, b).unwrap()
    }

    fn unit(label: &str, blocks: &[(i64, i64)]) -> UnitState {
        UnitState {
            id: UnitId::new(format!("id-{label}")),
            label: label.into(),
            blocks: blocks.iter().map(|&(a, b)| iv(a, b)).collect(),
            closed: vec![],
        }
    }

    #[test]
    fn the_tightest_gap_wins() {
        // A: booked 0-10 and 20-30 (a 10-long hole); B: empty; C: booked 0-10 (open after).
        let units = vec![unit("A", &[(0, 10), (20, 30)]), unit("B", &[]), unit("C", &[(0, 10)])];
        let got: Vec<&str> =
            rank(&units, iv(10, 20), iv(10, 20), iv(0, 100)).iter().map(|u| u.label.as_str()).collect();
        assert_eq!(got, ["A", "C", "B"]);
    }

    #[test]
    fn ties_break_by_label() {
        let units = vec![unit("S-2", &[]), unit("S-1", &[]), unit("S-3", &[])];
        let got: Vec<&str> =
            rank(&units, iv(10, 20), iv(10, 20), iv(0, 100)).iter().map(|u| u.label.as_str()).collect();
        assert_eq!(got, ["S-1", "S-2", "S-3"]);
    }

    #[test]
    fn buffers_and_closures_exclude_units() {
        let mut closed = unit("B", &[]);
        closed.closed = vec![iv(15, 16)];
        let units = vec![unit("A", &[(20, 30)]), closed, unit("C", &[])];
        // Span 10-20 with a 5-minute buffer after: blocked 10-25 hits A's booking.
        let got: Vec<&str> =
            rank(&units, iv(10, 20), iv(10, 25), iv(0, 100)).iter().map(|u| u.label.as_str()).collect();
        assert_eq!(got, ["C"]);
    }

    #[test]
    fn a_series_keeps_one_unit_where_it_can() {
        let units = vec![unit("A", &[(100, 110)]), unit("B", &[])];
        let occ = [(iv(0, 10), iv(0, 10)), (iv(100, 110), iv(100, 110)), (iv(200, 210), iv(200, 210))];
        let got: Vec<&str> =
            assign_series(&units, &occ, iv(0, 300)).iter().map(|u| u.unwrap().label.as_str()).collect();
        assert_eq!(got, ["B", "B", "B"]);
        let units = vec![unit("A", &[(100, 110)]), unit("B", &[(200, 210)])];
        let got: Vec<&str> =
            assign_series(&units, &occ, iv(0, 300)).iter().map(|u| u.unwrap().label.as_str()).collect();
        assert_eq!(got, ["A", "B", "A"], "the anchor is A (a tie broken by label); the 100 slot moves to B");
    }

    #[test]
    fn alternatives_are_the_nearest_free_times_on_the_best_unit() {
        // Both units booked 10-20; open 0-100; a 10-long request at 10.
        let units = vec![unit("A", &[(10, 20)]), unit("B", &[(10, 20), (20, 30)])];
        let got: Vec<(&str, i64)> = alternatives(&units, &[iv(0, 100)], iv(10, 20), 0, 0, 10, 0, 3, 20)
            .into_iter()
            .map(|(u, s)| (u.label.as_str(), s.start()))
            .collect();
        assert_eq!(got, [("A", 20), ("A", 0), ("B", 30)]);
    }

    proptest! {
        /// Best fit never picks a unit that is not free, and leaves out no unit that is.
        #[test]
        fn rank_returns_exactly_the_free_units(
            blocks in prop::collection::vec(prop::collection::vec((0i64..200, 1i64..30), 0..6), 1..8),
            start in 0i64..200,
            len in 1i64..40,
            buffer in 0i64..10,
        ) {
            let units: Vec<UnitState> = blocks
                .iter()
                .enumerate()
                .map(|(i, bs)| UnitState {
                    id: UnitId::new(format!("u{i}")),
                    label: format!("U{i:02}"),
                    blocks: bs.iter().map(|&(s, l)| iv(s, s + l)).collect(),
                    closed: vec![],
                })
                .collect();
            let span = iv(start, start + len);
            let blocked = span.widened(buffer, buffer);
            let ranked = rank(&units, span, blocked, iv(-100, 400));
            for u in &ranked {
                prop_assert!(u.blocks.iter().all(|b| !b.overlaps(&blocked)));
            }
            let free = units.iter().filter(|u| u.blocks.iter().all(|b| !b.overlaps(&blocked))).count();
            prop_assert_eq!(ranked.len(), free);
        }

        /// A walk-up's unit is free, buffers included, from its start until the time given,
        /// for at least the shortest time allowed and never past the cap; and no other unit
        /// is free for longer.
        #[test]
        fn a_walk_up_gets_the_unit_free_longest(
            blocks in prop::collection::vec(prop::collection::vec((0i64..300, 1i64..40), 0..5), 1..6),
            start in 0i64..200,
            cap_len in 1i64..200,
            before in 0i64..10,
            after in 0i64..10,
            min_len in 1i64..20,
        ) {
            let units: Vec<UnitState> = blocks
                .iter()
                .enumerate()
                .map(|(i, bs)| UnitState {
                    id: UnitId::new(format!("u{i}")),
                    label: format!("U{i}"),
                    blocks: bs.iter().map(|&(s, l)| iv(s, s + l)).collect(),
                    closed: vec![],
                })
                .collect();
            let cap = start + cap_len;
            // How long a unit is free from `start` with both buffers, by brute force.
            let free_until = |u: &UnitState| -> Option<i64> {
                let mut t = cap;
                while t - start >= min_len {
                    let blocked = iv(start - before, t + after);
                    if u.blocks.iter().all(|b| !b.overlaps(&blocked)) {
                        return Some(t);
                    }
                    t -= 1;
                }
                None
            };
            match walk_up(&units, start, cap, before, after, min_len) {
                Some((u, until)) => {
                    prop_assert!(until <= cap && until - start >= min_len);
                    prop_assert_eq!(Some(until), free_until(u));
                    for other in &units {
                        prop_assert!(free_until(other).is_none_or(|t| t <= until));
                    }
                }
                None => prop_assert!(units.iter().all(|u| free_until(u).is_none())),
            }
        }

        /// Allocating requests one after another, each to its best fit, never double-books.
        #[test]
        fn sequential_allocation_never_overlaps(requests in prop::collection::vec((0i64..500, 1i64..60), 1..60)) {
            let mut units: Vec<UnitState> = (0..4).map(|i| unit(&format!("U{i}"), &[])).collect();
            for (s, l) in requests {
                let span = iv(s, s + l);
                let chosen = rank(&units, span, span, iv(0, 600)).first().map(|u| u.id.clone());
                if let Some(id) = chosen {
                    let u = units.iter_mut().find(|u| u.id == id).unwrap();
                    prop_assert!(u.blocks.iter().all(|b| !b.overlaps(&span)));
                    u.blocks.push(span);
                }
            }
            for u in &units {
                for (i, a) in u.blocks.iter().enumerate() {
                    for b in &u.blocks[i + 1..] {
                        prop_assert!(!a.overlaps(b));
                    }
                }
            }
        }
    }
}
