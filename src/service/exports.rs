//! Reports as files: CSV (UTF-8 with a byte-order mark, so that Excel reads the Chinese;
//! RFC 4180 quoting by the csv crate) and XLSX (rust_xlsxwriter: headers in the reader's
//! language, number and percent formats, one sheet per grouping). The API and the CLI write
//! the same bytes through these functions.

use super::reports::Utilization;
use super::{ServiceError, ServiceResult};
use crate::domain::report::Figures;

/// One cell of a report row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Hours(Option<f64>),
    Ratio(Option<f64>),
    Count(u64),
    /// Minor units of the currency (fen).
    Money(i64),
}

/// One column of a report: its field name (as in the JSON), its headers, its value.
pub struct Column {
    pub field: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub get: fn(&Figures) -> Cell,
}

/// Every figure of a report, in the order files show them. The definitions are next to the
/// fields of [`Figures`] and in the README's glossary.
pub const COLUMNS: &[Column] = &[
    Column { field: "open_hours", zh: "开放小时", en: "Open hours", get: |f| Cell::Hours(f.open_hours) },
    Column {
        field: "booked_hours", zh: "预约小时", en: "Booked hours", get: |f| Cell::Hours(Some(f.booked_hours))
    },
    Column { field: "used_hours", zh: "使用小时", en: "Used hours", get: |f| Cell::Hours(Some(f.used_hours)) },
    Column { field: "utilization", zh: "使用率", en: "Utilization", get: |f| Cell::Ratio(f.utilization) },
    Column { field: "booked_share", zh: "预约率", en: "Booked share", get: |f| Cell::Ratio(f.booked_share) },
    Column { field: "show_rate", zh: "到场率（时长）", en: "Show rate", get: |f| Cell::Ratio(f.show_rate) },
    Column { field: "bookings", zh: "预约数", en: "Bookings", get: |f| Cell::Count(f.bookings) },
    Column { field: "checked_in", zh: "签到数", en: "Checked in", get: |f| Cell::Count(f.checked_in) },
    Column { field: "check_in_rate", zh: "签到率", en: "Check-in rate", get: |f| Cell::Ratio(f.check_in_rate) },
    Column { field: "no_shows", zh: "爽约数", en: "No-shows", get: |f| Cell::Count(f.no_shows) },
    Column { field: "no_show_rate", zh: "爽约率", en: "No-show rate", get: |f| Cell::Ratio(f.no_show_rate) },
    Column { field: "cancellations", zh: "取消数", en: "Cancellations", get: |f| Cell::Count(f.cancellations) },
    Column {
        field: "late_cancellations",
        zh: "24小时内取消",
        en: "Late cancellations",
        get: |f| Cell::Count(f.late_cancellations),
    },
    Column {
        field: "cancellation_lead_hours_median",
        zh: "取消提前时长中位数（小时）",
        en: "Median cancellation lead (h)",
        get: |f| Cell::Hours(f.cancellation_lead_hours_median),
    },
    Column {
        field: "overstay_hours",
        zh: "超时小时",
        en: "Overstay hours",
        get: |f| Cell::Hours(Some(f.overstay_hours)),
    },
    Column { field: "sessions", zh: "使用次数", en: "Sessions", get: |f| Cell::Count(f.sessions) },
    Column { field: "walk_ups", zh: "现场使用次数", en: "Walk-ups", get: |f| Cell::Count(f.walk_ups) },
    Column {
        field: "walk_up_share", zh: "现场使用占比", en: "Walk-up share", get: |f| Cell::Ratio(f.walk_up_share)
    },
    Column { field: "makers", zh: "服务创客数", en: "Makers served", get: |f| Cell::Count(f.makers) },
    Column { field: "new_makers", zh: "新创客", en: "New makers", get: |f| Cell::Count(f.new_makers) },
    Column {
        field: "returning_makers",
        zh: "回访创客",
        en: "Returning makers",
        get: |f| Cell::Count(f.returning_makers),
    },
    Column {
        field: "organisations",
        zh: "服务团队数",
        en: "Organisations served",
        get: |f| Cell::Count(f.organisations),
    },
    Column {
        field: "peak_concurrent",
        zh: "峰值同时使用",
        en: "Peak concurrent",
        get: |f| Cell::Count(f.peak_concurrent),
    },
    Column {
        field: "seat_days_open",
        zh: "工位开放天数",
        en: "Seat-days open",
        get: |f| Cell::Count(f.seat_days_open),
    },
    Column {
        field: "seat_days_used",
        zh: "工位使用天数",
        en: "Seat-days used",
        get: |f| Cell::Count(f.seat_days_used),
    },
    Column {
        field: "seat_day_rate", zh: "工位使用率", en: "Seat-day rate", get: |f| Cell::Ratio(f.seat_day_rate)
    },
    Column {
        field: "room_nights_available",
        zh: "可住间夜",
        en: "Room-nights available",
        get: |f| Cell::Count(f.room_nights_available),
    },
    Column {
        field: "room_nights_occupied",
        zh: "入住间夜",
        en: "Room-nights occupied",
        get: |f| Cell::Count(f.room_nights_occupied),
    },
    Column { field: "occupancy", zh: "入住率", en: "Occupancy", get: |f| Cell::Ratio(f.occupancy) },
    Column {
        field: "nights_by_verified_makers",
        zh: "认证创客间夜",
        en: "Nights by verified makers",
        get: |f| Cell::Count(f.nights_by_verified_makers),
    },
    Column { field: "stays", zh: "入住次数", en: "Stays", get: |f| Cell::Count(f.stays) },
    Column {
        field: "average_stay_nights",
        zh: "平均入住晚数",
        en: "Average stay (nights)",
        get: |f| Cell::Hours(f.average_stay_nights),
    },
    Column {
        field: "subsidised_value_minor",
        zh: "优惠间夜价值（分）",
        en: "Subsidised nights' value (minor units)",
        get: |f| Cell::Money(f.subsidised_value_minor),
    },
];

/// English when `lang` says so, else Chinese.
fn en(lang: &str) -> bool {
    lang.starts_with("en")
}

const LEAD: [(&str, &str); 5] =
    [("分组键", "Group key"), ("分组", "Group"), ("时段", "Bucket"), ("起始日期", "From"), ("结束日期", "To")];

/// The rows of a report: each group's buckets and its total, then the space's.
fn rows(u: &Utilization, lang: &str) -> Vec<(Vec<String>, Figures)> {
    let mut out = Vec::new();
    for g in u.report.groups.iter().chain([&u.report.whole]) {
        let name = u.names.get(&g.key).map(|n| if en(lang) { n.en.clone() } else { n.zh.clone() }).unwrap_or_default();
        let key = u.shown_key(&g.key);
        for (b, f) in &g.buckets {
            out.push((
                vec![key.clone(), name.clone(), b.label.clone(), b.first.to_string(), b.last.to_string()],
                f.clone(),
            ));
        }
        out.push((
            vec![key.clone(), name.clone(), "total".into(), u.period.first.to_string(), u.period.last.to_string()],
            g.total.clone(),
        ));
    }
    out
}

fn cell_text(c: Cell) -> String {
    match c {
        Cell::Hours(Some(v)) | Cell::Ratio(Some(v)) => format!("{v}"),
        Cell::Hours(None) | Cell::Ratio(None) => String::new(),
        Cell::Count(n) => n.to_string(),
        Cell::Money(m) => m.to_string(),
    }
}

/// The report as CSV: a byte-order mark, a header row, then one row per group and bucket.
///
/// # Errors
/// [`super::Code::Internal`] if writing to memory fails.
pub fn utilization_csv(u: &Utilization, lang: &str) -> ServiceResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![0xEF, 0xBB, 0xBF]);
    let header: Vec<&str> = LEAD
        .iter()
        .map(|(zh, e)| if en(lang) { *e } else { *zh })
        .chain(COLUMNS.iter().map(|c| if en(lang) { c.en } else { c.zh }))
        .collect();
    w.write_record(&header).map_err(ServiceError::internal)?;
    for (lead, f) in rows(u, lang) {
        let record: Vec<String> = lead.into_iter().chain(COLUMNS.iter().map(|c| cell_text((c.get)(&f)))).collect();
        w.write_record(&record).map_err(ServiceError::internal)?;
    }
    w.into_inner().map_err(|e| ServiceError::internal(anyhow::anyhow!("{e}")))
}

/// The reports of one space for every grouping, as an XLSX workbook with one sheet each.
///
/// # Errors
/// [`super::Code::Internal`] if the workbook cannot be written.
pub fn utilization_xlsx(reports: &[Utilization], lang: &str) -> ServiceResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| ServiceError::internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let hours = Format::new().set_num_format("0.000");
    let percent = Format::new().set_num_format("0.00%");
    let count = Format::new().set_num_format("0");
    for u in reports {
        let sheet = book.add_worksheet();
        let name = super::reports::grouping_name(u.by);
        sheet.set_name(if en(lang) { name.en } else { name.zh }).map_err(x)?;
        let header: Vec<&str> = LEAD
            .iter()
            .map(|(zh, e)| if en(lang) { *e } else { *zh })
            .chain(COLUMNS.iter().map(|c| if en(lang) { c.en } else { c.zh }))
            .collect();
        for (col, h) in header.iter().enumerate() {
            let col = u16::try_from(col).map_err(ServiceError::internal)?;
            sheet.write_string_with_format(0, col, *h, &bold).map_err(x)?;
            sheet.set_column_width(col, if col < 5 { 14 } else { 12 }).map_err(x)?;
        }
        sheet.set_freeze_panes(1, 2).map_err(x)?;
        for (i, (lead, f)) in rows(u, lang).into_iter().enumerate() {
            let row = u32::try_from(i + 1).map_err(ServiceError::internal)?;
            for (col, text) in lead.iter().enumerate() {
                sheet.write_string(row, u16::try_from(col).map_err(ServiceError::internal)?, text).map_err(x)?;
            }
            for (j, c) in COLUMNS.iter().enumerate() {
                let col = u16::try_from(j + LEAD.len()).map_err(ServiceError::internal)?;
                match (c.get)(&f) {
                    Cell::Hours(Some(v)) => sheet.write_number_with_format(row, col, v, &hours).map(|_| ()),
                    Cell::Ratio(Some(v)) => sheet.write_number_with_format(row, col, v, &percent).map(|_| ()),
                    Cell::Hours(None) | Cell::Ratio(None) => Ok(()),
                    Cell::Count(n) => sheet.write_number_with_format(row, col, n as f64, &count).map(|_| ()),
                    Cell::Money(m) => sheet.write_number_with_format(row, col, m as f64, &count).map(|_| ()),
                }
                .map_err(x)?;
            }
        }
    }
    book.save_to_buffer().map_err(x)
}

/// The district overview as CSV (BOM, RFC 4180): a row per space, a value and a status
/// column per criterion.
///
/// # Errors
/// [`super::Code::Internal`] if writing to memory fails.
pub fn overview_csv(scheme: &str, spaces: &[super::evidence::OverviewSpace]) -> ServiceResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![0xEF, 0xBB, 0xBF]);
    let ids: Vec<String> =
        spaces.first().map(|s| s.criteria.iter().map(|c| c.id.clone()).collect()).unwrap_or_default();
    let mut header = vec![
        "scheme".to_owned(),
        "space".into(),
        "name_zh".into(),
        "name_en".into(),
        "met".into(),
        "not_met".into(),
        "attested_only".into(),
    ];
    for id in &ids {
        header.push(format!("{id}.value"));
        header.push(format!("{id}.status"));
    }
    w.write_record(&header).map_err(ServiceError::internal)?;
    for s in spaces {
        let mut row = vec![
            scheme.to_owned(),
            s.slug.clone(),
            s.name_zh.clone(),
            s.name_en.clone(),
            s.met.to_string(),
            s.not_met.to_string(),
            s.attested_only.to_string(),
        ];
        for c in &s.criteria {
            row.push(c.value.map(|v| v.to_string()).unwrap_or_default());
            row.push(c.status.as_str().to_owned());
        }
        w.write_record(&row).map_err(ServiceError::internal)?;
    }
    w.into_inner().map_err(|e| ServiceError::internal(anyhow::anyhow!("{e}")))
}
