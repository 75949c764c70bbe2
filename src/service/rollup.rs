//! The per-day roll-up of reports: each space's figures by local day, in parts
//! ([`DayPart`]), for the space, each resource and each kind, so that a space-year report
//! folds about 1,500 stored days instead of reading 100,000 bookings and sessions.
//!
//! It is a cache and never the record: a report uses a stored day only when it is exact, and
//! reads every other day raw ([`super::reports`]). A stored day is exact when
//! - the space's catalog has the fingerprint the day was built with (zone, units, opening
//!   rules, closures and the roll-up's layout: what open time depends on),
//! - no dirty mark touches it (the database's triggers mark the range of every write that
//!   reaches a day older than [`SETTLE_MS`], in the writer's own transaction), and
//! - the report is as of the last build or later, and the day ended [`SETTLE_MS`] before.
//!
//! The builder ([`step`]) advances each space day by day up to [`SETTLE_MS`] before a safe
//! clock (see [`crate::store::Db::rollup_safe_clock`]): a write not yet visible to the build
//! runs its trigger after that clock and so marks anything the build stores. It rebuilds the
//! days that marks touch, and deletes exactly the marks it saw once every stored day they
//! touch has been rebuilt from facts read after it saw them. A day that an open session runs
//! across is not stored; it is marked, and built once the session ends. What makers are
//! verified and what a room-night is priced at are read when the report is made.

use super::catalog::zone_of;
use super::reports::facts_of;
use super::{ServiceResult, Services};
use crate::domain::calendar::{DAY_MS, utc_to_local};
use crate::domain::report::{self, DayPart, GroupBy, Period, codec};
use crate::store::catalog::{ClosureRow, OpeningRuleRow, SpaceRow};
use crate::store::reports::ReportUnit;
use crate::store::rollup::RollupWrite;
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// How long before the clock a day must end to be built: the triggers in migration 0016 mark
/// writes older than this (172,800,000 ms there). Check-ins, check-outs and no-shows touch the
/// last hours, so they never mark.
pub const SETTLE_MS: i64 = 2 * DAY_MS;

/// Changes whenever what a stored part means changes, so that old parts are rebuilt.
const LAYOUT: &str = "labinn-rollup-1";

/// The most days one step builds for one space.
pub const STEP_DAYS: usize = 93;

/// The scope a stored part is kept under, for the groupings the roll-up serves.
pub fn scope_of(by: GroupBy, key: &str) -> Option<String> {
    match by {
        GroupBy::Space => Some("space".into()),
        GroupBy::Resource => Some(format!("r:{key}")),
        GroupBy::Kind => Some(format!("k:{key}")),
        GroupBy::Unit | GroupBy::Organisation | GroupBy::Maker => None,
    }
}

/// The fingerprint of what a space's open time depends on.
pub(crate) fn fingerprint(
    space: &SpaceRow,
    units: &[ReportUnit],
    rules: &[OpeningRuleRow],
    closures: &[ClosureRow],
) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(LAYOUT);
    put(&space.timezone);
    for u in units {
        put(&format!(
            "{}|{}|{}|{}|{:?}|{:?}",
            u.id, u.resource_id, u.resource_kind, u.created_at, u.retired_at, u.archived_at
        ));
    }
    for r in rules {
        put(&format!("{r:?}"));
    }
    for c in closures {
        put(&format!("{c:?}"));
    }
    crate::domain::hex(&h.finalize())
}

/// A local date as the roll-up numbers it.
pub fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

/// The local date of a roll-up day number.
pub fn day_of_number(n: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MIN)
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Days built or rebuilt, over all spaces.
    pub days: usize,
    /// Some space has more to build.
    pub more: bool,
}

/// One build step over every space, as of `now`: up to `max_days` days per space.
///
/// # Errors
/// Store errors.
pub async fn step(svc: &Services, now: i64, max_days: usize) -> ServiceResult<StepReport> {
    let mut out = StepReport::default();
    // Taken before any space's marks and facts are read.
    let clock = svc.db.rollup_safe_clock().await?;
    for space in svc.db.spaces(true).await? {
        let (days, more) = step_space(svc, &space, now, clock, max_days).await?;
        out.days += days;
        out.more |= more;
    }
    Ok(out)
}

/// Builds until nothing is left (for `labinn rollup build` and a node that builds before it
/// serves).
///
/// # Errors
/// Store errors.
pub async fn build_all(svc: &Services, now: i64) -> ServiceResult<usize> {
    let mut total = 0;
    let mut idle = 0;
    loop {
        let r = step(svc, now, STEP_DAYS).await?;
        total += r.days;
        if !r.more {
            return Ok(total);
        }
        if r.days == 0 {
            // Waiting for transactions older than a new state to end (PostgreSQL): a while.
            idle += 1;
            if idle > 40 {
                return Ok(total);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}

/// The local days `[from, until)` that `[a, b)` touches, as day numbers.
fn days_touched(zone: chrono_tz::Tz, a: i64, b: i64) -> (i32, i32) {
    // 1900 to 2200: an open session's mark runs to no end.
    let (lo, hi) = (-2_208_988_800_000, 7_258_118_400_000);
    let (a, b) = (a.clamp(lo, hi), b.clamp(lo, hi));
    let first = utc_to_local(zone, a).date_naive();
    let last = utc_to_local(zone, (b - 1).max(a)).date_naive();
    (day_number(first), day_number(last) + 1)
}

/// One step of one space. Returns the days built and whether more are waiting.
#[allow(clippy::too_many_lines)]
async fn step_space(
    svc: &Services,
    space: &SpaceRow,
    now: i64,
    clock: i64,
    max_days: usize,
) -> ServiceResult<(usize, bool)> {
    let zone = zone_of(space)?;
    let tz = zone.tz();
    let (units, rules, closures) = tokio::try_join!(
        svc.db.report_units(&space.id),
        svc.db.opening_rules_of(&space.id),
        svc.db.closures_of(&space.id, None),
    )?;
    let fp = fingerprint(space, &units, &rules, &closures);
    let Some(state) = svc.db.rollup_space(&space.id).await? else {
        let Some(first) = svc.db.rollup_first_fact(&space.id).await? else { return Ok((0, false)) };
        svc.db.create_rollup_space(&space.id, &fp, day_number(utc_to_local(tz, first).date_naive())).await?;
        return Ok((0, true));
    };
    if clock <= state.created_at {
        // Writes that began before the state existed may not have marked: wait until none runs.
        return Ok((0, true));
    }
    let limit = now.min(clock) - SETTLE_MS;
    // Days end by `limit`: the exclusive end is the day containing it.
    let limit_day = day_number(utc_to_local(tz, limit).date_naive());
    let (generation, until) = if state.fingerprint == fp {
        (state.generation, state.until_day)
    } else {
        (state.generation + 1, state.from_day)
    };
    // The marks first, then the facts: what a mark records is in any read made after it.
    let marks = svc.db.rollup_marks(&space.id, i64::MIN, i64::MAX).await?;
    let mut wanted: BTreeSet<i32> = BTreeSet::new();
    for m in &marks {
        let (a, b) = days_touched(tz, m.from_ms, m.until_ms);
        for d in a.max(state.from_day)..b.min(until) {
            if wanted.len() >= max_days {
                break;
            }
            wanted.insert(d);
        }
    }
    let mut new_until = until;
    while wanted.len() < max_days && new_until < limit_day {
        wanted.insert(new_until);
        new_until += 1;
    }
    if wanted.is_empty() {
        // Nothing to build; marks that touch no stored day are done.
        if generation != state.generation || !marks.is_empty() {
            let w = RollupWrite {
                read_steps: state.steps,
                fingerprint: fp,
                generation,
                until_day: new_until,
                built_at: now.max(state.built_at),
                done_marks: marks.iter().map(|m| m.id).collect(),
                ..RollupWrite::default()
            };
            svc.db.write_rollup(&space.id, &w).await?;
        }
        return Ok((0, false));
    }
    // Contiguous runs of the wanted days.
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for d in &wanted {
        match runs.last_mut() {
            Some((_, b)) if *b == *d => *b += 1,
            _ => runs.push((*d, *d + 1)),
        }
    }
    let mut w = RollupWrite {
        read_steps: state.steps,
        fingerprint: fp,
        generation,
        until_day: new_until,
        built_at: now.max(state.built_at),
        rebuilt: runs.clone(),
        ..RollupWrite::default()
    };
    let mut built = 0;
    for (a, b) in &runs {
        let period = Period::new(tz, day_of_number(*a), day_of_number(b - 1))
            .map_err(|e| super::ServiceError::internal(anyhow::anyhow!("a roll-up run: {e}")))?;
        let (facts, _) = facts_of(svc, space, zone, &period, now).await?;
        let by_resource = report::day_parts(&facts, &period, GroupBy::Resource);
        let by_kind = report::day_parts(&facts, &period, GroupBy::Kind);
        let days = period.days();
        for (i, (date, day)) in days.iter().enumerate() {
            if facts.open_since.iter().any(|t| *t < day.end()) {
                // An open session runs across this day (to `now`, which is later): build it
                // once the session ends.
                w.skipped.push((day.start(), day.end()));
                continue;
            }
            let n = day_number(*date);
            w.rows.push((n, "space".into(), codec::encode(&by_resource.whole[i])));
            for (parts, by) in [(&by_resource, GroupBy::Resource), (&by_kind, GroupBy::Kind)] {
                for (key, days) in &parts.groups {
                    if days[i] != DayPart::default()
                        && let Some(scope) = scope_of(by, key)
                    {
                        w.rows.push((n, scope, codec::encode(&days[i])));
                    }
                }
            }
            built += 1;
        }
    }
    // A mark is done when every stored day it touches was rebuilt now (or skipped, and so
    // marked again).
    let rebuilt = |d: i32| runs.iter().any(|(a, b)| (*a..*b).contains(&d));
    for m in &marks {
        let (a, b) = days_touched(tz, m.from_ms, m.until_ms);
        if (a.max(state.from_day)..b.min(new_until)).all(rebuilt) {
            w.done_marks.push(m.id);
        }
    }
    if !svc.db.write_rollup(&space.id, &w).await? {
        // Another node built this space meanwhile: its step stands, this one is dropped.
        return Ok((0, true));
    }
    let more = new_until < limit_day || w.done_marks.len() < marks.len();
    Ok((built, more))
}
