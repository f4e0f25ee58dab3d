//! The report as one self-contained HTML page for a committee: tables and two inline SVG charts (volume
//! per month; share within the standards per month), no scripts, no external fonts or images, and a
//! print style. Rendered with minijinja, which escapes every value (the template is named `.html`).

use anyhow::Context;
use feedback_core::Kind;
use serde::Serialize;

use super::{Month, Report, Standard, label};

const TEMPLATE: &str = include_str!("report.html");

/// The chart's drawing area, in SVG user units.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 40.0;

/// The main kinds get their own colour; the rest are stacked together as "other".
const SERIES: [(&str, &str, &str); 4] = [
    ("complaint", "Complaints", "#b2182b"),
    ("comment", "Comments", "#2166ac"),
    ("compliment", "Compliments", "#1b7837"),
    ("other", "Other (redirected)", "#9e9e9e"),
];
const ACK_COLOUR: &str = "#2166ac";
/// The room a month's name needs under its bar; with less, only every few months are named.
const MONTH_LABEL_WIDTH: f64 = 56.0;
/// The room a value needs above its bar; with less, values are left to the month-by-month table.
const VALUE_LABEL_WIDTH: f64 = 22.0;
const REPLY_COLOUR: &str = "#92c5de";

#[derive(Serialize)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    fill: &'static str,
    title: String,
}

#[derive(Serialize)]
struct Text {
    x: f64,
    y: f64,
    text: String,
    anchor: &'static str,
}

#[derive(Serialize)]
struct Grid {
    y: f64,
    label: String,
}

#[derive(Serialize)]
struct Legend {
    name: &'static str,
    colour: &'static str,
}

#[derive(Serialize)]
struct Chart {
    title: &'static str,
    description: String,
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    bars: Vec<Rect>,
    texts: Vec<Text>,
    grid: Vec<Grid>,
    legend: Vec<Legend>,
}

#[derive(Serialize)]
struct Row {
    name: String,
    cells: Vec<usize>,
    total: usize,
}

#[derive(Serialize)]
struct StandardView {
    met: usize,
    missed: usize,
    pending: usize,
    percent: String,
}

#[derive(Serialize)]
struct OutcomeRow {
    stage: String,
    upheld: usize,
    partly_upheld: usize,
    not_upheld: usize,
    total: usize,
    upheld_percent: String,
    partly_percent: String,
    not_percent: String,
}

#[derive(Serialize)]
struct MonthRow {
    month: String,
    counts: Vec<usize>,
    total: usize,
    acknowledged: String,
    answered: String,
}

#[derive(Serialize)]
struct View<'r> {
    report: &'r Report,
    kinds: Vec<String>,
    by_directorate: Vec<Row>,
    by_channel: Vec<Row>,
    kind_totals: Vec<usize>,
    acknowledged: StandardView,
    answered: StandardView,
    answered_later: Vec<(String, StandardView)>,
    outcomes: Vec<OutcomeRow>,
    referrals: Vec<(String, usize)>,
    compensation: String,
    corrected_percent: String,
    wrong_by_field: Vec<(String, usize, String)>,
    by_label: Vec<(String, usize, usize, String)>,
    volume: Chart,
    standards: Chart,
    series: Vec<&'static str>,
    months: Vec<MonthRow>,
}

/// The report as a self-contained HTML page (the console can serve it as it is).
pub fn render_html(report: &Report) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .context("loading the report template")?;
    let template = env
        .get_template("report.html")
        .context("loading the report template")?;
    template
        .render(view(report))
        .context("rendering the report as HTML")
}

fn view(report: &Report) -> View<'_> {
    let kinds: Vec<String> = Kind::ALL
        .iter()
        .filter(|k| {
            matches!(k, Kind::Complaint | Kind::Comment | Kind::Compliment)
                || report.by_kind.contains_key(&label(*k))
        })
        .map(label)
        .collect();
    let rows =
        |table: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>| {
            table
                .iter()
                .map(|(name, counts)| Row {
                    name: match report.names.get(name) {
                        Some(display) => display.clone(),
                        None if name == "none" => "No service identified".into(),
                        None => humanise(name),
                    },
                    cells: kinds
                        .iter()
                        .map(|k| counts.get(k).copied().unwrap_or(0))
                        .collect(),
                    total: counts.values().sum(),
                })
                .collect::<Vec<_>>()
        };
    let outcomes = report
        .outcomes
        .iter()
        .map(|(stage, counts)| {
            let get = |o: &str| counts.get(o).copied().unwrap_or(0);
            let (upheld, partly, not) = (get("upheld"), get("partly_upheld"), get("not_upheld"));
            let total = upheld + partly + not;
            OutcomeRow {
                stage: humanise(stage),
                upheld,
                partly_upheld: partly,
                not_upheld: not,
                total,
                upheld_percent: percent(upheld, total),
                partly_percent: percent(partly, total),
                not_percent: percent(not, total),
            }
        })
        .collect();
    let review = &report.review;
    View {
        kinds: kinds.iter().map(|k| humanise(k)).collect(),
        by_directorate: rows(&report.by_directorate),
        by_channel: rows(&report.by_channel),
        kind_totals: kinds
            .iter()
            .map(|k| report.by_kind.get(k).copied().unwrap_or(0))
            .collect(),
        acknowledged: standard(&report.acknowledged),
        answered: standard(&report.answered),
        answered_later: report
            .answered_later
            .iter()
            .map(|(stage, s)| (humanise(stage), standard(s)))
            .collect(),
        outcomes,
        referrals: report
            .referrals
            .iter()
            .map(|(body, n)| {
                (
                    report
                        .names
                        .get(body)
                        .cloned()
                        .unwrap_or_else(|| body.clone()),
                    *n,
                )
            })
            .collect(),
        compensation: pounds(report.compensation.total_pence),
        corrected_percent: percent(review.corrected, review.reviewed),
        wrong_by_field: review
            .wrong_by_field
            .iter()
            .map(|(field, n)| (humanise(field), *n, percent(*n, review.reviewed)))
            .collect(),
        by_label: review
            .by_label
            .iter()
            .filter(|(_, c)| c.wrong > 0)
            .map(|(name, c)| {
                (
                    name.replacen(':', ": ", 1).replace('_', " "),
                    c.predicted,
                    c.wrong,
                    percent(c.wrong, c.predicted),
                )
            })
            .collect(),
        series: SERIES.iter().map(|(_, name, _)| *name).collect(),
        months: report
            .months
            .iter()
            .map(|m| MonthRow {
                month: month_label(&m.month),
                counts: SERIES
                    .iter()
                    .map(|(kind, _, _)| series_count(m, kind))
                    .collect(),
                total: m.by_kind.values().sum(),
                acknowledged: standard(&m.acknowledged).percent,
                answered: standard(&m.answered).percent,
            })
            .collect(),
        volume: volume_chart(report),
        standards: standards_chart(report),
        report,
    }
}

fn standard(s: &Standard) -> StandardView {
    StandardView {
        met: s.met,
        missed: s.missed,
        pending: s.pending,
        percent: s
            .percent()
            .map_or_else(|| "–".into(), |p| format!("{p:.1}%")),
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// `growth_environment_transport` as `Growth environment transport`.
fn humanise(id: &str) -> String {
    let spaced = id.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Pence as `£1,234.56`.
fn pounds(pence: u64) -> String {
    let pounds = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("£{grouped}.{:02}", pence % 100)
}

/// A month's count of one series: a main kind, or every `other` kind together.
fn series_count(month: &Month, series: &str) -> usize {
    if series == "other" {
        month
            .by_kind
            .iter()
            .filter(|(k, _)| !["complaint", "comment", "compliment"].contains(&k.as_str()))
            .map(|(_, n)| n)
            .sum()
    } else {
        month.by_kind.get(series).copied().unwrap_or(0)
    }
}

/// `2026-09` as `Sep 2026`.
fn month_label(month: &str) -> String {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_or_else(|_| month.to_string(), |d| d.format("%b %Y").to_string())
}

/// A round maximum for the axis, at least `max`.
fn axis_max(max: usize) -> usize {
    let mut step = 1;
    while step * 10 < max {
        step *= 10;
    }
    max.div_ceil(step).max(1) * step
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

fn slots(count: usize) -> (f64, impl Fn(usize) -> f64) {
    let slot = (WIDTH - LEFT - RIGHT) / count.max(1) as f64;
    (slot, move |i: usize| LEFT + slot * i as f64)
}

fn month_texts(report: &Report, slot: f64, start: &impl Fn(usize) -> f64) -> Vec<Text> {
    // INVARIANT: `slot` is positive (`slots` divides a positive width), so `every` is at least 1.
    let every = (MONTH_LABEL_WIDTH / slot).ceil().max(1.0) as usize;
    report
        .months
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, m)| Text {
            x: start(i) + slot / 2.0,
            y: HEIGHT - BOTTOM + 16.0,
            text: month_label(&m.month),
            anchor: "middle",
        })
        .collect()
}

fn volume_chart(report: &Report) -> Chart {
    let totals: Vec<usize> = report
        .months
        .iter()
        .map(|m| m.by_kind.values().sum())
        .collect();
    let max = axis_max(totals.iter().copied().max().unwrap_or(0));
    let scale = plot_height() / max as f64;
    let (slot, start) = slots(report.months.len());
    let width = slot * 0.6;
    let mut bars = Vec::new();
    let mut texts = month_texts(report, slot, &start);
    for (i, (month, total)) in report.months.iter().zip(&totals).enumerate() {
        let x = start(i) + (slot - width) / 2.0;
        let mut y = HEIGHT - BOTTOM;
        for (kind, name, colour) in SERIES {
            let count = series_count(month, kind);
            if count == 0 {
                continue;
            }
            let height = count as f64 * scale;
            y -= height;
            bars.push(Rect {
                x,
                y,
                width,
                height,
                fill: colour,
                title: format!(
                    "{}: {count} {}",
                    month_label(&month.month),
                    name.to_lowercase()
                ),
            });
        }
        if slot >= VALUE_LABEL_WIDTH {
            texts.push(Text {
                x: x + width / 2.0,
                y: y - 4.0,
                text: total.to_string(),
                anchor: "middle",
            });
        }
    }
    Chart {
        title: "Feedback received per month",
        description: format!(
            "Stacked bars: cases opened each month by kind, from {} to {}.",
            report.from, report.to
        ),
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        bars,
        texts,
        grid: [0, max / 2, max]
            .into_iter()
            .map(|v| Grid {
                y: HEIGHT - BOTTOM - v as f64 * scale,
                label: v.to_string(),
            })
            .collect(),
        legend: SERIES
            .iter()
            .map(|(_, name, colour)| Legend { name, colour })
            .collect(),
    }
}

fn standards_chart(report: &Report) -> Chart {
    let scale = plot_height() / 100.0;
    let (slot, start) = slots(report.months.len());
    let width = slot * 0.3;
    let mut bars = Vec::new();
    let mut texts = month_texts(report, slot, &start);
    for (i, month) in report.months.iter().enumerate() {
        let pairs = [
            ("acknowledged", &month.acknowledged, ACK_COLOUR),
            ("answered", &month.answered, REPLY_COLOUR),
        ];
        for (j, (what, standard, colour)) in pairs.into_iter().enumerate() {
            let x = start(i) + slot * 0.2 + width * j as f64;
            let base = HEIGHT - BOTTOM;
            let labelled = width >= VALUE_LABEL_WIDTH;
            match standard.percent() {
                Some(p) => {
                    let height = p * scale;
                    bars.push(Rect {
                        x,
                        y: base - height,
                        width,
                        height,
                        fill: colour,
                        title: format!(
                            "{}: {p:.1}% {what} within the standard ({} of {})",
                            month_label(&month.month),
                            standard.met,
                            standard.met + standard.missed
                        ),
                    });
                    if labelled {
                        texts.push(Text {
                            x: x + width / 2.0,
                            y: base - height - 4.0,
                            text: format!("{p:.0}%"),
                            anchor: "middle",
                        });
                    }
                }
                None if labelled => texts.push(Text {
                    x: x + width / 2.0,
                    y: base - 4.0,
                    text: "–".into(),
                    anchor: "middle",
                }),
                None => {}
            }
        }
    }
    Chart {
        title: "Complaints handled within the standard, by month received",
        description: "Bars: the share of complaints acknowledged, and answered, by the due day; a dash where none was due yet.".into(),
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        bars,
        texts,
        grid: [0.0, 50.0, 100.0]
            .into_iter()
            .map(|v| Grid {
                y: HEIGHT - BOTTOM - v * scale,
                label: format!("{v:.0}%"),
            })
            .collect(),
        legend: vec![
            Legend {
                name: "Acknowledged within the standard",
                colour: ACK_COLOUR,
            },
            Legend {
                name: "Answered within the standard",
                colour: REPLY_COLOUR,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_are_grouped_in_thousands() {
        assert_eq!(pounds(0), "£0.00");
        assert_eq!(pounds(5), "£0.05");
        assert_eq!(pounds(123_456), "£1,234.56");
        assert_eq!(pounds(100_000_000), "£1,000,000.00");
    }

    #[test]
    fn axis_maximum_is_round() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(7), 7);
        assert_eq!(axis_max(13), 20);
        assert_eq!(axis_max(101), 200);
    }
}
