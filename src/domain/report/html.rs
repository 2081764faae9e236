//! The report as one self-contained HTML page: the header, the summary, a histogram of
//! lags in CSS bars and the table, with inline CSS (a print layout included) and nothing
//! fetched: no script, font, image or link, and a Content-Security-Policy that forbids
//! them. Every value is escaped.

use super::columns::{COLUMNS, cells, instant, readable, sla_text};
use super::rows::{Report, Summary};
use std::fmt::Write;

const STYLE: &str = "
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 1.5rem; color: #111; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
dl.pairs { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; margin: 0; }
dl.pairs dt { font-weight: 600; }
dl.pairs dd { margin: 0; }
#summary dl { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0; }
#summary .figure { border: 1px solid #bbb; border-radius: 4px; padding: .4rem .7rem; min-width: 7rem; }
#summary dt { font-size: .8rem; color: #444; }
#summary dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
#histogram .bar { display: grid; grid-template-columns: 8rem 1fr 4rem; align-items: center; gap: .5rem; margin: .2rem 0; }
#histogram .track { background: #eee; height: 1rem; }
#histogram .fill { display: block; height: 100%; background: #2b6cb0; }
#histogram .bar[data-bucket=open] .fill { background: #c05621; }
#histogram .count { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: .2rem .35rem; text-align: left; vertical-align: top; white-space: nowrap; }
th { background: #f2f2f2; }
tr[data-sla=missed] td { background: #fde8e8; }
tr[data-sla=open] td { background: #fff6db; }
footer { margin-top: 1.5rem; font-size: .8rem; color: #444; }
@media print {
  @page { size: landscape; margin: 1cm; }
  body { margin: 0; font-size: 9pt; }
  #summary .figure { padding: .2rem .5rem; }
  .scroll { overflow: visible; }
  /* On paper each row is a card of labelled cells: thirty columns do not fit a page's
     width, and a cell broken letter by letter cannot be read. */
  table, tbody { display: block; }
  thead { display: none; }
  tr { display: grid; grid-template-columns: repeat(6, 1fr); gap: 0 .6rem; border: 1px solid #999;
       margin: 0 0 .25rem; padding: .15rem .3rem; break-inside: avoid; }
  td { display: block; border: 0; padding: 0; white-space: normal; overflow-wrap: anywhere; font-size: 7pt; }
  td:empty { display: none; }
  td::before { content: attr(data-column) ': '; color: #444; }
  #histogram .fill, tr[data-sla] td, tr[data-sla] { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  tr[data-sla=missed] { background: #fde8e8; }
  tr[data-sla=open] { background: #fff6db; }
}
";

/// `text`, escaped for HTML text and attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `report` as one HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(1024 * (report.rows.len() + 8));
    let h = &report.header;
    let account = h
        .linked_account_id
        .as_deref()
        .unwrap_or("every linked account");
    let title = format!("Access removal: {}, {}", h.period.label(), account);
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>Access removal report</h1>\n<dl class=\"pairs\" id=\"header\">\n",
        escape(&title)
    );
    let period = format!(
        "{} ({} to {}, UTC days)",
        h.period.label(),
        h.period.first().format("%Y-%m-%d"),
        h.period.last().format("%Y-%m-%d")
    );
    for (field, label, value) in [
        ("period", "Period", period),
        ("linked_account_id", "Linked account", account.to_owned()),
        ("sla", "Access removal SLA", sla_text(h.sla)),
        ("as_of", "Evidence up to", instant(h.as_of)),
    ] {
        pair(&mut out, field, label, &value);
    }
    out.push_str("</dl>\n</header>\n");
    summary(&mut out, &report.summary);
    histogram(&mut out, report);
    table(&mut out, report);
    out.push_str(
        "<footer>One row per leaver's termination per target. Lag runs from the effective \
         time to when access first ended (zero when it ended first). Statuses and verdicts \
         are explained in the project's docs/report.md.</footer>\n</body>\n</html>\n",
    );
    out
}

fn pair(out: &mut String, field: &str, label: &str, value: &str) {
    let _ = writeln!(
        out,
        "<dt>{}</dt><dd data-field=\"{}\">{}</dd>",
        escape(label),
        escape(field),
        escape(value)
    );
}

fn summary(out: &mut String, s: &Summary) {
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<dl>\n");
    let lag = |l: Option<chrono::TimeDelta>| l.map(readable).unwrap_or_else(|| "none".into());
    for (field, label, value) in [
        ("leavers", "Leavers", s.leavers.to_string()),
        ("targets", "Targets", s.targets.to_string()),
        ("rows", "Rows", s.rows.to_string()),
        ("met", "Met the SLA", s.met.to_string()),
        ("missed", "Missed the SLA", s.missed.to_string()),
        ("open", "Open, within the SLA", s.open.to_string()),
        ("exempt", "Exempt", s.exempt.to_string()),
        ("undone", "Undone", s.undone.to_string()),
        ("open_items", "Open items", s.open_items.to_string()),
        ("median_lag", "Median lag", lag(s.median_lag)),
        ("worst_lag", "Worst lag", lag(s.worst_lag)),
    ] {
        out.push_str("<div class=\"figure\">");
        pair(out, field, label, &value);
        out.push_str("</div>\n");
    }
    out.push_str("</dl>\n</section>\n");
}

fn histogram(out: &mut String, report: &Report) {
    let bars = report.histogram();
    let most = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    out.push_str("<section id=\"histogram\">\n<h2>Lag from the effective time</h2>\n");
    for (bucket, rows) in bars {
        let _ = writeln!(
            out,
            "<div class=\"bar\" data-bucket=\"{}\" data-rows=\"{rows}\">\
             <span class=\"label\">{}</span><span class=\"track\">\
             <span class=\"fill\" style=\"width:{}%\"></span></span>\
             <span class=\"count\">{rows}</span></div>",
            bucket.as_str(),
            escape(bucket.label()),
            rows * 100 / most
        );
    }
    out.push_str("</section>\n");
}

fn table(out: &mut String, report: &Report) {
    out.push_str(
        "<section>\n<h2>Rows</h2>\n<div class=\"scroll\">\n<table id=\"rows\">\n<thead><tr>",
    );
    for column in COLUMNS {
        let _ = write!(
            out,
            "<th data-column=\"{column}\">{}</th>",
            column.replace('_', " ")
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &report.rows {
        let _ = write!(
            out,
            "<tr data-sla=\"{}\" data-status=\"{}\">",
            row.verdict.as_str(),
            row.status.as_str()
        );
        for (column, cell) in COLUMNS.iter().zip(cells(row)) {
            let _ = write!(out, "<td data-column=\"{column}\">{}</td>", escape(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}
