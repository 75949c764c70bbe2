//! The roll-up as it was computed before day parts (bucket by bucket, straight from the
//! facts), kept as the reference that the property tests hold [`super::utilization`] to:
//! the same facts must give the same report, digit for digit.

#![allow(clippy::too_many_lines)]

use super::*;

/// Rolls `facts` up over `period`, cut into `size` buckets, per `by`. Sessions and bookings
/// whose unit is not in `facts.units` are ignored.
pub fn utilization(facts: &Facts, period: &Period, size: BucketSize, by: GroupBy) -> Report {
    let units: HashMap<&UnitId, &UnitFacts> = facts.units.iter().map(|u| (&u.unit, u)).collect();
    // Each unit, booking and session goes to its group once (its key looked up once).
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut groups: Vec<(&str, Selection<'_>)> = Vec::new();
    if by.has_open_time() {
        for u in &facts.units {
            let g = group_index(&mut index, &mut groups, key_of(by, u, None, None));
            groups[g].1.units.push(u);
        }
    }
    for b in &facts.bookings {
        if let Some(u) = units.get(&b.unit) {
            let g = group_index(&mut index, &mut groups, key_of(by, u, Some(&b.account), b.organisation.as_deref()));
            groups[g].1.bookings.push(b);
        }
    }
    for s in &facts.sessions {
        if let Some(u) = units.get(&s.unit) {
            let g = group_index(&mut index, &mut groups, key_of(by, u, Some(&s.account), s.organisation.as_deref()));
            groups[g].1.sessions.push(s);
        }
    }
    if !by.has_open_time() {
        // Groupings without open time (organisations, makers) see every unit.
        for (_, sel) in &mut groups {
            sel.units = facts.units.iter().collect();
        }
    }
    groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let bucket_list = buckets(period, size);
    let groups = groups
        .into_iter()
        .map(|(k, sel)| group_report(k.to_owned(), &sel, facts, period, &bucket_list, by.has_open_time()))
        .collect();
    let all = Selection {
        units: facts.units.iter().collect(),
        bookings: facts.bookings.iter().filter(|b| units.contains_key(&b.unit)).collect(),
        sessions: facts.sessions.iter().filter(|s| units.contains_key(&s.unit)).collect(),
    };
    Report { groups, whole: group_report("space".into(), &all, facts, period, &bucket_list, true) }
}

fn group_report(
    key: String,
    sel: &Selection<'_>,
    facts: &Facts,
    period: &Period,
    bucket_list: &[Bucket],
    with_open: bool,
) -> GroupReport {
    let total_bucket = whole(period);
    let mut all = bucket_list.to_vec();
    all.push(total_bucket);
    let mut figures = figures_per_bucket(sel, facts, period, &all, with_open);
    let total = figures.pop().expect("the whole period is the last bucket");
    let buckets = bucket_list.iter().cloned().zip(figures).collect();
    GroupReport { key, buckets, total, heatmap: heatmap(&sel.sessions, period) }
}

/// The indices of the buckets that overlap `iv`. All buckets but the last are in order and
/// disjoint (binary search); the last is the whole period.
fn overlapping(buckets: &[Bucket], iv: Interval) -> impl Iterator<Item = usize> + '_ {
    let sorted = &buckets[..buckets.len() - 1];
    let first = sorted.partition_point(|b| b.interval.end() <= iv.start());
    let ordered = (first..sorted.len()).take_while(move |i| sorted[*i].interval.start() < iv.end());
    let last = buckets.len() - 1;
    ordered.chain(buckets[last].interval.overlaps(&iv).then_some(last))
}

/// Milliseconds of `iv` that fall in each bucket, added to `acc`.
fn split_into(acc: &mut [i64], buckets: &[Bucket], iv: Interval) {
    for i in overlapping(buckets, iv) {
        if let Some(x) = buckets[i].interval.intersection(&iv) {
            acc[i] += x.duration_ms();
        }
    }
}

/// The index of each bucket containing instant `t`.
fn containing(buckets: &[Bucket], t: Millis) -> impl Iterator<Item = usize> + '_ {
    overlapping(buckets, Interval::new(t, t + 1).expect("one millisecond"))
}

fn intersect_total(a: &[Interval], b: &[Interval], buckets: &[Bucket], acc: &mut [i64]) {
    // Both normalized: a merge walk.
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if let Some(x) = a[i].intersection(&b[j]) {
            split_into(acc, buckets, x);
        }
        if a[i].end() < b[j].end() {
            i += 1;
        } else {
            j += 1;
        }
    }
}

fn figures_per_bucket(
    sel: &Selection<'_>,
    facts: &Facts,
    period: &Period,
    buckets: &[Bucket],
    with_open: bool,
) -> Vec<Figures> {
    let n = buckets.len();
    let zeros = || vec![0i64; n];
    let counts = || vec![0u64; n];
    let (mut open, mut booked, mut used, mut used_open, mut booked_open, mut shown, mut over) =
        (zeros(), zeros(), zeros(), zeros(), zeros(), zeros(), zeros());
    let (mut bookings, mut checked_in, mut no_shows, mut cancels, mut late) =
        (counts(), counts(), counts(), counts(), counts());
    let mut leads: Vec<Vec<i64>> = vec![Vec::new(); n];
    let (mut sessions, mut walk_ups) = (counts(), counts());
    let mut makers: Vec<HashSet<&AccountId>> = vec![HashSet::default(); n];
    let mut orgs: Vec<HashSet<&str>> = vec![HashSet::default(); n];
    let (mut seat_open, mut seat_used, mut nights_avail, mut nights_occ, mut nights_verified) =
        (counts(), counts(), counts(), counts(), counts());
    let mut stays = counts();
    let mut stay_nights = zeros();
    let mut value = zeros();

    // Booked time, counts by start, cancellations.
    for b in &sel.bookings {
        if !b.span.overlaps(&period.interval) {
            continue;
        }
        if b.booked_ahead() {
            split_into(&mut booked, buckets, b.span);
            for i in containing(buckets, b.span.start()) {
                bookings[i] += 1;
                if b.has_session {
                    checked_in[i] += 1;
                }
                if b.status == BookingStatus::NoShow {
                    no_shows[i] += 1;
                }
                if b.kind == BookingKind::Stay {
                    stays[i] += 1;
                    let zone = period.zone;
                    let nights = (utc_to_local(zone, b.span.end()).date_naive()
                        - utc_to_local(zone, b.span.start()).date_naive())
                    .num_days();
                    stay_nights[i] += nights;
                }
            }
        } else if b.status == BookingStatus::Cancelled {
            let lead = b.span.start() - b.cancelled_at.unwrap_or(b.span.start());
            for i in containing(buckets, b.span.start()) {
                cancels[i] += 1;
                if lead < LATE_CANCELLATION_MS {
                    late[i] += 1;
                }
                leads[i].push(lead);
            }
        }
    }

    // Session time, overstay, show time, distinct makers, counts by start.
    for s in &sel.sessions {
        let Some(span) = s.span.intersection(&period.interval) else { continue };
        split_into(&mut used, buckets, span);
        if let Some(booked) = s.booked {
            if let Some(x) = span.intersection(&booked) {
                split_into(&mut shown, buckets, x);
            }
            if let Ok(after) = Interval::new(booked.end().max(span.start()), span.end()) {
                split_into(&mut over, buckets, after);
            }
        }
        for i in overlapping(buckets, span) {
            makers[i].insert(&s.account);
            if let Some(o) = s.organisation.as_deref() {
                orgs[i].insert(o);
            }
        }
        for i in containing(buckets, s.span.start()) {
            sessions[i] += 1;
            if s.walk_up {
                walk_ups[i] += 1;
            }
        }
    }

    // Per unit: open time, and the open time covered by sessions and by held bookings. The
    // sessions and bookings are sorted to their units once.
    if with_open {
        let days = period.days();
        // The index of the first local day that ends after `t`.
        let day_after = |t: Millis| days.partition_point(|(_, d)| d.end() <= t);
        let mut sessions_of: HashMap<&UnitId, Vec<&SessionFacts>> = HashMap::default();
        for s in &sel.sessions {
            sessions_of.entry(&s.unit).or_default().push(s);
        }
        let mut held_of: HashMap<&UnitId, Vec<Interval>> = HashMap::default();
        for b in sel.bookings.iter().filter(|b| b.booked_ahead()) {
            if let Some(x) = b.span.intersection(&period.interval) {
                held_of.entry(&b.unit).or_default().push(x);
            }
        }
        for u in &sel.units {
            for iv in &u.open {
                split_into(&mut open, buckets, *iv);
            }
            let on_unit: &[&SessionFacts] = sessions_of.get(&u.unit).map_or(&[], Vec::as_slice);
            let sess = normalize(on_unit.iter().filter_map(|s| s.span.intersection(&period.interval)).collect());
            intersect_total(&u.open, &sess, buckets, &mut used_open);
            let held_spans = normalize(held_of.remove(&u.unit).unwrap_or_default());
            intersect_total(&u.open, &held_spans, buckets, &mut booked_open);
            match u.kind {
                ResourceKind::BroadbandSeat => {
                    // Each day's use of the seat: every session split over the days it covers.
                    let mut use_ms = vec![0i64; days.len()];
                    for s in on_unit {
                        let mut k = day_after(s.span.start());
                        while k < days.len() && days[k].1.start() < s.span.end() {
                            if let Some(x) = s.span.intersection(&days[k].1) {
                                use_ms[k] += x.duration_ms();
                            }
                            k += 1;
                        }
                    }
                    for (k, (_, day)) in days.iter().enumerate() {
                        let is_open = u.open.iter().any(|o| o.overlaps(day));
                        for i in containing(buckets, day.start()) {
                            if is_open {
                                seat_open[i] += 1;
                            }
                            if is_open && use_ms[k] >= SEAT_DAY_MIN_USE_MS {
                                seat_used[i] += 1;
                            }
                        }
                    }
                }
                ResourceKind::InnRoom => {
                    // The night of a date ends at the midnight that ends the date; its occupant
                    // is the first session (in the sessions' order) running across it.
                    let mut occupant: Vec<Option<&SessionFacts>> = vec![None; days.len()];
                    for s in on_unit {
                        let mut k = days.partition_point(|(_, d)| d.end() < s.span.start());
                        while k < days.len() && days[k].1.end() < s.span.end() {
                            occupant[k].get_or_insert(s);
                            k += 1;
                        }
                    }
                    for (k, (_, day)) in days.iter().enumerate() {
                        let midnight = day.end();
                        let is_open = u.open.iter().any(|o| o.contains_instant(midnight - 1));
                        for i in containing(buckets, day.start()) {
                            if is_open {
                                nights_avail[i] += 1;
                            }
                            if let Some(s) = occupant[k].filter(|_| is_open) {
                                nights_occ[i] += 1;
                                if facts.verified.contains(&s.account) {
                                    nights_verified[i] += 1;
                                }
                                value[i] += u.night_price_minor.unwrap_or(0);
                            }
                        }
                    }
                }
                ResourceKind::Tool | ResourceKind::LabFacility => {}
            }
        }
    }

    // Peak concurrency: a sweep over session starts and ends, an end before a start at the
    // same instant (half-open intervals that touch do not overlap). `open_before[k]` is the
    // number of sessions open after the first k events.
    let mut events: Vec<(Millis, i32)> = Vec::with_capacity(sel.sessions.len() * 2);
    for s in &sel.sessions {
        events.push((s.span.start(), 1));
        events.push((s.span.end(), -1));
    }
    events.sort_unstable();
    let mut open_before = Vec::with_capacity(events.len() + 1);
    open_before.push(0i64);
    for (_, d) in &events {
        open_before.push(open_before.last().copied().unwrap_or(0) + i64::from(*d));
    }
    let peaks: Vec<u64> = buckets
        .iter()
        .map(|b| {
            let k = events.partition_point(|(t, _)| *t <= b.interval.start());
            let mut peak = open_before[k];
            for (j, (t, _)) in events.iter().enumerate().skip(k) {
                if *t >= b.interval.end() {
                    break;
                }
                peak = peak.max(open_before[j + 1]);
            }
            u64::try_from(peak).unwrap_or(0)
        })
        .collect();

    (0..n)
        .map(|i| {
            let served: Vec<&&AccountId> = makers[i].iter().collect();
            let new_makers = served
                .iter()
                .filter(|a| facts.first_session.get(**a).is_some_and(|t| *t >= buckets[i].interval.start()))
                .count() as u64;
            Figures {
                open_hours: with_open.then(|| hours(open[i])),
                booked_hours: hours(booked[i]),
                used_hours: hours(used[i]),
                utilization: if with_open { ratio(used_open[i], open[i]) } else { None },
                booked_share: if with_open { ratio(booked_open[i], open[i]) } else { None },
                show_rate: ratio(shown[i], booked[i]),
                bookings: bookings[i],
                checked_in: checked_in[i],
                check_in_rate: ratio(checked_in[i] as i64, bookings[i] as i64),
                no_shows: no_shows[i],
                no_show_rate: ratio(no_shows[i] as i64, bookings[i] as i64),
                cancellations: cancels[i],
                late_cancellations: late[i],
                cancellation_lead_hours_median: median_hours(leads[i].clone()),
                overstay_hours: hours(over[i]),
                sessions: sessions[i],
                walk_ups: walk_ups[i],
                walk_up_share: ratio(walk_ups[i] as i64, sessions[i] as i64),
                makers: served.len() as u64,
                new_makers,
                returning_makers: served.len() as u64 - new_makers,
                organisations: orgs[i].len() as u64,
                peak_concurrent: peaks[i],
                seat_days_open: seat_open[i],
                seat_days_used: seat_used[i],
                seat_day_rate: ratio(seat_used[i] as i64, seat_open[i] as i64),
                room_nights_available: nights_avail[i],
                room_nights_occupied: nights_occ[i],
                occupancy: ratio(nights_occ[i] as i64, nights_avail[i] as i64),
                nights_by_verified_makers: nights_verified[i],
                stays: stays[i],
                average_stay_nights: ratio(stay_nights[i], stays[i] as i64),
                subsidised_value_minor: value[i],
            }
        })
        .collect()
}

/// Used hours by local weekday and hour of the period: each session, clipped to the period,
/// is cut at local hour boundaries. A 25-hour day puts two hours' use into its repeated
/// hour; a 23-hour day has none in the skipped one.
pub(super) fn heatmap(sessions: &[&SessionFacts], period: &Period) -> [[f64; 24]; 7] {
    let mut ms = [[0i64; 24]; 7];
    for s in sessions {
        let Some(span) = s.span.intersection(&period.interval) else { continue };
        // The common case: one UTC offset over the whole span (no transition in it; two in
        // a week happen in no zone), so local hours are plain arithmetic. Otherwise hour by
        // hour through the zone's rules.
        let offset = |t: Millis| {
            use chrono::{Offset, TimeZone};
            let utc = chrono::DateTime::from_timestamp_millis(t).map(|d| d.naive_utc());
            utc.map(|u| i64::from(period.zone.offset_from_utc_datetime(&u).fix().local_minus_utc()) * 1000)
        };
        if span.duration_ms() <= 7 * DAY_MS
            && let (Some(a), Some(b)) = (offset(span.start()), offset(span.end() - 1))
            && a == b
        {
            let mut t = span.start();
            while t < span.end() {
                let local = t + a;
                let end = ((local.div_euclid(HOUR_MS) + 1) * HOUR_MS - a).min(span.end());
                // 1970-01-01 was a Thursday (3 days after Monday).
                let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7) as usize;
                let hour = (local.rem_euclid(DAY_MS) / HOUR_MS) as usize;
                ms[weekday][hour] += end - t;
                t = end;
            }
            continue;
        }
        add_hour_by_hour(period.zone, span, &mut ms);
    }
    ms.map(|row| row.map(hours))
}
