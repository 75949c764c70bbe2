//! Subsidy schemes and the evidence pack: for (space, scheme, period), each criterion's
//! measured value, threshold and outcome, where the value comes from (metered, recorded,
//! attested), and the rows behind it, each with its ledger entry. Also the pack as a ZIP
//! (byte-identical for the same inputs) and its verification against the database.
//!
//! Schemes: the shipped files (`schemes/*.toml`, in the binary) and those an admin loaded;
//! a pack names its scheme by the file's SHA-256.

use super::powers::{Admin, SpaceReader};
use super::reports::{Source, facts_of, parts_of, period_of};
use super::{Code, ServiceError, ServiceResult, Services};
use crate::domain::booking::BookingStatus;
use crate::domain::calendar::utc_to_local;
use crate::domain::policy::ResourceKind;
use crate::domain::registers::{
    AreaPart, EventFacts, EventRole, Residency, UseClass, area_figures, event_figures, resident_figures,
};
use crate::domain::report::{self, BucketSize, GroupBy};
use crate::domain::scheme::{self, LoadedScheme, Metric, SourceKind, Status};
use crate::store::catalog::SpaceRow;
use crate::store::schemes::SchemeRow;
use chrono::{Months, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The schemes that ship with labinn.
pub const SHIPPED: [&str; 4] = [
    include_str!("../../schemes/nat-2017.toml"),
    include_str!("../../schemes/sz-zc-2020.toml"),
    include_str!("../../schemes/sz-ck-2015.toml"),
    include_str!("../../schemes/sz-rs-occupancy.toml"),
];

/// The identifier of the pack format.
pub const PACK_FORMAT: &str = "labinn-evidence-pack/1";

/// Every scheme known: the shipped ones, then those loaded by admins (oldest first).
///
/// # Errors
/// Store errors; [`Code::Internal`] for a shipped file that does not parse (a bug).
pub async fn schemes(svc: &Services) -> ServiceResult<Vec<LoadedScheme>> {
    let mut out = Vec::new();
    for text in SHIPPED {
        out.push(scheme::parse(text).map_err(|e| ServiceError::internal(anyhow::anyhow!("shipped scheme: {e}")))?);
    }
    for row in svc.db.schemes().await? {
        if out.iter().any(|s| s.sha256 == row.sha256) {
            continue;
        }
        out.push(scheme::parse(&row.body).map_err(|e| ServiceError::internal(anyhow::anyhow!("stored scheme: {e}")))?);
    }
    Ok(out)
}

/// The scheme `name`: a SHA-256 names one file; an id names the newest file with that id.
///
/// # Errors
/// [`Code::ValidationFailed`] (`unknown_scheme`) on field `scheme`.
pub async fn find_scheme(svc: &Services, name: &str) -> ServiceResult<LoadedScheme> {
    let all = schemes(svc).await?;
    all.iter()
        .find(|s| s.sha256 == name)
        .or_else(|| all.iter().rev().find(|s| s.scheme.id == name))
        .cloned()
        .ok_or_else(|| ServiceError::invalid_field("scheme", "unknown_scheme", "no scheme has this id or SHA-256"))
}

/// Loads a scheme file (admins). The same file again changes nothing.
///
/// # Errors
/// [`Code::ValidationFailed`] (`invalid_scheme`) with what is wrong.
pub async fn load_scheme(svc: &Services, admin: &Admin, text: &str, now: i64) -> ServiceResult<(LoadedScheme, bool)> {
    let loaded =
        scheme::parse(text).map_err(|e| ServiceError::invalid_field("toml", "invalid_scheme", &e.to_string()))?;
    let shipped = SHIPPED.iter().any(|t| scheme::parse(t).is_ok_and(|s| s.sha256 == loaded.sha256));
    let new = !shipped
        && svc
            .db
            .save_scheme(
                &SchemeRow {
                    sha256: loaded.sha256.clone(),
                    id: loaded.scheme.id.clone(),
                    version: loaded.scheme.version.clone(),
                    body: text.to_owned(),
                    loaded_at: now,
                },
                admin.id(),
            )
            .await?;
    Ok((loaded, new))
}

/// A row behind a criterion, with its latest ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowRef {
    /// `sessions`, `bookings`, `residencies`, `area_parts`, `events`, `documents`, `spaces`.
    pub table: &'static str,
    pub id: String,
    /// The sequence number and hash of the row's latest ledger entry (`None` for rows that
    /// have none: the space itself, and rows older than the ledger).
    pub ledger_seq: Option<i64>,
    pub ledger_hash: Option<String>,
}

/// One criterion, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionResult {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    pub metric: String,
    pub comparison: String,
    pub threshold: f64,
    pub value: Option<f64>,
    pub status: Status,
    pub source_kind: SourceKind,
    pub rows: Vec<RowRef>,
}

/// The pack's scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackScheme {
    pub id: String,
    pub version: String,
    pub name_zh: String,
    pub name_en: String,
    pub source: String,
    pub period: String,
    pub sha256: String,
}

/// The pack's space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackSpace {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub timezone: String,
}

/// A document listed in the pack: attested, never measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackDocument {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// The ledger head when the pack was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackHead {
    pub count: i64,
    pub hash: String,
}

/// An evidence pack.
#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub format: &'static str,
    pub space: PackSpace,
    pub scheme: PackScheme,
    /// Local dates of the space, both included.
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub ledger_head: PackHead,
    pub met: usize,
    pub not_met: usize,
    pub attested_only: usize,
    pub criteria: Vec<CriterionResult>,
    pub documents: Vec<PackDocument>,
    /// The figures the criteria were judged on.
    pub utilization: report::Figures,
    pub residents: crate::domain::registers::ResidentFigures,
    pub area: crate::domain::registers::AreaFigures,
    pub events: crate::domain::registers::EventFigures,
    /// The Merkle log: the checkpoint the pack was made at, every cited entry whole, their
    /// inclusion proof and consistency proofs from the district's checkpoints (absent from
    /// the overview's packs and from a recomputation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<super::log::PackLog>,
    /// What the charts are drawn from (by month and by resource); not in `pack.json`, and
    /// absent from the overview's packs. See [`Pack::charts`].
    #[serde(skip)]
    pub chart_source: Option<std::sync::Arc<super::reports::Utilization>>,
}

impl Pack {
    /// The charts of the period (file name, SVG) in `lang` (`zh` or `en`): used hours by
    /// month, the hour-of-week heatmap, utilization by resource. None for a pack made
    /// without its rows.
    ///
    /// # Errors
    /// [`Code::Internal`] if drawing fails.
    pub fn charts(&self, lang: &str) -> ServiceResult<Vec<(&'static str, String)>> {
        let Some(u) = self.chart_source.as_deref() else { return Ok(Vec::new()) };
        Ok(vec![
            ("charts/trend.svg", super::charts::trend(u, lang)?),
            ("charts/heatmap.svg", super::charts::heatmap(u, lang)?),
            ("charts/resources.svg", super::charts::by_group(u, lang)?),
        ])
    }
}

fn pack_scheme(loaded: &LoadedScheme) -> PackScheme {
    PackScheme {
        id: loaded.scheme.id.clone(),
        version: loaded.scheme.version.clone(),
        name_zh: loaded.scheme.name_zh.clone(),
        name_en: loaded.scheme.name_en.clone(),
        source: loaded.scheme.source.clone(),
        period: loaded.scheme.period.as_str().into(),
        sha256: loaded.sha256.clone(),
    }
}

/// Whole months from `start` to `last` (the day after `last` on or after start + n months).
fn whole_months(start: NaiveDate, last: NaiveDate) -> u32 {
    let Some(after) = last.succ_opt() else { return 0 };
    let mut n = 0;
    while start.checked_add_months(Months::new(n + 1)).is_some_and(|m| m <= after) {
        n += 1;
    }
    n
}

/// The evidence pack of `reader`'s space for `scheme_name` over local dates `from..=to`, as
/// of `now`, as the pages show it: without the log's part (see [`pack_to_keep`]).
///
/// # Errors
/// [`Code::ValidationFailed`] (period, scheme); store errors.
pub async fn pack(
    svc: &Services,
    reader: &SpaceReader,
    scheme_name: &str,
    from: &str,
    to: &str,
    now: i64,
) -> ServiceResult<Pack> {
    pack_with(svc, reader, scheme_name, from, to, now, true, Source::Auto).await
}

/// [`pack`] as a file to keep (its JSON and ZIP): with the log's part, the checkpoint of the
/// pack's ledger head (signed now if none of that size is), every cited entry, their
/// inclusion proof and the consistency proofs from the district's checkpoints.
///
/// # Errors
/// As [`pack`].
pub async fn pack_to_keep(
    svc: &Services,
    reader: &SpaceReader,
    scheme_name: &str,
    from: &str,
    to: &str,
    now: i64,
) -> ServiceResult<Pack> {
    let mut p = pack(svc, reader, scheme_name, from, to, now).await?;
    let cited: Vec<i64> = p.criteria.iter().flat_map(|c| c.rows.iter().filter_map(|r| r.ledger_seq)).collect();
    p.log = Some(super::log::pack_log(svc, &cited, p.ledger_head.count, now).await?);
    Ok(p)
}

/// [`pack`], with the rows behind each criterion and their ledger entries only when `rows`
/// (the district overview needs the outcomes alone).
#[allow(clippy::too_many_lines, clippy::too_many_arguments)]
async fn pack_with(
    svc: &Services,
    reader: &SpaceReader,
    scheme_name: &str,
    from: &str,
    to: &str,
    now: i64,
    with_rows: bool,
    source: Source,
) -> ServiceResult<Pack> {
    let space = reader.space().clone();
    let zone = super::catalog::zone_of(&space)?;
    let period = period_of(zone, from, to)?;
    let loaded = find_scheme(svc, scheme_name).await?;
    // The overview's packs (no rows) read the metered facts only for a scheme that judges a
    // metered figure: judged on registers alone, a space needs none of its sessions (at a
    // district-year, 20 spaces' sessions were 10 of the overview's 11 seconds). Their
    // `utilization` is then all zero, and the overview does not show it.
    let metered = loaded.scheme.criteria.iter().any(|c| c.metric.source_kind() == SourceKind::Metered);
    // The rows behind a metered criterion are the sessions and bookings themselves: read raw.
    // Otherwise the figures come from the day parts by resource (the roll-up where it serves),
    // folded once for the year and, for the charts, once by month.
    let (facts, names, day_parts) = if with_rows && metered {
        let (facts, names) = facts_of(svc, &space, zone, &period, now).await?;
        let parts = report::day_parts(&facts, &period, GroupBy::Resource);
        (facts, names, parts)
    } else if with_rows || metered {
        let read = parts_of(svc, &space, zone, &period, GroupBy::Resource, now, source).await?;
        (read.facts, read.names, read.parts)
    } else {
        (report::Facts::default(), std::collections::HashMap::new(), report::Parts::default())
    };
    let whole_only = report::Parts { groups: Vec::new(), whole: day_parts.whole.clone() };
    let figures = report::fold(&whole_only, &facts, &period, BucketSize::Year, true).whole.total;

    let (residency_rows, area_rows, event_rows, document_rows, head) = tokio::try_join!(
        svc.db.residencies(&space.id),
        svc.db.area_parts(&space.id),
        svc.db.events_of(&space.id),
        svc.db.documents_of(&space.id),
        svc.db.ledger_head(),
    )?;
    let parse_day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let residencies: Vec<Residency> = residency_rows
        .iter()
        .filter_map(|r| {
            Some(Residency {
                id: r.id.clone(),
                organisation: r.organisation_id.clone(),
                starts_on: parse_day(&r.starts_on)?,
                ends_on: r.ends_on.as_deref().and_then(parse_day),
            })
        })
        .collect();
    let in_period: Vec<&Residency> = residencies
        .iter()
        .filter(|r| r.starts_on <= period.last && r.ends_on.is_none_or(|e| e >= period.first))
        .collect();
    let residents = resident_figures(&residencies, period.first, period.last);
    let short: Vec<&&Residency> = in_period
        .iter()
        .filter(|r| {
            r.ends_on.is_some_and(|e| e >= period.first && e <= period.last) && !r.lasted_months(3, period.last)
        })
        .collect();
    let period_end = period.interval.end() - 1;
    // The plan as it stood at the period's end; a part recorded later (a plan written down
    // after the fact) counts as recorded, and its ledger entry shows when that was.
    let parts: Vec<AreaPart> = area_rows
        .iter()
        .map(|a| AreaPart {
            area_m2: a.area_m2,
            use_class: UseClass::from_db(&a.use_class).unwrap_or(UseClass::Other),
            ended_at: a.ended_at,
        })
        .collect();
    let area = area_figures(&parts, period_end);
    let live_parts: Vec<&crate::store::registers::AreaPartRow> =
        area_rows.iter().filter(|a| a.ended_at.is_none_or(|e| e > period_end)).collect();
    let events_in: Vec<&crate::store::registers::EventRow> = event_rows
        .iter()
        .filter(|e| e.cancelled_at.is_none() && period.interval.contains_instant(e.starts_at))
        .collect();
    let events = event_figures(
        &event_rows
            .iter()
            .map(|e| EventFacts {
                role: crate::domain::registers::EventRole::from_db(&e.role).unwrap_or(EventRole::Host),
                starts_at: e.starts_at,
                cancelled: e.cancelled_at.is_some(),
                checked_in: u64::try_from(e.checked_in).unwrap_or(0),
                attested: e.attested_at.and(e.attendance_entered).and_then(|n| u64::try_from(n).ok()),
            })
            .collect::<Vec<_>>(),
        period.interval.start(),
        period.interval.end(),
    );
    // Documents attest what they attest whenever they were attached: every one not withdrawn.
    let live_docs: Vec<&crate::store::registers::DocumentRow> =
        document_rows.iter().filter(|d| d.withdrawn_at.is_none()).collect();
    let first_residency = residencies.iter().map(|r| r.starts_on).min();
    let created = utc_to_local(zone.tz(), space_created_at(svc, &space).await?).date_naive();
    let started = first_residency.map_or(created, |f| f.min(created));

    // The rows behind each kind of figure.
    let unit_kind: std::collections::HashMap<&crate::domain::ids::UnitId, ResourceKind> =
        facts.units.iter().map(|u| (&u.unit, u.kind)).collect();
    let sessions_of = |kind: Option<ResourceKind>| -> Vec<(&'static str, String)> {
        facts
            .sessions
            .iter()
            .filter(|s| s.span.overlaps(&period.interval))
            .filter(|s| kind.is_none_or(|k| unit_kind.get(&s.unit) == Some(&k)))
            .map(|s| ("sessions", s.id.clone()))
            .collect()
    };
    let count = |n: u64| Some(n as f64);
    let mut judged = Vec::new();
    for c in &loaded.scheme.criteria {
        let (value, rows): (Option<f64>, Vec<(&'static str, String)>) = match c.metric {
            Metric::OperatingMonths => (Some(f64::from(whole_months(started, period.last))), {
                let mut r = vec![("spaces", space.id.as_str().to_owned())];
                if let Some(first) = residencies.iter().min_by_key(|r| r.starts_on) {
                    r.push(("residencies", first.id.clone()));
                }
                r
            }),
            Metric::AreaTotalM2 | Metric::MakerUseShare => (
                if c.metric == Metric::AreaTotalM2 { Some(area.total_m2) } else { area.maker_use_share },
                live_parts.iter().map(|a| ("area_parts", a.id.clone())).collect(),
            ),
            Metric::ResidentsInPeriod
            | Metric::ResidentsAtEnd
            | Metric::Residents3Months
            | Metric::NewResidents
            | Metric::ResidentOrganisationMonths
            | Metric::StaysPast24Months => (
                count(match c.metric {
                    Metric::ResidentsInPeriod => residents.residents_in_period,
                    Metric::ResidentsAtEnd => residents.residents_at_end,
                    Metric::Residents3Months => residents.residents_3_months,
                    Metric::NewResidents => residents.new_residents,
                    Metric::ResidentOrganisationMonths => residents.resident_organisation_months,
                    _ => residents.stays_past_24_months,
                }),
                in_period.iter().map(|r| ("residencies", r.id.clone())).collect(),
            ),
            Metric::ResidentsShort => {
                (count(short.len() as u64), short.iter().map(|r| ("residencies", r.id.clone())).collect())
            }
            Metric::Events
            | Metric::EventsHosted
            | Metric::EventsCoOrganised
            | Metric::EventAttendanceMetered
            | Metric::EventAttendanceAttested => (
                count(match c.metric {
                    Metric::Events => events.events,
                    Metric::EventsHosted => events.hosted,
                    Metric::EventsCoOrganised => events.co_organised,
                    Metric::EventAttendanceMetered => events.attendance_metered,
                    _ => events.attendance_attested,
                }),
                events_in.iter().map(|e| ("events", e.id.clone())).collect(),
            ),
            Metric::Utilization => (figures.utilization, sessions_of(None)),
            Metric::UsedHours => (Some(figures.used_hours), sessions_of(None)),
            Metric::MakersServed => (count(figures.makers), sessions_of(None)),
            Metric::Sessions => (count(figures.sessions), sessions_of(None)),
            Metric::SeatDayRate => (figures.seat_day_rate, sessions_of(Some(ResourceKind::BroadbandSeat))),
            Metric::Occupancy | Metric::RoomNightsOccupied => (
                if c.metric == Metric::Occupancy { figures.occupancy } else { count(figures.room_nights_occupied) },
                sessions_of(Some(ResourceKind::InnRoom)),
            ),
            Metric::NoShowRate => (
                figures.no_show_rate,
                facts
                    .bookings
                    .iter()
                    .filter(|b| b.status == BookingStatus::NoShow && period.interval.contains_instant(b.span.start()))
                    .map(|b| ("bookings", b.id.as_str().to_owned()))
                    .collect(),
            ),
            Metric::DocumentsLease
            | Metric::DocumentsBusinessLicence
            | Metric::DocumentsFinancingAgreement
            | Metric::DocumentsFloorPlan
            | Metric::DocumentsOther => {
                let kind = c.metric.as_str().trim_start_matches("documents_");
                let docs: Vec<(&'static str, String)> =
                    live_docs.iter().filter(|d| d.kind == kind).map(|d| ("documents", d.id.clone())).collect();
                (count(docs.len() as u64), docs)
            }
        };
        judged.push((c, value, if with_rows { rows } else { Vec::new() }));
    }
    let subjects: Vec<&str> = judged.iter().flat_map(|(_, _, rows)| rows.iter().map(|(_, id)| id.as_str())).collect();
    let entries = svc.db.latest_entries(&subjects).await?;
    let criteria: Vec<CriterionResult> = judged
        .into_iter()
        .map(|(c, value, rows)| CriterionResult {
            id: c.id.clone(),
            label_zh: c.label_zh.clone(),
            label_en: c.label_en.clone(),
            metric: c.metric.as_str().into(),
            comparison: c.comparison.clone(),
            threshold: c.threshold,
            value,
            status: scheme::judge(c, value),
            source_kind: if c.attested { SourceKind::Attested } else { c.metric.source_kind() },
            rows: rows
                .into_iter()
                .map(|(table, id)| {
                    let e = entries.get(&id);
                    RowRef { table, ledger_seq: e.map(|e| e.0), ledger_hash: e.map(|e| e.1.clone()), id }
                })
                .collect(),
        })
        .collect();
    let tally = |s: Status| criteria.iter().filter(|c| c.status == s).count();
    let chart_source = if with_rows {
        let mut names = names;
        names
            .insert("space".into(), super::reports::GroupName { zh: space.name_zh.clone(), en: space.name_en.clone() });
        let u = super::reports::Utilization {
            space: space.clone(),
            zone,
            period,
            bucket: BucketSize::Month,
            by: GroupBy::Resource,
            report: report::fold(&day_parts, &facts, &period, BucketSize::Month, true),
            names,
            names_shown: false,
            generated_at: now,
            rollup_days: 0,
        };
        Some(std::sync::Arc::new(u))
    } else {
        None
    };
    Ok(Pack {
        format: PACK_FORMAT,
        space: PackSpace {
            slug: space.slug.clone(),
            name_zh: space.name_zh.clone(),
            name_en: space.name_en.clone(),
            timezone: space.timezone.clone(),
        },
        scheme: pack_scheme(&loaded),
        from: period.first.to_string(),
        to: period.last.to_string(),
        generated_at: crate::clock::rfc3339(now),
        ledger_head: PackHead { count: head.0, hash: head.1 },
        met: tally(Status::Met),
        not_met: tally(Status::NotMet),
        attested_only: tally(Status::AttestedOnly),
        criteria,
        documents: live_docs
            .iter()
            .map(|d| PackDocument {
                id: d.id.clone(),
                kind: d.kind.clone(),
                title: d.title.clone(),
                file_name: d.file_name.clone(),
                size_bytes: d.size_bytes,
                sha256: d.sha256.clone(),
            })
            .collect(),
        utilization: figures,
        residents,
        area,
        events,
        log: None,
        chart_source,
    })
}

async fn space_created_at(svc: &Services, space: &SpaceRow) -> ServiceResult<i64> {
    Ok(svc.db.space_created_at(&space.id).await?)
}

/// The pack as a ZIP: `pack.json`, `rows.csv` (every criterion's rows), `documents.csv`
/// (name, kind, size, SHA-256), the charts (`charts/*.svg`) and `manifest.json` (the SHA-256
/// of every other file). Entries
/// are written in a fixed order with a fixed time, so the same pack gives the same bytes.
///
/// # Errors
/// [`Code::Internal`] if writing fails.
pub fn pack_zip(pack: &Pack) -> ServiceResult<Vec<u8>> {
    use std::io::Write;
    let internal = |e: &dyn std::fmt::Display| ServiceError::internal(anyhow::anyhow!("zip: {e}"));
    let json = serde_json::to_vec_pretty(pack).map_err(|e| internal(&e))?;
    let mut rows = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![0xEF, 0xBB, 0xBF]);
    rows.write_record(["criterion", "status", "source_kind", "table", "id", "ledger_seq", "ledger_hash"])
        .map_err(|e| internal(&e))?;
    for c in &pack.criteria {
        for r in &c.rows {
            rows.write_record([
                c.id.as_str(),
                c.status.as_str(),
                c.source_kind.as_str(),
                r.table,
                r.id.as_str(),
                &r.ledger_seq.map(|s| s.to_string()).unwrap_or_default(),
                r.ledger_hash.as_deref().unwrap_or_default(),
            ])
            .map_err(|e| internal(&e))?;
        }
    }
    let rows = rows.into_inner().map_err(|e| internal(&e))?;
    let mut docs = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![0xEF, 0xBB, 0xBF]);
    docs.write_record(["id", "kind", "title", "file_name", "size_bytes", "sha256"]).map_err(|e| internal(&e))?;
    for d in &pack.documents {
        docs.write_record([&d.id, &d.kind, &d.title, &d.file_name, &d.size_bytes.to_string(), &d.sha256])
            .map_err(|e| internal(&e))?;
    }
    let docs = docs.into_inner().map_err(|e| internal(&e))?;
    let mut files: Vec<(&str, Vec<u8>)> = vec![("pack.json", json), ("rows.csv", rows), ("documents.csv", docs)];
    if let Some(log) = &pack.log {
        files.push(("checkpoint.txt", log.checkpoint.note.clone().into_bytes()));
    }
    files.extend(pack.charts("zh")?.into_iter().map(|(name, svg)| (name, svg.into_bytes())));
    let manifest: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, bytes)| {
            serde_json::json!({"file": name, "bytes": bytes.len(), "sha256": crate::domain::hex(&Sha256::digest(bytes))})
        })
        .collect();
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({"format": PACK_FORMAT, "files": manifest}))
        .map_err(|e| internal(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in files.iter().map(|(n, b)| (*n, b.as_slice())).chain([("manifest.json", manifest.as_slice())]) {
        zip.start_file(name, options).map_err(|e| internal(&e))?;
        zip.write_all(bytes).map_err(|e| internal(&e))?;
    }
    Ok(zip.finish().map_err(|e| internal(&e))?.into_inner())
}

/// A difference between a pack and the database today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub what: String,
}

/// Checks a pack (its `pack.json`) against the database: the scheme is still the same file,
/// every row it cites is there with the same latest ledger entry (a later entry means the row
/// changed after the pack was made), and recomputing the pack as of its time gives the same
/// values. Returns every difference, in words; none means the pack holds.
///
/// # Errors
/// [`Code::ValidationFailed`] for a file that is not a pack; store errors.
pub async fn verify_pack(svc: &Services, pack_json: &serde_json::Value) -> ServiceResult<Vec<Difference>> {
    let bad = |m: &str| ServiceError::invalid_field("pack", "invalid_pack", m);
    if pack_json["format"] != PACK_FORMAT {
        return Err(bad("not a labinn evidence pack (format)"));
    }
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned).ok_or_else(|| bad("a field is missing"));
    let slug = s(&pack_json["space"]["slug"])?;
    let sha = s(&pack_json["scheme"]["sha256"])?;
    let generated = crate::domain::calendar::parse_instant("generated_at", &s(&pack_json["generated_at"])?)
        .map_err(|_| bad("generated_at"))?;
    let mut out = Vec::new();
    let space = match super::catalog::find_space(svc, &slug).await {
        Ok(sp) => sp,
        Err(e) if e.code == Code::NotFound => {
            return Ok(vec![Difference { what: format!("the space {slug} is not in this database") }]);
        }
        Err(e) => return Err(e),
    };
    if !schemes(svc).await?.iter().any(|l| l.sha256 == sha) {
        out.push(Difference { what: format!("the scheme changed: no loaded scheme file has SHA-256 {sha}") });
        return Ok(out);
    }
    // Every cited row, and its latest ledger entry.
    let cited: Vec<(String, String, Option<i64>)> = pack_json["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["rows"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["table"].as_str().unwrap_or("").to_owned(),
                r["id"].as_str().unwrap_or("").to_owned(),
                r["ledger_seq"].as_i64(),
            )
        })
        .collect();
    let ids: Vec<&str> = cited.iter().map(|(_, id, _)| id.as_str()).collect();
    let now_entries = svc.db.latest_entries(&ids).await?;
    let mut reported = std::collections::HashSet::new();
    for (table, id, seq) in &cited {
        if !reported.insert((table.clone(), id.clone())) {
            continue;
        }
        let exists = svc.db.row_exists(table, id).await?;
        if !exists {
            out.push(Difference {
                what: format!("{table} {id} cited by the pack is no longer in the database (removed)"),
            });
            continue;
        }
        let current = now_entries.get(id).map(|e| e.0);
        if current != *seq {
            out.push(Difference {
                what: format!(
                    "{table} {id} was changed after the pack was made: its latest ledger entry is {} (the pack cites {})",
                    current.map_or("none".into(), |c| c.to_string()),
                    seq.map_or("none".into(), |c| c.to_string())
                ),
            });
        }
    }
    // The values, recomputed as of the pack's time.
    let reader = SpaceReader::for_verification(space);
    // From the facts alone, never the roll-up: a roll-up fault shows as a difference.
    let again =
        pack_with(svc, &reader, &sha, &s(&pack_json["from"])?, &s(&pack_json["to"])?, generated, true, Source::Raw)
            .await?;
    for c in &again.criteria {
        let old = pack_json["criteria"].as_array().into_iter().flatten().find(|x| x["id"] == c.id.as_str());
        let old_value = old.and_then(|o| o["value"].as_f64());
        let old_status = old.and_then(|o| o["status"].as_str()).unwrap_or("");
        if old_value != c.value || old_status != c.status.as_str() {
            out.push(Difference {
                what: format!(
                    "criterion {}: the pack says {} ({old_status}), the database now gives {} ({})",
                    c.id,
                    old_value.map_or("no value".into(), |v| v.to_string()),
                    c.value.map_or("no value".into(), |v| v.to_string()),
                    c.status.as_str()
                ),
            });
        }
    }
    Ok(out)
}

/// [`pack`] for `labinn evidence`: whoever holds the database's address reads it whole.
///
/// # Errors
/// As [`pack`]; [`Code::NotFound`] for an unknown space.
pub async fn pack_of_space(
    svc: &Services,
    slug: &str,
    scheme_name: &str,
    from: &str,
    to: &str,
    now: i64,
) -> ServiceResult<Pack> {
    let space = super::catalog::find_space(svc, slug).await?;
    pack_to_keep(svc, &SpaceReader::for_verification(space), scheme_name, from, to, now).await
}

/// One space in the district overview: its pack's outcomes, without the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewSpace {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub met: usize,
    pub not_met: usize,
    pub attested_only: usize,
    /// Each criterion's id, value and status, in the scheme's order.
    pub criteria: Vec<OverviewCriterion>,
}

/// A criterion of a space in the district overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewCriterion {
    pub id: String,
    pub value: Option<f64>,
    pub status: Status,
}

/// The district side by side: every space that is not archived, judged against one scheme
/// over one period, sorted by `sort` (`met`, the default: most criteria met first; `name`;
/// or a criterion's id: highest value first), ties by slug. Reviewers and admins.
///
/// # Errors
/// [`Code::Forbidden`] for anyone else; as [`pack`].
pub async fn overview(
    svc: &Services,
    who: &super::Identity,
    scheme_name: &str,
    from: &str,
    to: &str,
    sort: Option<&str>,
    now: i64,
) -> ServiceResult<(PackScheme, Vec<OverviewSpace>)> {
    if who.reviewer().is_none() && who.admin().is_none() {
        return Err(ServiceError::forbidden("the district overview is for reviewers and admins"));
    }
    let loaded = find_scheme(svc, scheme_name).await?;
    let sort = sort.unwrap_or("met");
    if !["met", "name"].contains(&sort) && !loaded.scheme.criteria.iter().any(|c| c.id == sort) {
        return Err(ServiceError::invalid_field("sort", "invalid_choice", "must be met, name or a criterion's id"));
    }
    let mut out = Vec::new();
    for space in svc.db.spaces(false).await? {
        let reader = who.reader_of(space).ok_or_else(|| ServiceError::forbidden("reviewers read every space"))?;
        let p = pack_with(svc, &reader, &loaded.sha256, from, to, now, false, Source::Auto).await?;
        out.push(OverviewSpace {
            slug: p.space.slug,
            name_zh: p.space.name_zh,
            name_en: p.space.name_en,
            met: p.met,
            not_met: p.not_met,
            attested_only: p.attested_only,
            criteria: p
                .criteria
                .iter()
                .map(|c| OverviewCriterion { id: c.id.clone(), value: c.value, status: c.status })
                .collect(),
        });
    }
    let value_of =
        |s: &OverviewSpace| s.criteria.iter().find(|c| c.id == sort).and_then(|c| c.value).unwrap_or(f64::NEG_INFINITY);
    out.sort_by(|a, b| match sort {
        "met" => b.met.cmp(&a.met).then_with(|| a.slug.cmp(&b.slug)),
        "name" => a.slug.cmp(&b.slug),
        _ => value_of(b).total_cmp(&value_of(a)).then_with(|| a.slug.cmp(&b.slug)),
    });
    Ok((pack_scheme(&loaded), out))
}
