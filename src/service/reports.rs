//! Utilization reports: the metered record of a space, rolled up
//! ([`crate::domain::report`]). This module reads the facts (units with their open time,
//! bookings, sessions) and names the groups; the figures are computed in the domain.
//!
//! Who sees what: a [`SpaceReader`] (the space's operators, reviewers, admins). Per-maker
//! figures follow the space's settings: its operators see them, with names, unless the space
//! turns them off; reviewers see makers under a stable pseudonym ([`maker_pseudonym`]) unless
//! the space shares names. A per-maker row's key is always the pseudonym.

use super::catalog::{closures_of, opening_windows, policy_of, zone_of};
use super::powers::SpaceReader;
use super::{ServiceError, ServiceResult, Services};
use crate::domain::availability::{Closure, Scope, open_intervals};
use crate::domain::booking::BookingKind;
use crate::domain::calendar::{DAY_MS, MAX_WINDOW_DAYS, Zone};
use crate::domain::checkin::SessionOrigin;
use crate::domain::ids::{AccountId, ResourceId};
use crate::domain::interval::{Interval, normalize, subtract};
use crate::domain::policy::ResourceKind;
use crate::domain::report::{
    self, BookingFacts, BucketSize, DayPart, Facts, GroupBy, Parts, Period, PeriodError, Report, SessionFacts,
    UnitFacts,
};
use crate::store::catalog::{OpeningRuleRow, SpaceRow};
use crate::store::reports::ReportUnit;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a utilization report is asked for: local dates `from..=to` of the space, the bucket
/// size (default `month`) and the grouping (default `resource`).
#[derive(Debug, Clone, Default)]
pub struct UtilizationQuery {
    pub from: String,
    pub to: String,
    pub bucket: Option<String>,
    pub by: Option<String>,
}

/// A group's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName {
    pub zh: String,
    pub en: String,
}

/// A utilization report of one space.
#[derive(Debug, Clone)]
pub struct Utilization {
    pub space: SpaceRow,
    pub zone: Zone,
    pub period: Period,
    pub bucket: BucketSize,
    pub by: GroupBy,
    pub report: Report,
    /// The name of each group key.
    pub names: HashMap<String, GroupName>,
    /// Makers are shown by name (the space's setting for this reader), else by pseudonym.
    pub names_shown: bool,
    /// When it was computed; an open session counts up to here.
    pub generated_at: i64,
    /// Days of the period served from the per-day roll-up (the others were read raw).
    pub rollup_days: usize,
}

fn parse_date(field: &str, raw: &str) -> ServiceResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ServiceError::invalid_field(field, "invalid_date", "must be a date such as 2026-03-29"))
}

/// One of an enum's texts for `field`, or `default` when absent or empty.
fn choice<T: Copy>(
    field: &str,
    raw: Option<&str>,
    all: &[T],
    text: fn(T) -> &'static str,
    default: T,
) -> ServiceResult<T> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(raw) => Ok(crate::domain::registers::choice(field, raw, all, text)
            .map_err(|e| ServiceError::invalid_field(&e.field, &e.code, &e.message))?),
    }
}

/// The period of a query in the space's zone.
///
/// # Errors
/// [`super::Code::ValidationFailed`] for dates that do not parse, a reversed period or one
/// longer than [`report::MAX_REPORT_DAYS`].
pub fn period_of(zone: Zone, from: &str, to: &str) -> ServiceResult<Period> {
    let first = parse_date("from", from);
    let last = parse_date("to", to);
    let (first, last) = match (first, last) {
        (Ok(f), Ok(l)) => (f, l),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    // Bounded work: opening rules are expanded over the whole period.
    for (field, d) in [("from", first), ("to", last)] {
        if !(2000..=2100).contains(&chrono::Datelike::year(&d)) {
            return Err(ServiceError::invalid_field(field, "out_of_range", "must be a date from 2000 to 2100"));
        }
    }
    Period::new(zone.tz(), first, last).map_err(|e| match e {
        PeriodError::Reversed => ServiceError::invalid_field("to", "before_start", "must not be before from"),
        PeriodError::TooLong { .. } => ServiceError::invalid_field("to", "period_too_long", &e.to_string()),
    })
}

/// A maker as a report shows them: `maker-` and 10 hex digits of SHA-256 over the space id
/// and the account id. The same maker has the same pseudonym in every report of a space,
/// and different ones in different spaces.
pub fn maker_pseudonym(space: &SpaceRow, account: &AccountId) -> String {
    let mut h = Sha256::new();
    h.update(space.id.as_str().as_bytes());
    h.update([0]);
    h.update(account.as_str().as_bytes());
    format!("maker-{}", &crate::domain::hex(&h.finalize())[..10])
}

/// The opening rules of a resource: its own, or else the space's.
fn rules_for<'a>(rules: &'a [OpeningRuleRow], resource: &ResourceId) -> Vec<&'a OpeningRuleRow> {
    let own: Vec<&OpeningRuleRow> = rules.iter().filter(|r| r.resource_id.as_ref() == Some(resource)).collect();
    if own.is_empty() { rules.iter().filter(|r| r.resource_id.is_none()).collect() } else { own }
}

/// Open time of each unit over `period`: its resource's opening hours (its own rules, or the
/// space's), minus closures of the space, the resource and the unit, within the unit's life
/// (from its creation to its retirement or its resource's archiving). Expanded in windows of
/// at most [`MAX_WINDOW_DAYS`] days, then merged.
pub(crate) fn open_time(
    zone: Zone,
    units: &[ReportUnit],
    rules: &[OpeningRuleRow],
    closures: &[Closure],
    period: &Period,
) -> ServiceResult<Vec<Vec<Interval>>> {
    let mut chunks = Vec::new();
    let mut t = period.interval.start();
    while t < period.interval.end() {
        let end = (t + MAX_WINDOW_DAYS * DAY_MS).min(period.interval.end());
        chunks.push(Interval::new(t, end).expect("positive"));
        t = end;
    }
    let mut by_resource: HashMap<&ResourceId, Vec<Interval>> = HashMap::new();
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        if !by_resource.contains_key(&u.resource_id) {
            let rows: Vec<OpeningRuleRow> = rules_for(rules, &u.resource_id).into_iter().cloned().collect();
            let windows = opening_windows(zone, &rows)?;
            let mut open = Vec::new();
            for c in &chunks {
                open.extend(open_intervals(&windows, closures, Some(&u.resource_id), *c)?);
            }
            by_resource.insert(&u.resource_id, normalize(open));
        }
        let mut closed = Vec::new();
        for c in closures {
            if let Scope::Unit(id) = &c.scope
                && id == &u.id
            {
                for w in &chunks {
                    closed.extend(c.when.within(*w)?);
                }
            }
        }
        let end_of_life = [u.retired_at, u.archived_at].into_iter().flatten().min().unwrap_or(i64::MAX);
        let life = Interval::new(u.created_at.max(period.interval.start()), end_of_life.min(period.interval.end()));
        let open = match life {
            Ok(life) => subtract(by_resource[&u.resource_id].clone(), closed)
                .into_iter()
                .filter_map(|i| i.intersection(&life))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.push(open);
    }
    Ok(out)
}

/// The utilization report of `reader`'s space for `q`, as of `now`.
///
/// # Errors
/// [`super::Code::ValidationFailed`] for a bad period, bucket or grouping; store errors.
pub async fn utilization(
    svc: &Services,
    reader: &SpaceReader,
    q: &UtilizationQuery,
    now: i64,
) -> ServiceResult<Utilization> {
    let by = choice("by", q.by.as_deref(), GroupBy::ALL, GroupBy::as_str, GroupBy::Resource)?;
    let mut all = utilization_by(svc, reader, q, &[by], now).await?;
    Ok(all.remove(0))
}

/// The report of `q` once for each grouping in `groupings` (the facts are read once).
///
/// # Errors
/// As [`utilization`].
pub async fn utilization_by(
    svc: &Services,
    reader: &SpaceReader,
    q: &UtilizationQuery,
    groupings: &[GroupBy],
    now: i64,
) -> ServiceResult<Vec<Utilization>> {
    let space = reader.space().clone();
    let zone = zone_of(&space)?;
    let period = period_of(zone, &q.from, &q.to)?;
    let bucket = choice("bucket", q.bucket.as_deref(), BucketSize::ALL, BucketSize::as_str, BucketSize::Month)?;
    let (operators_see_makers, share_names) = svc.db.report_privacy(&space.id).await?;
    // Per-maker figures: for operators only where the space allows them (with names); for
    // reviewers under pseudonyms unless the space shares names.
    let names_shown = if reader.operates() { operators_see_makers } else { share_names };
    if groupings == [GroupBy::Maker] && reader.operates() && !operators_see_makers {
        return Err(ServiceError::forbidden("this space does not show per-maker figures to its operators"));
    }
    let groupings: Vec<GroupBy> = groupings
        .iter()
        .copied()
        .filter(|g| *g != GroupBy::Maker || !reader.operates() || operators_see_makers)
        .collect();
    let mut out = Vec::with_capacity(groupings.len());
    if let [by] = groupings.as_slice() {
        // One grouping: from the roll-up where it serves it.
        let read = parts_of(svc, &space, zone, &period, *by, now, Source::Auto).await?;
        let report = report::fold(&read.parts, &read.facts, &period, bucket, by.has_open_time());
        let mut names = read.names;
        name_groups(svc, &space, &report, *by, names_shown, &mut names).await?;
        out.push(Utilization {
            space,
            zone,
            period,
            bucket,
            by: *by,
            report,
            names,
            names_shown,
            generated_at: now,
            rollup_days: read.stored_days,
        });
        return Ok(out);
    }
    // Several (every sheet of a workbook): the facts read once.
    let (facts, base_names) = facts_of(svc, &space, zone, &period, now).await?;
    for by in &groupings {
        let report = report::utilization(&facts, &period, bucket, *by);
        let mut names = base_names.clone();
        name_groups(svc, &space, &report, *by, names_shown, &mut names).await?;
        out.push(Utilization {
            space: space.clone(),
            zone,
            period,
            bucket,
            by: *by,
            report,
            names,
            names_shown,
            generated_at: now,
            rollup_days: 0,
        });
    }
    Ok(out)
}

/// The name of a grouping (an XLSX sheet's name).
pub fn grouping_name(by: GroupBy) -> GroupName {
    let (zh, en) = match by {
        GroupBy::Space => ("空间", "Space"),
        GroupBy::Resource => ("资源", "Resources"),
        GroupBy::Unit => ("单元", "Units"),
        GroupBy::Kind => ("资源类型", "Kinds"),
        GroupBy::Organisation => ("团队", "Organisations"),
        GroupBy::Maker => ("创客", "Makers"),
    };
    GroupName { zh: zh.into(), en: en.into() }
}

/// The facts of `space` over `period`, and the names of its resources, units and kinds.
pub(crate) async fn facts_of(
    svc: &Services,
    space: &SpaceRow,
    zone: Zone,
    period: &Period,
    now: i64,
) -> ServiceResult<(Facts, HashMap<String, GroupName>)> {
    facts_for(svc, space, zone, period, now, None).await
}

/// The units as a report counts them (with `open`, each unit's open time) and the names of
/// the resources and units.
pub(crate) fn unit_facts_of(
    units: &[ReportUnit],
    open: Vec<Vec<Interval>>,
) -> ServiceResult<(Vec<UnitFacts>, HashMap<String, GroupName>)> {
    let mut names = HashMap::new();
    let mut unit_facts = Vec::with_capacity(units.len());
    for (u, open) in units.iter().zip(open) {
        let kind = ResourceKind::from_db(&u.resource_kind).ok_or_else(|| {
            ServiceError::internal(anyhow::anyhow!("resource {} has kind {}", u.resource_id, u.resource_kind))
        })?;
        let policy = policy_of(&u.resource_id, &u.resource_kind, &u.policy)?;
        let night_price_minor = (policy.price.per == "night").then_some(policy.price.amount_minor);
        names.insert(
            u.resource_id.as_str().to_owned(),
            GroupName { zh: u.resource_name_zh.clone(), en: u.resource_name_en.clone() },
        );
        names.insert(
            u.id.as_str().to_owned(),
            GroupName {
                zh: format!("{} · {}", u.resource_name_zh, u.label),
                en: format!("{} · {}", u.resource_name_en, u.label),
            },
        );
        unit_facts.push(UnitFacts {
            unit: u.id.clone(),
            resource: u.resource_id.clone(),
            kind,
            open,
            night_price_minor,
        });
    }
    Ok((unit_facts, names))
}

/// [`facts_of`], only `account`'s bookings and sessions when given (and then no open time:
/// a maker owns no units).
async fn facts_for(
    svc: &Services,
    space: &SpaceRow,
    zone: Zone,
    period: &Period,
    now: i64,
    account: Option<&AccountId>,
) -> ServiceResult<(Facts, HashMap<String, GroupName>)> {
    // Sessions that span the midnight ending the period's last night are read a day further.
    let reach = Interval::new(period.interval.start(), period.interval.end() + DAY_MS).expect("positive");
    let (units, rules, closure_rows, bookings, sessions, first) = tokio::try_join!(
        svc.db.report_units(&space.id),
        svc.db.opening_rules_of(&space.id),
        svc.db.closures_of(&space.id, Some(period.interval)),
        svc.db.report_bookings(&space.id, period.interval, account, now),
        svc.db.report_sessions(&space.id, reach, account),
        svc.db.first_sessions(&space.id, period.interval.end(), account),
    )?;
    let closures = closures_of(zone, &closure_rows)?;
    let open = match account {
        None => open_time(zone, &units, &rules, &closures, period)?,
        Some(_) => vec![Vec::new(); units.len()],
    };
    let (unit_facts, names) = unit_facts_of(&units, open)?;
    let bookings = bookings
        .into_iter()
        .filter_map(|b| {
            Some(BookingFacts {
                span: Interval::new(b.starts_at, b.ends_at).ok()?,
                id: b.id,
                unit: b.unit_id,
                account: b.account_id,
                organisation: b.organisation_id,
                kind: b.kind,
                status: b.status,
                cancelled_at: b.cancelled_at,
                has_session: b.has_session,
            })
        })
        .collect();
    let mut verified = rustc_hash::FxHashSet::default();
    let mut open_since = Vec::new();
    let sessions = sessions
        .into_iter()
        .filter_map(|s| {
            if s.verified_maker {
                verified.insert(s.account_id.clone());
            }
            if s.ended_at.is_none_or(|e| e > now) {
                open_since.push(s.started_at);
            }
            let held = s.booking_status.is_some_and(report::held) && s.booking_kind != Some(BookingKind::WalkUp);
            let booked = match (s.booking_starts_at, s.booking_ends_at) {
                (Some(a), Some(b)) if held => Interval::new(a, b).ok(),
                _ => None,
            };
            Some(SessionFacts {
                // As of `now`: an open session (or one closed later, when a pack is
                // recomputed as of its time) runs to `now`; one that starts later is not there.
                span: Interval::new(s.started_at, s.ended_at.unwrap_or(now).min(now)).ok()?,
                id: s.id,
                booking: s.booking_id,
                unit: s.unit_id,
                account: s.account_id,
                organisation: s.organisation_id,
                walk_up: s.opened_by == SessionOrigin::WalkUp || s.booking_kind == Some(BookingKind::WalkUp),
                booked,
            })
        })
        .collect();
    let facts = Facts {
        units: unit_facts,
        bookings,
        sessions,
        first_session: first.into_iter().collect(),
        verified,
        open_since,
    };
    Ok((facts, names))
}

/// The most separate runs of raw days a report reads beside stored days (more, and it reads
/// the whole period raw at once).
const MAX_RAW_RUNS: usize = 8;

/// Where a report's day parts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Stored days of the roll-up where they are exact ([`super::rollup`]), every other day
    /// from the facts.
    Auto,
    /// Every day from the facts (`verify-pack`, and with the roll-up turned off).
    Raw,
}

/// A report's day parts, what is read at report time, and the groups' names.
pub(crate) struct PartsRead {
    pub parts: Parts,
    /// All the facts when read raw; from the roll-up, the units, first sessions and verified
    /// makers only.
    pub facts: Facts,
    pub names: HashMap<String, GroupName>,
    /// Days of the period served from the roll-up.
    pub stored_days: usize,
}

/// The day parts of `space` over `period` by `by`, from the roll-up where it is exact and
/// raw elsewhere (the same digits either way: see [`super::rollup`]).
#[allow(clippy::too_many_lines)]
pub(crate) async fn parts_of(
    svc: &Services,
    space: &SpaceRow,
    zone: Zone,
    period: &Period,
    by: GroupBy,
    now: i64,
    source: Source,
) -> ServiceResult<PartsRead> {
    use super::rollup::{SETTLE_MS, day_number, fingerprint, scope_of};
    let raw = async || -> ServiceResult<PartsRead> {
        let (facts, names) = facts_of(svc, space, zone, period, now).await?;
        Ok(PartsRead { parts: report::day_parts(&facts, period, by), facts, names, stored_days: 0 })
    };
    if source == Source::Raw || !svc.config.report_rollup || scope_of(by, "").is_none() {
        return raw().await;
    }
    let Some(state) = svc.db.rollup_space(&space.id).await? else { return raw().await };
    if now < state.built_at {
        return raw().await;
    }
    let (units, rules, closure_rows) = tokio::try_join!(
        svc.db.report_units(&space.id),
        svc.db.opening_rules_of(&space.id),
        svc.db.closures_of(&space.id, None),
    )?;
    if fingerprint(space, &units, &rules, &closure_rows) != state.fingerprint {
        return raw().await;
    }
    let days = period.days();
    let n = days.len();
    let first = day_number(period.first);
    let (rows, marks) = tokio::try_join!(
        svc.db.rollup_rows(
            &space.id,
            state.generation,
            first,
            day_number(period.last) + 1,
            match by {
                GroupBy::Resource => "r:",
                GroupBy::Kind => "k:",
                _ => "",
            }
        ),
        svc.db.rollup_marks(&space.id, period.interval.start(), period.interval.end()),
    )?;
    let index_of = |day: i32| usize::try_from(day - first).ok().filter(|i| *i < n);
    let mut stored = vec![false; n];
    for r in rows.iter().filter(|r| r.scope == "space") {
        if let Some(i) = index_of(r.day) {
            stored[i] = true;
        }
    }
    for (i, (_, d)) in days.iter().enumerate() {
        stored[i] &= d.end() <= now - SETTLE_MS && !marks.iter().any(|m| m.from_ms < d.end() && m.until_ms > d.start());
    }
    let stored_days = stored.iter().filter(|s| **s).count();
    let raw_runs = (0..n).filter(|i| !stored[*i] && (*i == 0 || stored[i - 1])).count();
    if stored_days == 0 || raw_runs > MAX_RAW_RUNS {
        // One read of the whole period costs less than many.
        return raw().await;
    }
    let (unit_facts, names) = unit_facts_of(&units, vec![Vec::new(); units.len()])?;
    let mut keys: Vec<String> = unit_facts
        .iter()
        .map(|u| match by {
            GroupBy::Resource => u.resource.as_str().to_owned(),
            GroupBy::Kind => u.kind.as_str().to_owned(),
            _ => "space".to_owned(),
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let index: HashMap<String, usize> = keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
    let mut groups: Vec<(String, Vec<DayPart>)> = keys.into_iter().map(|k| (k, vec![DayPart::default(); n])).collect();
    let mut whole = vec![DayPart::default(); n];
    let decode = |bytes: &[u8]| {
        report::codec::decode(bytes).map_err(|e| ServiceError::internal(anyhow::anyhow!("space {}: {e}", space.id)))
    };
    for r in &rows {
        let Some(i) = index_of(r.day).filter(|i| stored[*i]) else { continue };
        if r.scope == "space" {
            whole[i] = decode(&r.part)?;
            if by == GroupBy::Space
                && let Some(g) = groups.first_mut()
            {
                g.1[i] = whole[i].clone();
            }
        } else if let Some(key) = r.scope.strip_prefix(if by == GroupBy::Kind { "k:" } else { "r:" })
            && by != GroupBy::Space
            && let Some(g) = index.get(key)
        {
            groups[*g].1[i] = decode(&r.part)?;
        }
    }
    // The other days, raw, run by run.
    let mut verified = rustc_hash::FxHashSet::default();
    let mut i = 0;
    while i < n {
        if stored[i] {
            i += 1;
            continue;
        }
        let a = i;
        while i < n && !stored[i] {
            i += 1;
        }
        let run = Period::new(zone.tz(), days[a].0, days[i - 1].0)
            .map_err(|e| ServiceError::internal(anyhow::anyhow!("a raw run: {e}")))?;
        let (facts, _) = facts_of(svc, space, zone, &run, now).await?;
        let p = report::day_parts(&facts, &run, by);
        for (key, parts) in p.groups {
            if let Some(g) = index.get(&key) {
                for (j, part) in parts.into_iter().enumerate() {
                    groups[*g].1[a + j] = part;
                }
            }
        }
        for (j, part) in p.whole.into_iter().enumerate() {
            whole[a + j] = part;
        }
        verified.extend(facts.verified);
    }
    // Read at report time: each maker's first session (kept by triggers: the same MIN as the
    // history gives for every maker the period serves), whether occupants are verified.
    let occupants: Vec<AccountId> =
        whole.iter().flat_map(|d| d.occupied_nights.iter().map(|(_, who)| who.clone())).collect();
    let (first_sessions, verified_now) =
        tokio::try_join!(svc.db.kept_first_sessions(&space.id), svc.db.verified_among(&occupants),)?;
    verified.extend(verified_now);
    let facts =
        Facts { units: unit_facts, first_session: first_sessions.into_iter().collect(), verified, ..Facts::default() };
    Ok(PartsRead { parts: Parts { groups, whole }, facts, names, stored_days })
}

/// Names for the groups that are not resources or units: kinds, organisations, makers.
async fn name_groups(
    svc: &Services,
    space: &SpaceRow,
    report: &Report,
    by: GroupBy,
    names_shown: bool,
    names: &mut HashMap<String, GroupName>,
) -> ServiceResult<()> {
    for g in &report.groups {
        let name = match by {
            GroupBy::Space => GroupName { zh: space.name_zh.clone(), en: space.name_en.clone() },
            GroupBy::Resource | GroupBy::Unit => continue,
            GroupBy::Kind => kind_name(&g.key),
            GroupBy::Organisation if g.key.is_empty() => {
                GroupName { zh: "未关联组织".into(), en: "No organisation".into() }
            }
            GroupBy::Organisation => match svc.db.organisation(&g.key).await {
                Ok(o) => GroupName { zh: o.name.clone(), en: o.name },
                Err(crate::store::StoreError::NotFound) => GroupName { zh: g.key.clone(), en: g.key.clone() },
                Err(e) => return Err(e.into()),
            },
            GroupBy::Maker if names_shown => {
                let a = svc.db.account(&AccountId::new(g.key.clone())).await?;
                GroupName { zh: a.display_name.clone(), en: a.display_name }
            }
            GroupBy::Maker => {
                let p = maker_pseudonym(space, &AccountId::new(g.key.clone()));
                GroupName { zh: p.clone(), en: p }
            }
        };
        names.insert(g.key.clone(), name);
    }
    names.insert("space".into(), GroupName { zh: space.name_zh.clone(), en: space.name_en.clone() });
    Ok(())
}

/// The names of a resource kind.
pub fn kind_name(kind: &str) -> GroupName {
    let (zh, en) = match ResourceKind::from_db(kind) {
        Some(ResourceKind::Tool) => ("原型工具", "Tools"),
        Some(ResourceKind::LabFacility) => ("开放实验设施", "Lab facilities"),
        Some(ResourceKind::InnRoom) => ("创客客栈房间", "Inn rooms"),
        Some(ResourceKind::BroadbandSeat) => ("免费宽带工位", "Broadband seats"),
        None => (kind, kind),
    };
    GroupName { zh: zh.into(), en: en.into() }
}

impl Utilization {
    /// The key a group is shown under: makers by pseudonym, everything else by its key.
    pub fn shown_key(&self, key: &str) -> String {
        match self.by {
            GroupBy::Maker if key != "space" => maker_pseudonym(&self.space, &AccountId::new(key)),
            _ => key.to_owned(),
        }
    }
}

/// [`utilization_by`] for `labinn report`: whoever holds the database's address reads it whole.
///
/// # Errors
/// As [`utilization_by`]; [`super::Code::NotFound`] for an unknown space.
pub async fn utilization_of_space(
    svc: &Services,
    slug: &str,
    q: &UtilizationQuery,
    groupings: &[GroupBy],
    now: i64,
) -> ServiceResult<Vec<Utilization>> {
    let space = super::catalog::find_space(svc, slug).await?;
    utilization_by(svc, &SpaceReader::for_verification(space), q, groupings, now).await
}

/// A maker's own use of one space.
#[derive(Debug, Clone)]
pub struct SpaceUsage {
    pub space: SpaceRow,
    pub period: Period,
    /// The maker's figures: the per-maker group of the space's report (no open time).
    pub figures: crate::domain::report::GroupReport,
}

/// The signed-in maker's own use over local dates `from..=to` (each space's own dates), in
/// every space where they had a booking: their bookings, sessions, hours, no-shows,
/// cancellations, by `bucket` (default month). Nobody else's facts are read.
///
/// # Errors
/// [`super::Code::ValidationFailed`] for a bad period or bucket; store errors.
pub async fn my_usage(
    svc: &Services,
    who: &super::Identity,
    from: &str,
    to: &str,
    bucket: Option<&str>,
    now: i64,
) -> ServiceResult<Vec<SpaceUsage>> {
    let bucket = choice("bucket", bucket, BucketSize::ALL, BucketSize::as_str, BucketSize::Month)?;
    // Validate once in UTC+8 for the error; each space's period is its own zone's dates.
    period_of(
        Zone::parse("tz", "Asia/Shanghai").map_err(|_| ServiceError::internal(anyhow::anyhow!("zone")))?,
        from,
        to,
    )?;
    let wide = {
        let p = period_of(
            Zone::parse("tz", "Pacific/Kiritimati").map_err(|_| ServiceError::internal(anyhow::anyhow!("zone")))?,
            from,
            to,
        )?;
        Interval::new(p.interval.start(), p.interval.end() + 2 * DAY_MS).expect("positive")
    };
    let mut out = Vec::new();
    for space_id in svc.db.spaces_used_by(who.id(), wide).await? {
        let space = super::catalog::find_space(svc, space_id.as_str()).await?;
        let zone = zone_of(&space)?;
        let period = period_of(zone, from, to)?;
        let (facts, _) = facts_for(svc, &space, zone, &period, now, Some(who.id())).await?;
        let mut report = report::utilization(&facts, &period, bucket, GroupBy::Maker);
        let Some(pos) = report.groups.iter().position(|g| g.key == who.id().as_str()) else { continue };
        let mut figures = report.groups.swap_remove(pos);
        figures.key = maker_pseudonym(&space, who.id());
        out.push(SpaceUsage { space, period, figures });
    }
    Ok(out)
}

/// A space's privacy settings for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// The space's operators see per-maker figures (with names). Default on.
    pub operators_see_makers: bool,
    /// Reviewers see makers' names instead of pseudonyms. Default off.
    pub share_maker_names: bool,
}

/// The privacy settings of `reader`'s space.
///
/// # Errors
/// Store errors.
pub async fn privacy(svc: &Services, reader: &SpaceReader) -> ServiceResult<Privacy> {
    let (operators_see_makers, share_maker_names) = svc.db.report_privacy(&reader.space().id).await?;
    Ok(Privacy { operators_see_makers, share_maker_names })
}

/// Sets the privacy settings of `op`'s space.
///
/// # Errors
/// Store errors.
pub async fn set_privacy(svc: &Services, op: &super::powers::OperatorOf, p: Privacy) -> ServiceResult<Privacy> {
    svc.db.set_report_privacy(&op.space().id, p.operators_see_makers, p.share_maker_names).await?;
    Ok(p)
}
