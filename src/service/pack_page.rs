//! The evidence pack as one printable HTML page (A4 print styles), Chinese by default and
//! English with `lang=en`: the outcome of each criterion, the figures it was judged on, the
//! charts, the documents, the first rows behind each criterion, and how to check the pack.
//! The API (`format=html`) and `labinn evidence --format html` both write it.

use super::evidence::Pack;
use super::{ServiceError, ServiceResult};
use crate::domain::scheme::{Metric, SourceKind, Status};
use askama::Template;

/// How many rows of each criterion the page lists; the ZIP's `rows.csv` has them all.
pub const ROWS_SHOWN: usize = 25;

struct Words {
    html_lang: &'static str,
    title: &'static str,
    scheme: &'static str,
    period: &'static str,
    generated: &'static str,
    zone: &'static str,
    ledger_head: &'static str,
    scheme_hash: &'static str,
    met: &'static str,
    not_met: &'static str,
    attested_only: &'static str,
    criteria: &'static str,
    criterion: &'static str,
    threshold: &'static str,
    value: &'static str,
    outcome: &'static str,
    source: &'static str,
    rows: &'static str,
    figures: &'static str,
    charts: &'static str,
    documents: &'static str,
    no_documents: &'static str,
    doc_kind: &'static str,
    doc_title: &'static str,
    doc_size: &'static str,
    rows_behind: &'static str,
    rows_more: &'static str,
    no_rows: &'static str,
    table: &'static str,
    ledger_entry: &'static str,
    check: &'static str,
    check_text: &'static str,
    print: &'static str,
}

const ZH: Words = Words {
    html_lang: "zh-CN",
    title: "补贴证据包",
    scheme: "评价办法",
    period: "统计期间",
    generated: "生成时间",
    zone: "时区",
    ledger_head: "台账头（条数 / 哈希）",
    scheme_hash: "办法文件 SHA-256",
    met: "达标",
    not_met: "未达标",
    attested_only: "仅有书面材料",
    criteria: "各项条件",
    criterion: "条件",
    threshold: "要求",
    value: "实测值",
    outcome: "结论",
    source: "来源",
    rows: "依据条数",
    figures: "计算所依据的数字",
    charts: "图表",
    documents: "书面材料（仅作声明，不计为实测）",
    no_documents: "没有上传书面材料。",
    doc_kind: "类别",
    doc_title: "名称",
    doc_size: "大小（字节）",
    rows_behind: "各项条件所依据的记录",
    rows_more: "另有 {n} 条，见 ZIP 中的 rows.csv。",
    no_rows: "没有记录。",
    table: "表",
    ledger_entry: "台账条目（序号 / 哈希）",
    check: "如何核验本证据包",
    check_text: "下载同一证据包的 ZIP（format=zip），用 labinn verify-pack 文件名 --database-url … 针对数据库重新计算：任何在生成之后被修改的签到记录、被删除的入驻团队或被更改的办法，都会被逐条列出。manifest.json 记录了 ZIP 中每个文件的 SHA-256。",
    print: "打印本页",
};

const EN: Words = Words {
    html_lang: "en",
    title: "Subsidy evidence pack",
    scheme: "Scheme",
    period: "Period",
    generated: "Generated",
    zone: "Time zone",
    ledger_head: "Ledger head (entries / hash)",
    scheme_hash: "Scheme file SHA-256",
    met: "met",
    not_met: "not met",
    attested_only: "attested only",
    criteria: "Criteria",
    criterion: "Criterion",
    threshold: "Required",
    value: "Measured",
    outcome: "Outcome",
    source: "Source",
    rows: "Rows",
    figures: "The figures the criteria were judged on",
    charts: "Charts",
    documents: "Documents (attested, never counted as measured)",
    no_documents: "No documents were attached.",
    doc_kind: "Kind",
    doc_title: "Title",
    doc_size: "Size (bytes)",
    rows_behind: "The rows behind each criterion",
    rows_more: "{n} more: see rows.csv in the ZIP.",
    no_rows: "No rows.",
    table: "Table",
    ledger_entry: "Ledger entry (seq / hash)",
    check: "How to check this pack",
    check_text: "Download the same pack as a ZIP (format=zip) and run labinn verify-pack FILE --database-url … against the database: it recomputes the pack and names every difference, such as a session edited after the pack was made, a resident removed, or a changed scheme. manifest.json holds the SHA-256 of every file in the ZIP.",
    print: "Print this page",
};

struct CriterionView {
    label: String,
    threshold: String,
    value: String,
    status_class: &'static str,
    status: &'static str,
    source: &'static str,
    row_count: usize,
}

struct RowView {
    table: &'static str,
    id: String,
    entry: String,
}

struct RowsView {
    label: String,
    rows: Vec<RowView>,
    more: String,
}

struct DocView {
    kind: String,
    title: String,
    size: i64,
    sha256: String,
}

#[derive(Template)]
#[template(path = "pack.html")]
struct PackPage<'a> {
    w: &'a Words,
    space: String,
    scheme: String,
    scheme_source: String,
    scheme_hash: String,
    period: String,
    generated: String,
    zone: String,
    head: String,
    met: usize,
    not_met: usize,
    attested_only: usize,
    criteria: Vec<CriterionView>,
    figures: Vec<(String, String)>,
    charts: Vec<String>,
    documents: Vec<DocView>,
    rows: Vec<RowsView>,
}

/// A value as the page shows it: shares as a percentage with one decimal, other values
/// with at most two decimals and no trailing zeros.
fn shown(metric: Option<Metric>, v: f64) -> String {
    if metric.is_some_and(Metric::is_share) {
        return format!("{:.1} %", v * 100.0);
    }
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A comparison as printed: `≥`, `≤`, `>`, `<`, `=`.
fn sign(comparison: &str) -> &str {
    match comparison {
        ">=" => "≥",
        "<=" => "≤",
        "==" => "=",
        other => other,
    }
}

fn status_words(w: &Words, s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Met => ("met", w.met),
        Status::NotMet => ("not-met", w.not_met),
        Status::AttestedOnly => ("attested", w.attested_only),
    }
}

fn source_words(zh: bool, s: SourceKind) -> &'static str {
    match (s, zh) {
        (SourceKind::Metered, true) => "计量（门禁签到）",
        (SourceKind::Recorded, true) => "登记",
        (SourceKind::Attested, true) => "书面材料",
        (SourceKind::Metered, false) => "metered",
        (SourceKind::Recorded, false) => "recorded",
        (SourceKind::Attested, false) => "attested",
    }
}

fn doc_kind_words(zh: bool, kind: &str) -> &str {
    match (kind, zh) {
        ("lease", true) => "租赁合同",
        ("business_licence", true) => "营业执照",
        ("financing_agreement", true) => "融资协议",
        ("floor_plan", true) => "平面图",
        ("other", true) => "其他",
        ("business_licence", false) => "business licence",
        ("financing_agreement", false) => "financing agreement",
        ("floor_plan", false) => "floor plan",
        _ => kind,
    }
}

/// The figures shown under "the figures the criteria were judged on", labelled in `zh` or
/// English. Each is defined in the README's glossary.
fn figures(pack: &Pack, zh: bool) -> Vec<(String, String)> {
    let u = &pack.utilization;
    let pct = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| format!("{:.1} %", v * 100.0));
    let num = |v: f64| shown(None, v);
    let rows: [(&str, &str, String); 17] = [
        ("开放小时", "Open hours", u.open_hours.map_or_else(|| "—".into(), num)),
        ("预约小时", "Booked hours", num(u.booked_hours)),
        ("使用小时", "Used hours", num(u.used_hours)),
        ("利用率", "Utilization", pct(u.utilization)),
        ("签到次数", "Sessions", u.sessions.to_string()),
        ("服务创客人数", "Makers served", u.makers.to_string()),
        ("未到率", "No-show rate", pct(u.no_show_rate)),
        ("工位日使用率", "Seat-day rate", pct(u.seat_day_rate)),
        ("客房入住率", "Room occupancy", pct(u.occupancy)),
        ("入住间夜", "Room-nights occupied", u.room_nights_occupied.to_string()),
        ("期末入驻团队", "Residents at the end", pack.residents.residents_at_end.to_string()),
        ("期间入驻团队", "Residents in the period", pack.residents.residents_in_period.to_string()),
        ("总面积（m²）", "Floor area (m²)", num(pack.area.total_m2)),
        ("创客使用面积占比", "Maker-use share of the area", pct(pack.area.maker_use_share)),
        ("活动场次", "Events", pack.events.events.to_string()),
        ("活动签到人次（计量）", "Event attendance (metered)", pack.events.attendance_metered.to_string()),
        ("活动人数（书面）", "Event attendance (attested)", pack.events.attendance_attested.to_string()),
    ];
    rows.into_iter().map(|(z, e, v)| (if zh { z } else { e }.to_string(), v)).collect()
}

/// The pack as a printable HTML page in `lang` (`en`, or Chinese for anything else).
///
/// # Errors
/// [`super::Code::Internal`] if drawing a chart or rendering fails.
pub fn pack_html(pack: &Pack, lang: &str) -> ServiceResult<String> {
    let zh = lang != "en";
    let w = if zh { &ZH } else { &EN };
    let label = |z: &str, e: &str| if zh { z.to_string() } else { e.to_string() };
    let criteria = pack
        .criteria
        .iter()
        .map(|c| {
            let metric = Metric::from_db(&c.metric);
            let (status_class, status) = status_words(w, c.status);
            CriterionView {
                label: label(&c.label_zh, &c.label_en),
                threshold: format!("{} {}", sign(&c.comparison), shown(metric, c.threshold)),
                value: c.value.map_or_else(|| "—".into(), |v| shown(metric, v)),
                status_class,
                status,
                source: source_words(zh, c.source_kind),
                row_count: c.rows.len(),
            }
        })
        .collect();
    let rows = pack
        .criteria
        .iter()
        .map(|c| RowsView {
            label: label(&c.label_zh, &c.label_en),
            rows: c
                .rows
                .iter()
                .take(ROWS_SHOWN)
                .map(|r| RowView {
                    table: r.table,
                    id: r.id.clone(),
                    entry: match (r.ledger_seq, r.ledger_hash.as_deref()) {
                        (Some(seq), Some(hash)) => format!("{seq} / {hash}"),
                        _ => "—".into(),
                    },
                })
                .collect(),
            more: if c.rows.len() > ROWS_SHOWN {
                w.rows_more.replace("{n}", &(c.rows.len() - ROWS_SHOWN).to_string())
            } else {
                String::new()
            },
        })
        .collect();
    let page = PackPage {
        w,
        space: label(&pack.space.name_zh, &pack.space.name_en),
        scheme: format!("{} ({})", label(&pack.scheme.name_zh, &pack.scheme.name_en), pack.scheme.version),
        scheme_source: pack.scheme.source.clone(),
        scheme_hash: pack.scheme.sha256.clone(),
        period: format!("{} – {}", pack.from, pack.to),
        generated: pack.generated_at.clone(),
        zone: pack.space.timezone.clone(),
        head: format!("{} / {}", pack.ledger_head.count, pack.ledger_head.hash),
        met: pack.met,
        not_met: pack.not_met,
        attested_only: pack.attested_only,
        criteria,
        figures: figures(pack, zh),
        charts: pack.charts(if zh { "zh" } else { "en" })?.into_iter().map(|(_, svg)| svg).collect(),
        documents: pack
            .documents
            .iter()
            .map(|d| DocView {
                kind: doc_kind_words(zh, &d.kind).to_string(),
                title: d.title.clone(),
                size: d.size_bytes,
                sha256: d.sha256.clone(),
            })
            .collect(),
        rows,
    };
    page.render().map_err(|e| ServiceError::internal(anyhow::anyhow!("pack page: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_percentages_and_counts_lose_their_trailing_zeros() {
        assert_eq!(shown(Some(Metric::MakerUseShare), 0.75), "75.0 %");
        assert_eq!(shown(Some(Metric::Events), 12.0), "12");
        assert_eq!(shown(Some(Metric::UsedHours), 12.5), "12.5");
        assert_eq!(shown(None, 1234.567), "1234.57");
    }
}
