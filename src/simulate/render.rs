//! A simulation report for people: the terminal summary, a terminal histogram, two versions side
//! by side, and an SVG chart of the lead times.

use std::fmt::Write as _;

use super::{BottleneckBasis, Report, TargetKind};
use crate::diagnostic::Lang;
use crate::time::Duration;

fn tr(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

/// Working minutes as the SOP states time: "4 Hari 1 Jam 20 Menit".
pub fn working(minutes: f64, day: u32, lang: Lang) -> String {
    let total = minutes.max(0.0).round() as u64;
    let day = u64::from(day.max(1));
    let days = u32::try_from(total / day).unwrap_or(u32::MAX);
    let rest = total % day;
    Duration::new(days, (rest / 60) as u32, (rest % 60) as u32).display(lang)
}

/// Working minutes as decimal working days: "4,17 hk" / "4.17 wd".
fn workdays(minutes: f64, day: u32, lang: Lang) -> String {
    let v = minutes / f64::from(day.max(1));
    match lang {
        Lang::Id => format!("{} hk", format!("{v:.2}").replace('.', ",")),
        Lang::En => format!("{v:.2} wd"),
    }
}

fn number(v: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{v:.decimals$}");
    match lang {
        Lang::Id => s.replace('.', ","),
        Lang::En => s,
    }
}

/// Decimals for the ends of bins `bin` working minutes wide, in working days of `day` minutes:
/// two, or as many as it takes for a bin's two ends to read apart.
fn bin_decimals(bin: f64, day: f64) -> usize {
    (2..=6).find(|d| bin / day >= 10f64.powi(-(*d as i32))).unwrap_or(6)
}

fn percent(v: f64, lang: Lang) -> String {
    format!("{}%", number(v * 100.0, 1, lang))
}

fn minutes(v: f64, lang: Lang) -> String {
    if v >= 60.0 {
        match lang {
            Lang::Id => format!("{} jam", number(v / 60.0, 1, lang)),
            Lang::En => format!("{} h", number(v / 60.0, 1, lang)),
        }
    } else {
        match lang {
            Lang::Id => format!("{} mnt", number(v, 1, lang)),
            Lang::En => format!("{} min", number(v, 1, lang)),
        }
    }
}

fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let w = widths[i];
                if i == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", line.join("   ").trim_end());
    }
    out
}

fn target_label(kind: TargetKind, label: &str, lang: Lang) -> String {
    match kind {
        TargetKind::StatedTotal => format!("{} {label}", tr(lang, "Total tertulis", "Stated total")),
        TargetKind::StatedRounded => format!("{} {label}", tr(lang, "Janji total", "Promised total")),
        TargetKind::ServiceStandard => format!("{} \"{label}\"", tr(lang, "Standar pelayanan", "Service standard")),
    }
}

/// The summary a person reads in the terminal.
pub fn text(r: &Report, lang: Lang, histogram_width: usize) -> String {
    let day = r.day_length_minutes;
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", r.title, r.sop);
    if let Some(s) = &r.scenario {
        let _ = writeln!(out, "{}: {s}", tr(lang, "Skenario", "Scenario"));
    }
    let warmup = if r.warmup > 0 {
        format!(" ({} {})", r.warmup, tr(lang, "kasus pemanasan tidak dihitung", "warm-up cases not counted"))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{}: {} · {} {} · {} {}{warmup} · {} {}",
        tr(lang, "Kalender", "Calendar"),
        r.calendar,
        tr(lang, "mulai", "start"),
        chrono::DateTime::parse_from_rfc3339(&r.start)
            .map_or_else(|_| r.start.clone(), |t| format!("{} ({})", t.format("%Y-%m-%d %H:%M"), r.time_zone)),
        r.cases,
        tr(lang, "kasus", "cases"),
        tr(lang, "benih", "seed"),
        r.seed,
    );
    let _ = writeln!(
        out,
        "{}: {} {} · {} {} · {}: {}",
        tr(lang, "Kedatangan", "Arrivals"),
        number(r.arrivals_per_day, 1, lang),
        tr(lang, "per hari kerja", "per working day"),
        number(r.simulated_working_days, 0, lang),
        tr(lang, "hari kerja disimulasikan", "working days simulated"),
        tr(lang, "total jalur utama", "main-path total"),
        working(r.main_path_minutes, day, lang),
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "{}",
        tr(lang, "Waktu penyelesaian (sejak diajukan sampai selesai)", "Lead time (from application to the end)")
    );
    let l = &r.lead_time_minutes;
    let c = &r.lead_time_calendar_days;
    let mut rows = vec![vec![
        String::new(),
        tr(lang, "waktu kerja", "working time"),
        tr(lang, "hari kerja", "workdays"),
        tr(lang, "hari kalender", "calendar days"),
    ]];
    for (name, w, cd) in [
        ("p50", l.p50, c.p50),
        ("p90", l.p90, c.p90),
        ("p95", l.p95, c.p95),
        ("p99", l.p99, c.p99),
        (if lang == Lang::Id { "rata-rata" } else { "mean" }, l.mean, c.mean),
        (if lang == Lang::Id { "maks" } else { "max" }, l.max, c.max),
    ] {
        rows.push(vec![name.to_string(), working(w, day, lang), workdays(w, day, lang), number(cd, 1, lang)]);
    }
    out.push_str(&table(&rows));
    if !r.targets.is_empty() {
        out.push('\n');
        let mut rows = vec![vec![
            tr(lang, "Janji", "Promise"),
            tr(lang, "jam layanan", "service clock"),
            tr(lang, "waktu nyata", "elapsed"),
        ]];
        for t in &r.targets {
            let limit = if t.calendar_days > 0 {
                String::new()
            } else {
                format!(" ({})", workdays(t.limit_minutes, day, lang))
            };
            rows.push(vec![
                format!("{}{limit}", target_label(t.kind, &t.label, lang)),
                percent(t.within, lang),
                percent(t.within_elapsed, lang),
            ]);
        }
        out.push_str(&table(&rows));
        let _ = writeln!(
            out,
            "  {}",
            tr(
                lang,
                "jam layanan: berhenti/diulang saat berkas dikembalikan, seperti tertulis di SOP; waktu nyata: yang dialami pemohon",
                "service clock: paused or restarted while the file is returned, as the SOP declares; elapsed: what the applicant waits"
            )
        );
    }
    if r.returned_share > 0.0 {
        let _ = writeln!(
            out,
            "  {} {} · {} {}",
            percent(r.returned_share, lang),
            tr(lang, "kasus pernah dikembalikan", "of cases were returned at least once"),
            number(r.mean_rounds, 2, lang),
            tr(lang, "putaran per kasus", "rounds per case"),
        );
    }
    out.push('\n');
    let mut rows = vec![vec![
        tr(lang, "Meja", "Desk"),
        tr(lang, "petugas", "staff"),
        tr(lang, "utilisasi", "utilisation"),
        tr(lang, "sibuk rata2", "mean busy"),
        tr(lang, "antre rata2", "mean wait"),
        tr(lang, "antre p90", "p90 wait"),
        tr(lang, "antre maks", "max wait"),
        tr(lang, "dilayani", "served"),
    ]];
    for d in &r.desks {
        rows.push(vec![
            d.actor.clone(),
            d.staff.map_or_else(|| "∞".to_string(), |s| s.to_string()),
            d.utilisation.map_or_else(|| "-".to_string(), |u| percent(u, lang)),
            number(d.mean_busy, 2, lang),
            minutes(d.mean_wait_minutes, lang),
            minutes(d.p90_wait_minutes, lang),
            minutes(d.max_wait_minutes, lang),
            d.served.to_string(),
        ]);
    }
    out.push_str(&table(&rows));
    match r.bottleneck.as_ref().and_then(|b| r.desks.iter().find(|d| &d.actor == b)) {
        Some(d) => {
            let why = match r.bottleneck_basis {
                Some(BottleneckBasis::Utilisation) => tr(
                    lang,
                    "tidak ada berkas yang antre di meja berpetugas; ini meja dengan utilisasi tertinggi",
                    "no file waits at a staffed desk; this is the one with the highest utilisation",
                ),
                _ => tr(
                    lang,
                    "meja berpetugas tempat berkas antre terlama secara total (antre rata-rata × dilayani)",
                    "the staffed desk where files wait longest in total (mean wait × served)",
                ),
            };
            let _ = writeln!(out, "{}: {} — {why}", tr(lang, "Hambatan", "Bottleneck"), d.actor);
            let _ = writeln!(
                out,
                "  {} {} · {} {} · {} {} · {} {} · {} {}",
                tr(lang, "utilisasi", "utilisation"),
                d.utilisation.map_or_else(|| "-".to_string(), |u| percent(u, lang)),
                tr(lang, "antre rata-rata", "mean wait"),
                minutes(d.mean_wait_minutes, lang),
                tr(lang, "antre p90", "p90 wait"),
                minutes(d.p90_wait_minutes, lang),
                tr(lang, "antre maks", "max wait"),
                minutes(d.max_wait_minutes, lang),
                tr(lang, "antre total", "total wait"),
                minutes(d.mean_wait_minutes * d.served as f64, lang),
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{}: {}",
                tr(lang, "Hambatan", "Bottleneck"),
                tr(
                    lang,
                    "tidak ada (petugas tak terbatas: tidak ada meja yang membuat berkas antre)",
                    "none (unlimited staff: no desk makes files wait)"
                )
            );
        }
    }
    if r.stuck > 0 {
        let _ = writeln!(
            out,
            "{}: {} {}",
            tr(lang, "Peringatan", "Warning"),
            r.stuck,
            tr(lang, "kasus berputar tanpa akhir dan dihentikan", "cases looped without end and were stopped")
        );
    }
    out.push('\n');
    out.push_str(&histogram_text(r, lang, histogram_width));
    out
}

/// The lead-time histogram as terminal bars, with the promises marked.
pub fn histogram_text(r: &Report, lang: Lang, width: usize) -> String {
    let h = &r.histogram;
    let day = r.day_length_minutes;
    let mut out =
        format!("{}\n", tr(lang, "Sebaran waktu penyelesaian (hari kerja)", "Lead-time histogram (working days)"));
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1);
    // Trim empty bins at both ends.
    let first = h.counts.iter().position(|c| *c > 0).unwrap_or(0);
    let last = h.counts.iter().rposition(|c| *c > 0).unwrap_or(0);
    let blocks = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let decimals = bin_decimals(h.bin_minutes, f64::from(day));
    for i in first..=last {
        let count = h.counts[i];
        let lo = h.start_minutes + i as f64 * h.bin_minutes;
        let hi = lo + h.bin_minutes;
        let eighths = (count as f64 / max as f64 * (width * 8) as f64).round() as usize;
        let mut bar = "█".repeat(eighths / 8);
        if eighths % 8 > 0 {
            bar.push(blocks[eighths % 8]);
        }
        let marks: Vec<String> = r
            .targets
            .iter()
            .filter(|t| t.calendar_days == 0 && t.limit_minutes >= lo && t.limit_minutes < hi)
            .map(|t| format!("◀ {}", target_label(t.kind, &t.label, lang)))
            .collect();
        let range =
            format!("{}–{}", number(lo / f64::from(day), decimals, lang), number(hi / f64::from(day), decimals, lang));
        let line = format!("  {range:>13} │{bar:<width$} {count}  {}", marks.join(" "));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// Two reports side by side: what a change to the SOP does to the promise.
pub fn compare_text(a: &Report, b: &Report, names: (&str, &str), lang: Lang) -> String {
    let day = a.day_length_minutes;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: A = {} ({}), B = {} ({})",
        tr(lang, "Perbandingan", "Comparison"),
        names.0,
        a.sop,
        names.1,
        b.sop
    );
    if let Some(s) = &a.scenario {
        let _ = writeln!(
            out,
            "{}: {s} · {} {} · {} {}",
            tr(lang, "Skenario", "Scenario"),
            a.cases,
            tr(lang, "kasus", "cases"),
            tr(lang, "benih", "seed"),
            a.seed
        );
    }
    out.push('\n');
    let mut rows = vec![vec![String::new(), "A".to_string(), "B".to_string(), "B − A".to_string()]];
    let diff = |x: f64, y: f64| {
        let d = y - x;
        let sign = if d >= 0.0 { "+" } else { "−" };
        format!("{sign}{}", workdays(d.abs(), day, lang))
    };
    rows.push(vec![
        tr(lang, "total jalur utama", "main-path total"),
        workdays(a.main_path_minutes, day, lang),
        workdays(b.main_path_minutes, day, lang),
        diff(a.main_path_minutes, b.main_path_minutes),
    ]);
    for (name, x, y) in [
        ("p50", a.lead_time_minutes.p50, b.lead_time_minutes.p50),
        ("p90", a.lead_time_minutes.p90, b.lead_time_minutes.p90),
        ("p95", a.lead_time_minutes.p95, b.lead_time_minutes.p95),
        ("p99", a.lead_time_minutes.p99, b.lead_time_minutes.p99),
    ] {
        rows.push(vec![
            format!("{name} {}", tr(lang, "waktu kerja", "working time")),
            workdays(x, day, lang),
            workdays(y, day, lang),
            diff(x, y),
        ]);
    }
    for (name, x, y) in [
        ("p50", a.lead_time_calendar_days.p50, b.lead_time_calendar_days.p50),
        ("p90", a.lead_time_calendar_days.p90, b.lead_time_calendar_days.p90),
    ] {
        rows.push(vec![
            format!("{name} {}", tr(lang, "hari kalender", "calendar days")),
            number(x, 1, lang),
            number(y, 1, lang),
            format!("{}{}", if y >= x { "+" } else { "−" }, number((y - x).abs(), 1, lang)),
        ]);
    }
    // Promises side by side by kind and order (a new version may state another total).
    let mut keys: Vec<(TargetKind, usize)> = Vec::new();
    for r in [a, b] {
        for (i, t) in r.targets.iter().enumerate() {
            let nth = r.targets[..i].iter().filter(|x| x.kind == t.kind).count();
            if !keys.contains(&(t.kind, nth)) {
                keys.push((t.kind, nth));
            }
        }
    }
    for (kind, nth) in keys {
        let find = |r: &Report| r.targets.iter().filter(|t| t.kind == kind).nth(nth).cloned();
        let (x, y) = (find(a), find(b));
        let show = |t: &Option<super::TargetReport>| {
            t.as_ref().map_or_else(
                || "-".to_string(),
                |t| format!("{} (≤ {})", percent(t.within, lang), workdays(t.limit_minutes, day, lang)),
            )
        };
        let d = match (&x, &y) {
            (Some(x), Some(y)) => format!(
                "{}{} pp",
                if y.within >= x.within { "+" } else { "−" },
                number(((y.within - x.within) * 100.0).abs(), 1, lang)
            ),
            _ => "-".to_string(),
        };
        let label = match kind {
            TargetKind::StatedTotal => tr(lang, "dalam total tertulis", "within the stated total"),
            TargetKind::StatedRounded => tr(lang, "dalam janji total (hari bulat)", "within the promised whole days"),
            TargetKind::ServiceStandard => {
                let l = x.as_ref().or(y.as_ref()).map(|t| t.label.clone()).unwrap_or_default();
                format!("{} \"{l}\"", tr(lang, "dalam standar pelayanan", "within the service standard"))
            }
        };
        rows.push(vec![label, show(&x), show(&y), d]);
    }
    rows.push(vec![
        tr(lang, "hambatan", "bottleneck"),
        a.bottleneck.clone().unwrap_or_else(|| "-".into()),
        b.bottleneck.clone().unwrap_or_else(|| "-".into()),
        String::new(),
    ]);
    let mut actors: Vec<&str> = Vec::new();
    for d in a.desks.iter().chain(&b.desks) {
        if !actors.contains(&d.actor.as_str()) {
            actors.push(&d.actor);
        }
    }
    for actor in actors {
        let find = |r: &Report| r.desks.iter().find(|d| d.actor == actor).cloned();
        let (x, y) = (find(a), find(b));
        let show = |d: &Option<super::DeskReport>| {
            d.as_ref().map_or_else(
                || "-".to_string(),
                |d| {
                    format!(
                        "{} / {}",
                        d.utilisation.map_or_else(|| "∞".into(), |u| percent(u, lang)),
                        minutes(d.mean_wait_minutes, lang)
                    )
                },
            )
        };
        rows.push(vec![
            format!("{actor} ({})", tr(lang, "utilisasi / antre", "utilisation / wait")),
            show(&x),
            show(&y),
            String::new(),
        ]);
    }
    out.push_str(&table(&rows));
    let _ = writeln!(
        out,
        "  {}",
        tr(
            lang,
            "janji: bagian kasus dalam batas menurut jam layanan (berhenti/diulang saat berkas dikembalikan, seperti tertulis di SOP)",
            "promises: the share of cases within the limit by the service clock (paused or restarted while a file is returned, as the SOP declares)"
        )
    );
    let _ = writeln!(
        out,
        "  {}",
        tr(
            lang,
            "hambatan: meja berpetugas tempat berkas antre terlama secara total; bila tidak ada yang antre, meja dengan utilisasi tertinggi",
            "bottleneck: the staffed desk where files wait longest in total; when nothing waits, the one with the highest utilisation"
        )
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const SVG_W: f64 = 820.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const PLOT_H: f64 = 290.0;
const COLOURS: [&str; 4] = ["#c0392b", "#e67e22", "#27ae60", "#8e44ad"];

/// The working minutes a chart of `r` spans: its histogram and the promises drawn as lines.
fn chart_span(r: &Report) -> (f64, f64) {
    let hist = &r.histogram;
    let lo = hist.start_minutes;
    let mut hi = lo + hist.bin_minutes * hist.counts.len() as f64;
    for t in r.targets.iter().filter(|t| t.calendar_days == 0) {
        hi = hi.max(t.limit_minutes + hist.bin_minutes);
    }
    (lo, hi)
}

/// Where a service standard's clock runs, as the SOP writes it ("after verifikasi until
/// tanda_tangan"); `None` for a clock over the whole case, which the bars measure too.
fn clock_points(t: &super::TargetReport, lang: Lang) -> Option<String> {
    use crate::model::ClockPoint;
    if t.from.is_none() && t.until.is_none() {
        return None;
    }
    let from = match &t.from {
        Some(ClockPoint::StartOf(s)) => format!("{} {s}", tr(lang, "sejak", "from the start of")),
        Some(ClockPoint::EndOf(s)) => format!("{} {s}", tr(lang, "setelah", "after")),
        None => tr(lang, "sejak diajukan", "from the application"),
    };
    let until = match &t.until {
        Some(p) => format!("{} {}", tr(lang, "sampai", "until"), p.step()),
        None => tr(lang, "sampai selesai", "to the end"),
    };
    Some(format!("{from} {until}"))
}

/// One chart: a heading, the histogram of `r` on the working-minute span `span`, each promise
/// as a dashed line labelled with the share of the bars left of it, and a legend with each
/// promise's shares by the service clock and by elapsed time. Returns the height used.
fn svg_panel(out: &mut String, r: &Report, heading: &str, y0: f64, span: (f64, f64), lang: Lang) -> f64 {
    let plot_w = SVG_W - LEFT - RIGHT;
    let top = y0 + 50.0;
    let base = top + PLOT_H;
    let hist = &r.histogram;
    let day = f64::from(r.day_length_minutes.max(1));
    let (lo, hi) = span;
    let width = (hi - lo).max(1e-9);
    let x = |m: f64| LEFT + (m - lo) / width * plot_w;
    let max = hist.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let decimals = bin_decimals(hist.bin_minutes, day);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        y0 + 22.0,
        escape(heading)
    );
    if let Some(s) = &r.scenario {
        let _ = writeln!(out, r##"<text x="{LEFT}" y="{}" fill="#555">{}</text>"##, y0 + 38.0, escape(s));
    }
    for (i, count) in hist.counts.iter().enumerate() {
        let a = hist.start_minutes + i as f64 * hist.bin_minutes;
        let bh = *count as f64 / max * PLOT_H;
        let _ = writeln!(
            out,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#4a7fb5"><title>{}–{}: {count}</title></rect>"##,
            x(a),
            base - bh,
            (x(a + hist.bin_minutes) - x(a) - 1.0).max(0.5),
            bh,
            number(a / day, decimals, lang),
            number((a + hist.bin_minutes) / day, decimals, lang),
        );
    }
    // Axes and ticks in working days.
    let _ = writeln!(out, r#"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="black"/>"#, LEFT + plot_w);
    let _ = writeln!(out, r#"<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{base}" stroke="black"/>"#);
    let tick =
        [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0].into_iter().find(|t| width / day / t <= 10.0).unwrap_or(100.0);
    let mut d = (lo / day / tick).ceil() * tick;
    while d * day <= hi {
        let px = x(d * day);
        let _ = writeln!(out, r#"<line x1="{px:.1}" y1="{base}" x2="{px:.1}" y2="{}" stroke="black"/>"#, base + 5.0);
        let _ = writeln!(
            out,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
            base + 18.0,
            number(d, if tick < 1.0 { 2 } else { 0 }, lang)
        );
        d += tick;
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        base + 40.0,
        escape(&tr(
            lang,
            "waktu penyelesaian, sejak diajukan sampai selesai (hari kerja)",
            "lead time, from application to end (working days)"
        ))
    );
    let middle = top + PLOT_H / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="16" y="{middle}" transform="rotate(-90 16 {middle})" text-anchor="middle">{}</text>"#,
        escape(&tr(lang, "kasus", "cases"))
    );
    let _ = writeln!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, LEFT - 6.0, top + 4.0, max as u64);
    // The promises: a line where the bars are measured against it, then the legend.
    let mut row = 0.0;
    for (i, t) in r.targets.iter().enumerate() {
        let (Some(share), 0) = (t.within_lead, t.calendar_days) else { continue };
        let px = x(t.limit_minutes);
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            out,
            r#"<line class="promise" x1="{px:.1}" y1="{top}" x2="{px:.1}" y2="{base}" stroke="{colour}" stroke-dasharray="5,4" stroke-width="1.5"/>"#,
        );
        let label = format!(
            "{}: {} {}",
            target_label(t.kind, &t.label, lang),
            percent(share, lang),
            tr(lang, "batang di kiri garis", "of the bars left of the line")
        );
        let (lx, anchor) = if px > LEFT + plot_w * 0.55 { (px - 4.0, "end") } else { (px + 4.0, "start") };
        let _ = writeln!(
            out,
            r#"<text class="promise-label" x="{lx:.1}" y="{}" text-anchor="{anchor}" fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
            top + 14.0 + 14.0 * row,
            escape(&label)
        );
        row += 1.0;
    }
    let mut y = base + 62.0;
    for (i, t) in r.targets.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let drawn = t.within_lead.is_some() && t.calendar_days == 0;
        if drawn {
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{colour}" stroke-dasharray="5,4" stroke-width="1.5"/>"#,
                y - 4.0,
                LEFT + 24.0,
                y - 4.0
            );
        }
        let mut what = target_label(t.kind, &t.label, lang);
        if let Some(points) = clock_points(t, lang) {
            what.push_str(&format!(" ({points})"));
        }
        if !drawn {
            what.push_str(&format!(" ({})", tr(lang, "hari kalender, tanpa garis", "calendar days, no line")));
        }
        let legend = format!(
            "{what}: {} {} · {} {}",
            tr(lang, "jam layanan", "service clock"),
            percent(t.within, lang),
            tr(lang, "waktu nyata", "elapsed"),
            percent(t.within_elapsed, lang)
        );
        let _ = writeln!(
            out,
            r#"<text class="promise-legend" x="{}" y="{y:.1}" fill="{colour}">{}</text>"#,
            LEFT + 30.0,
            escape(&legend)
        );
        y += 16.0;
    }
    y - y0
}

/// What the bars, the lines and the two clocks measure, under the charts.
fn svg_note(out: &mut String, y0: f64, lang: Lang) -> f64 {
    let lines = [
        tr(
            lang,
            "Batang: waktu penyelesaian sejak diajukan sampai selesai, dalam waktu kerja yang berjalan (yang dialami pemohon).",
            "Bars: lead time from application to end, in elapsed working time (what the applicant waits).",
        ),
        tr(
            lang,
            "Garis: janji, masing-masing dengan bagian batang di sebelah kirinya.",
            "Lines: promises, each labelled with the share of the bars left of it.",
        ),
        tr(
            lang,
            "Jam layanan: berhenti atau diulang saat berkas dikembalikan, seperti tertulis di SOP; waktu nyata: waktu kerja di antara titik yang sama.",
            "Service clock: paused or restarted while a file is returned, as the SOP declares; elapsed: working time between the same points.",
        ),
    ];
    let mut y = y0 + 14.0;
    for line in lines {
        let _ = writeln!(out, r##"<text x="{LEFT}" y="{y:.1}" font-size="11" fill="#555">{}</text>"##, escape(&line));
        y += 15.0;
    }
    y - y0
}

fn svg_document(height: f64, body: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{height:.0}" viewBox="0 0 {SVG_W} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    out.push_str(body);
    out.push_str("</svg>\n");
    out
}

/// The lead-time histogram as a standalone SVG chart, with the promises as dashed lines.
pub fn svg(r: &Report, lang: Lang) -> String {
    let heading = format!(
        "{} — {} ({} {})",
        r.title,
        tr(lang, "sebaran waktu penyelesaian", "lead-time distribution"),
        r.counted,
        tr(lang, "kasus", "cases")
    );
    let mut body = String::new();
    let mut y = svg_panel(&mut body, r, &heading, 0.0, chart_span(r), lang);
    y += svg_note(&mut body, y, lang);
    svg_document(y + 8.0, &body)
}

/// Two versions' lead-time charts, one above the other on the same time axis, each named.
pub fn svg_compare(a: &Report, b: &Report, names: (&str, &str), lang: Lang) -> String {
    let (a_span, b_span) = (chart_span(a), chart_span(b));
    let span = (a_span.0.min(b_span.0), a_span.1.max(b_span.1));
    let mut body = String::new();
    let mut y = 0.0;
    for (letter, r, name) in [("A", a, names.0), ("B", b, names.1)] {
        let heading = format!("{letter}: {name} — {} ({} {})", r.title, r.counted, tr(lang, "kasus", "cases"));
        y += svg_panel(&mut body, r, &heading, y, span, lang) + 10.0;
    }
    y += svg_note(&mut body, y, lang);
    svg_document(y + 8.0, &body)
}
