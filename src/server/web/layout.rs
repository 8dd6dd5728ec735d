//! The one page layout (header, navigation, language switch, styles) and the small pieces of
//! text every page shares: dates, working-time countdowns, status words.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{encode, Viewer};
use crate::diagnostic::Lang;

/// The word in the reader's language.
pub fn t(lang: Lang, id: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

const STYLE: &str = r#"
:root { --ink:#1b2733; --muted:#55606c; --line:#c9d1d9; --bg:#f5f7f9; --brand:#1f3a5f; --brand2:#2d5a8c;
  --red:#9b1c1c; --redbg:#fdecec; --amber:#7a4d00; --amberbg:#fff3d6; --green:#1e6b35; --greenbg:#e6f4ea; }
* { box-sizing: border-box; }
body { margin:0; font-family: "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; font-size:16px; line-height:1.5;
  color:var(--ink); background:var(--bg); }
a { color:var(--brand2); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline:3px solid #f0b400; outline-offset:1px; }
header.top { background:var(--brand); color:#fff; }
header.top .bar { max-width:1180px; margin:0 auto; padding:.6rem 1rem; display:flex; flex-wrap:wrap; gap:.5rem 1.5rem;
  align-items:center; }
header.top .brand { font-weight:700; font-size:1.15rem; color:#fff; text-decoration:none; letter-spacing:.02em; }
header.top nav { display:flex; flex-wrap:wrap; gap:.25rem 1rem; flex:1; }
header.top nav a { color:#e8eef5; text-decoration:none; padding:.2rem 0; }
header.top nav a:hover, header.top nav a[aria-current] { color:#fff; text-decoration:underline; }
header.top .who { display:flex; gap:.75rem; align-items:center; font-size:.92rem; }
header.top .who a { color:#e8eef5; }
header.top .who form { margin:0; }
header.top .who button { background:transparent; color:#fff; border:1px solid #9fb3c8; padding:.2rem .6rem; }
main { max-width:1180px; margin:0 auto; padding:1.2rem 1rem 3rem; }
h1 { font-size:1.55rem; margin:.3rem 0 .8rem; }
h2 { font-size:1.2rem; margin:1.6rem 0 .6rem; border-bottom:1px solid var(--line); padding-bottom:.25rem; }
h3 { font-size:1.05rem; margin:1rem 0 .4rem; }
.muted { color:var(--muted); }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:1rem 1.2rem; margin:.8rem 0; }
.card > h2:first-child { margin-top:0; }
.narrow { max-width:420px; margin:2rem auto; background:#fff; border:1px solid var(--line); border-radius:6px;
  padding:1.5rem; }
table { border-collapse:collapse; width:100%; background:#fff; margin:.5rem 0 1rem; }
th, td { border:1px solid var(--line); padding:.45rem .6rem; text-align:left; vertical-align:top; }
th { background:#e9eef3; font-weight:600; }
td.num, th.num { text-align:right; white-space:nowrap; }
tr.overdue td { background:var(--redbg); }
tr.due_soon td { background:var(--amberbg); }
.badge { display:inline-block; padding:.05rem .5rem; border-radius:999px; font-size:.85rem; font-weight:600;
  border:1px solid currentColor; white-space:nowrap; }
.badge.overdue, .badge.missed, .badge.cancelled { color:var(--red); background:var(--redbg); }
.badge.due_soon, .badge.withdrawn { color:var(--amber); background:var(--amberbg); }
.badge.on_time, .badge.met, .badge.ended { color:var(--green); background:var(--greenbg); }
.badge.active { color:var(--brand2); background:#e8f0fa; }
.late { color:var(--red); font-weight:600; }
.soon { color:var(--amber); font-weight:600; }
.notice { border-left:5px solid; padding:.3rem 1rem; margin:.8rem 0; background:#fff; }
.notice p { margin:.4rem 0; }
.notice.error { border-color:var(--red); background:var(--redbg); }
.notice.ok { border-color:var(--green); background:var(--greenbg); }
.notice.info { border-color:var(--brand2); background:#e8f0fa; }
form.stack { display:flex; flex-direction:column; gap:.35rem; }
form.stack label, fieldset label { font-weight:600; margin-top:.4rem; }
fieldset { border:1px solid var(--line); border-radius:6px; padding:.6rem 1rem .9rem; margin:.8rem 0; background:#fff; }
legend { font-weight:600; padding:0 .3rem; }
fieldset > label, fieldset > input, fieldset > select, fieldset > textarea { display:block; }
fieldset > label { margin-top:.6rem; }
input[type=text], input[type=password], input[type=number], input[type=date], select, textarea {
  font:inherit; padding:.45rem .55rem; border:1px solid #8a96a3; border-radius:4px; width:100%; max-width:34rem;
  background:#fff; color:var(--ink); }
textarea { min-height:4.5rem; }
button { font:inherit; padding:.45rem 1rem; border-radius:4px; border:1px solid var(--brand); background:#fff;
  color:var(--brand); cursor:pointer; }
button.primary { background:var(--brand); color:#fff; }
button.danger { border-color:var(--red); color:var(--red); }
.actions { display:flex; flex-wrap:wrap; gap:.6rem; margin:.8rem 0; align-items:center; }
.actions form { margin:0; }
.filters { display:flex; flex-wrap:wrap; gap:.6rem 1rem; align-items:end; background:#fff; border:1px solid var(--line);
  border-radius:6px; padding:.7rem 1rem; }
.filters label { display:flex; flex-direction:column; font-weight:600; font-size:.92rem; }
.filters input, .filters select { width:auto; font-weight:normal; }
.nowrap { white-space:nowrap; }
dl.facts { display:grid; grid-template-columns: 12rem 1fr; gap:.3rem 1rem; margin:.5rem 0; }
dl.facts dt { font-weight:600; color:var(--muted); }
dl.facts dd { margin:0; }
.where { font-size:1.15rem; }
.where strong { font-size:1.3rem; }
ol.track { list-style:none; padding:0; margin:.5rem 0; }
ol.track li { padding:.3rem 0 .3rem 2rem; position:relative; border-left:3px solid var(--line); margin-left:.6rem; }
ol.track li::before { content:""; position:absolute; left:-.6rem; top:.55rem; width:.9rem; height:.9rem; border-radius:50%;
  background:#fff; border:3px solid var(--line); }
ol.track li.done::before { background:var(--green); border-color:var(--green); }
ol.track li.current { font-weight:700; }
ol.track li.current::before { background:#f0b400; border-color:var(--brand); }
ol.track li.skipped { color:var(--muted); text-decoration:line-through; }
ul.timeline { list-style:none; padding:0; }
ul.timeline li { padding:.35rem 0; border-bottom:1px dashed var(--line); }
ul.timeline time { color:var(--muted); display:inline-block; min-width:13rem; }
pre.diag { background:#111a24; color:#e6edf3; padding:1rem; overflow:auto; border-radius:6px; font-size:.85rem; }
.placeholder { border:2px dashed var(--line); border-radius:6px; padding:1.5rem; text-align:center; color:var(--muted);
  background:#fff; }
.grid2 { display:grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap:0 1.5rem; }
.lang a[aria-current] { font-weight:700; text-decoration:none; }
footer { max-width:1180px; margin:0 auto; padding:1rem; color:var(--muted); font-size:.85rem; }
@media print {
  header.top nav, header.top .who, form, .no-print, footer { display:none !important; }
  header.top { background:#fff; color:#000; border-bottom:2px solid #000; }
  header.top .brand { color:#000; }
  body { background:#fff; font-size:11pt; }
  a { color:#000; text-decoration:none; }
  .card, table, fieldset { border-color:#000; }
  tr.overdue td, tr.due_soon td { background:#fff; }
}
"#;

struct NavItem {
    href: &'static str,
    id: &'static str,
    en: &'static str,
}

fn nav_items(viewer: &Viewer) -> Vec<NavItem> {
    let Some(user) = &viewer.user else { return Vec::new() };
    let mut items = Vec::new();
    if user.is_staff() || user.is_applicant() {
        items.push(NavItem { href: "/inbox", id: "Tugas saya", en: "My tasks" });
    }
    if user.is_applicant() {
        items.push(NavItem { href: "/applications", id: "Permohonan saya", en: "My applications" });
    }
    if user.is_applicant() || user.is_staff() {
        items.push(NavItem { href: "/apply", id: "Ajukan permohonan", en: "Apply" });
    }
    if user.is_staff() || user.is_analyst() {
        items.push(NavItem { href: "/cases", id: "Semua perkara", en: "All cases" });
        items.push(NavItem { href: "/sops", id: "SOP", en: "SOPs" });
    }
    if user.is_analyst() {
        items.push(NavItem { href: "/dashboard", id: "Dasbor SLA", en: "SLA dashboard" });
    }
    if user.is_admin() {
        items.push(NavItem { href: "/admin/users", id: "Pengguna", en: "Users" });
    }
    items
}

/// The shared page: header with navigation and language switch, the body, and the styles.
pub fn layout(viewer: &Viewer, title: &str, body: Markup) -> Markup {
    layout_refreshing(viewer, title, body, None)
}

/// The shared page, reloading itself every `refresh` seconds (the inbox keeps its countdowns
/// current this way, without JavaScript).
pub fn layout_refreshing(viewer: &Viewer, title: &str, body: Markup, refresh: Option<u32>) -> Markup {
    let lang = viewer.lang;
    let path = viewer.here.split('?').next().unwrap_or("/");
    // The language switch comes back to this page without its own `lang=`.
    let back: String = {
        let mut parts = viewer.here.splitn(2, '?');
        let p = parts.next().unwrap_or("/");
        let q: Vec<&str> =
            parts.next().unwrap_or("").split('&').filter(|x| !x.is_empty() && !x.starts_with("lang=")).collect();
        if q.is_empty() {
            p.to_string()
        } else {
            format!("{p}?{}", q.join("&"))
        }
    };
    html! {
        (DOCTYPE)
        html lang=(t(lang, "id", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
                title { (title) " · alur" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/" { "alur" }
                        nav aria-label=(t(lang, "Navigasi utama", "Main navigation")) {
                            @for item in nav_items(viewer) {
                                @if path == item.href || path.starts_with(&format!("{}/", item.href)) {
                                    a href=(item.href) aria-current="page" { (t(lang, item.id, item.en)) }
                                } @else {
                                    a href=(item.href) { (t(lang, item.id, item.en)) }
                                }
                            }
                        }
                        div.who {
                            span.lang {
                                @if lang == Lang::Id {
                                    a href=(format!("/lang?to=id&back={}", encode(&back))) aria-current="true" lang="id" { "Bahasa Indonesia" }
                                } @else {
                                    a href=(format!("/lang?to=id&back={}", encode(&back))) lang="id" { "Bahasa Indonesia" }
                                }
                                " | "
                                @if lang == Lang::En {
                                    a href=(format!("/lang?to=en&back={}", encode(&back))) aria-current="true" lang="en" { "English" }
                                } @else {
                                    a href=(format!("/lang?to=en&back={}", encode(&back))) lang="en" { "English" }
                                }
                            }
                            @if let Some(user) = &viewer.user {
                                a.user href="/account" title=(t(lang, "Akun saya", "My account")) { (user.display) }
                                form method="post" action="/logout" {
                                    button type="submit" { (t(lang, "Keluar", "Sign out")) }
                                }
                            }
                        }
                    }
                }
                main { (body) }
                footer { "alur · " (t(lang, "mesin alur kerja SOP", "SOP workflow engine")) }
            }
        }
    }
}

const MONTHS_ID: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"];
const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS_ID: [&str; 7] = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"];
const DAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// "Kam, 26 Nov 2026 10:00 WITA" in the time zone of the SOP's calendar.
pub fn when(lang: Lang, zone: Tz, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&zone);
    let month = local.month0() as usize % 12;
    let day = local.weekday().num_days_from_monday() as usize % 7;
    let (months, days) = match lang {
        Lang::Id => (MONTHS_ID, DAYS_ID),
        Lang::En => (MONTHS_EN, DAYS_EN),
    };
    format!("{}, {} {} {} {}", days[day], local.day(), months[month], local.year(), local.format("%H:%M %Z"))
}

/// A step's due date, or that the SOP states no time for the step.
pub fn when_due(lang: Lang, zone: Tz, due: Option<DateTime<Utc>>) -> String {
    match due {
        Some(at) => when(lang, zone, at),
        None => {
            t(lang, "tidak ada (waktu langkah tidak tertulis di SOP)", "none (the SOP states no time for the step)")
                .to_string()
        }
    }
}

/// Working minutes as days, hours and minutes of working time ("1 hari 2 jam 10 menit").
pub fn working_span(lang: Lang, minutes: u64, day_length: u32) -> String {
    let day = u64::from(day_length.max(1));
    let (days, rest) = if minutes >= day { (minutes / day, minutes % day) } else { (0, minutes) };
    let (hours, mins) = (rest / 60, rest % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(match lang {
            Lang::Id => format!("{days} hari"),
            Lang::En if days == 1 => "1 day".to_string(),
            Lang::En => format!("{days} days"),
        });
    }
    if hours > 0 {
        parts.push(match lang {
            Lang::Id => format!("{hours} jam"),
            Lang::En => format!("{hours} h"),
        });
    }
    if mins > 0 || parts.is_empty() {
        parts.push(match lang {
            Lang::Id => format!("{mins} menit"),
            Lang::En => format!("{mins} min"),
        });
    }
    parts.join(" ")
}

/// "2 jam 10 menit kerja lagi" or "terlambat 35 menit kerja".
pub fn countdown(lang: Lang, minutes_left: Option<i64>, day_length: u32) -> String {
    let Some(minutes_left) = minutes_left else { return "—".to_string() };
    let span = working_span(lang, minutes_left.unsigned_abs(), day_length);
    match (lang, minutes_left >= 0) {
        (Lang::Id, true) => format!("{span} kerja lagi"),
        (Lang::Id, false) => format!("terlambat {span} kerja"),
        (Lang::En, true) => format!("{span} of working time left"),
        (Lang::En, false) => format!("{span} of working time overdue"),
    }
}

/// A service-level word as a badge.
pub fn sla_badge(lang: Lang, sla: &str) -> Markup {
    let text = match sla {
        "on_time" => t(lang, "Tepat waktu", "On time"),
        "due_soon" => t(lang, "Segera jatuh tempo", "Due soon"),
        "overdue" => t(lang, "Terlambat", "Overdue"),
        "met" => t(lang, "Terpenuhi", "Met"),
        "missed" => t(lang, "Terlewati", "Missed"),
        "no_deadline" => t(lang, "Tanpa batas waktu langkah", "No step deadline"),
        _ => "",
    };
    html! { span class=(format!("badge {sla}")) { (text) } }
}

/// A case status as a badge.
pub fn status_badge(lang: Lang, status: &str) -> Markup {
    let text = match status {
        "active" => t(lang, "Sedang diproses", "In progress"),
        "ended" => t(lang, "Selesai", "Finished"),
        "withdrawn" => t(lang, "Ditarik", "Withdrawn"),
        "cancelled" => t(lang, "Dibatalkan", "Cancelled"),
        _ => "",
    };
    html! { span class=(format!("badge {status}")) { (text) } }
}

/// An outcome name as a button label: `tidak_lengkap` becomes "Tidak lengkap".
pub fn humanize(name: &str) -> String {
    let text = name.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}
