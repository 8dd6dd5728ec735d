//! The service desk's pages (docs/desk.md): the receipt (tanda terima) of a registered case,
//! printable on A4 with a QR code to the public tracking page, and that page, `/lacak`, which
//! needs no account and no JavaScript.

use axum::extract::{Form, Query, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::layout::{layout, when};
use super::{html_page, parse_case, problem_page, t, Anyone, Page, PagePath, Viewer};
use crate::server::app::tracking::{track, NotTracked, Tracked};
use crate::server::app::{policy, read};
use crate::server::auth::ClientAddr;
use crate::server::problem::{say, Problem};
use crate::server::throttle::Wait;
use crate::server::State;

/// The tracking page's address for a number and secret, on the host the receipt was asked of.
fn tracking_url(state: &State, headers: &HeaderMap, number: &str, secret: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}/lacak?nomor={}&kode={}", super::encode(number), super::encode(secret))
}

/// The QR code of `text` as inline SVG (dark modules on white, quiet zone included).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(160, 160).build())
}

const RECEIPT_STYLE: &str = "@page { size: A4; margin: 18mm; } \
    .receipt { max-width: 174mm; margin: 0 auto; } .receipt .number { font-size: 1.6em; font-weight: bold; } \
    .receipt .secret { font-family: monospace; font-size: 1.4em; letter-spacing: .15em; } \
    .receipt .qr svg { width: 40mm; height: 40mm; } .receipt table { width: 100%; border-collapse: collapse; } \
    .receipt td, .receipt th { border: 1px solid #c9d1d9; padding: 4px 6px; text-align: left; vertical-align: top; }";

/// `GET /cases/{case}/receipt`: the receipt of a registered case, for whoever may see the case.
pub async fn receipt(
    AxumState(state): AxumState<State>,
    page: Page,
    headers: HeaderMap,
    PagePath(case): PagePath<String>,
) -> Response {
    let lang = page.lang;
    let id = match parse_case(&case, lang) {
        Ok(id) => id,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let (loaded, d) = match policy::visible_case(&page.ctx(&state), id).await {
        Ok(x) => x,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let Some(registration) = loaded.registration.clone() else {
        let problem = Problem::new(
            StatusCode::NOT_FOUND,
            "not-registered",
            say(
                lang,
                "Layanan ini tidak memberi nomor pendaftaran (tidak ada `nomor_pendaftaran` di SOP), jadi tidak ada tanda terima.",
                "This service gives no registration number (no `registration_number` in its SOP), so there is no receipt.",
            ),
        );
        return problem_page(&page.viewer(), &problem);
    };
    let out = match read::case_out(&page.ctx(&state), &loaded, &d).await {
        Ok(out) => out,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let zone = d.calendar.time_zone();
    let sop = &d.sop;
    let url = tracking_url(&state, &headers, &registration.number, &registration.secret);
    let qr = qr_svg(&url).unwrap_or_default();
    let promised = out.completion_date.or(out.promised);
    let body = html! {
        style { (PreEscaped(RECEIPT_STYLE)) }
        div.receipt {
            @if let Some(agency) = &sop.header.agency { p.muted { (agency) } }
            h1 { (t(lang, "Tanda Terima Pendaftaran", "Registration Receipt")) }
            p { span.number { (registration.number) } }
            table {
                tr { th { (t(lang, "Layanan", "Service")) } td { (sop.title) } }
                tr { th { (t(lang, "Pemohon", "Applicant")) } td { (out.applicant) } }
                tr { th { (t(lang, "Diterima", "Received")) } td { (when(lang, zone, out.started)) } }
                tr {
                    th { (t(lang, "Perkiraan selesai", "Promised completion")) }
                    td {
                        @match promised {
                            Some(p) => { (when(lang, zone, p)) " " small.muted { (t(lang, "(menurut hari kerja kantor)", "(on the office's working days)")) } }
                            None => { "—" }
                        }
                    }
                }
                tr {
                    th { (t(lang, "Dokumen diterima", "Documents received")) }
                    td {
                        @if out.attachments.is_empty() { "—" }
                        @else { ul { @for a in &out.attachments { li { (if a.label.is_empty() { &a.artifact } else { &a.label }) ": " (a.name) } } } }
                    }
                }
                @if !sop.header.desk_contact.is_empty() {
                    tr { th { (t(lang, "Kontak loket", "Desk contact")) } td { @for c in &sop.header.desk_contact { (c) br; } } }
                }
            }
            h2 { (t(lang, "Lacak permohonan Anda", "Track your application")) }
            div.qr { (PreEscaped(qr)) }
            p {
                (t(lang, "Pindai kode QR, atau buka ", "Scan the QR code, or open ")) code { (url.split('?').next().unwrap_or_default()) }
                (t(lang, " dan masukkan nomor pendaftaran beserta kode lacak:", " and enter the registration number with the tracking code:"))
            }
            p { (t(lang, "Kode lacak: ", "Tracking code: ")) span.secret { (registration.secret) } }
            p.muted { (t(lang, "Simpan tanda terima ini; kode lacak hanya tercetak di sini.", "Keep this receipt; the tracking code is printed only here.")) }
            p.no-print { a href=(format!("/cases/{}", out.id)) { (t(lang, "Kembali ke perkara", "Back to the case")) } }
        }
    };
    html_page(
        StatusCode::OK,
        layout(&page.viewer(), &format!("{} · {}", t(lang, "Tanda terima", "Receipt"), registration.number), body),
    )
}

#[derive(Deserialize, Default)]
pub struct LookupForm {
    #[serde(default)]
    pub nomor: Option<String>,
    #[serde(default)]
    pub kode: Option<String>,
}

/// The longest input looked at: a number is at most 80 characters plus its running digits.
const MAX_INPUT: usize = 120;

fn lookup_form(viewer: &Viewer, number: &str, problem: Option<&str>) -> Markup {
    let lang = viewer.lang;
    html! {
        h1 { (t(lang, "Lacak permohonan", "Track an application")) }
        p { (t(lang, "Masukkan nomor pendaftaran dan kode lacak yang tercetak pada tanda terima Anda.", "Enter the registration number and the tracking code printed on your receipt.")) }
        @if let Some(problem) = problem { div.error role="alert" { (problem) } }
        form method="post" action="/lacak" {
            label for="nomor" { (t(lang, "Nomor pendaftaran", "Registration number")) }
            input #nomor name="nomor" type="text" required maxlength="120" value=(number) autocomplete="off";
            label for="kode" { (t(lang, "Kode lacak", "Tracking code")) }
            input #kode name="kode" type="text" required maxlength="20" autocomplete="off";
            button type="submit" { (t(lang, "Lacak", "Track")) }
        }
    }
}

fn tracked_page(viewer: &Viewer, tracked: &Tracked) -> Markup {
    let (lang, zone) = (viewer.lang, tracked.zone);
    html! {
        h1 { (t(lang, "Status permohonan", "Application status")) }
        div.card {
            p { strong.number { (tracked.number) } br; (tracked.service) @if let Some(a) = &tracked.agency { " · " (a) } }
            p.status { strong { (tracked.status) } }
            dl.facts {
                dt { (t(lang, "Diajukan", "Submitted")) } dd { (when(lang, zone, tracked.submitted)) }
                @if !tracked.desks.is_empty() {
                    dt { (t(lang, "Berkas ada di", "The file is with")) } dd { (tracked.desks.join(", ")) }
                }
                dt { (t(lang, "Dijanjikan selesai", "Promised by")) }
                dd { @match tracked.promised { Some(p) => { (when(lang, zone, p)) } None => { "—" } } }
                @if let Some((reason, at, open)) = &tracked.returned {
                    dt { (t(lang, "Dikembalikan", "Returned")) }
                    dd {
                        (when(lang, zone, *at)) ": " (reason)
                        @if *open { " " (t(lang, "(menunggu perbaikan dari Anda)", "(waiting for your correction)")) }
                        @else { " " (t(lang, "(sudah diperbaiki)", "(corrected)")) }
                    }
                }
                @if let Some(closed) = tracked.closed {
                    dt { (t(lang, "Selesai pada", "Closed on")) } dd { (when(lang, zone, closed)) }
                }
                @if !tracked.desk_contact.is_empty() {
                    dt { (t(lang, "Kontak loket", "Desk contact")) } dd { @for c in &tracked.desk_contact { (c) br; } }
                }
            }
        }
        p { a href="/lacak" { (t(lang, "Lacak permohonan lain", "Track another application")) } }
    }
}

/// `GET /lacak`: the form; with `nomor` and `kode` (the receipt's QR code), the lookup.
pub async fn lacak_get(
    state: AxumState<State>,
    anyone: Anyone,
    addr: ClientAddr,
    Query(query): Query<LookupForm>,
) -> Response {
    match (&query.nomor, &query.kode) {
        (Some(_), Some(_)) => lookup(state, anyone, addr, query).await,
        _ => {
            let Anyone(viewer) = anyone;
            let number = query.nomor.unwrap_or_default();
            let body = lookup_form(&viewer, &number, None);
            no_store(html_page(
                StatusCode::OK,
                layout(&viewer, t(viewer.lang, "Lacak permohonan", "Track an application"), body),
            ))
        }
    }
}

/// `POST /lacak`: the lookup from the form.
pub async fn lacak_post(
    state: AxumState<State>,
    anyone: Anyone,
    addr: ClientAddr,
    Form(form): Form<LookupForm>,
) -> Response {
    lookup(state, anyone, addr, form).await
}

fn no_store(mut response: Response) -> Response {
    // A tracking answer is the applicant's: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn lookup(
    AxumState(state): AxumState<State>,
    Anyone(viewer): Anyone,
    ClientAddr(addr): ClientAddr,
    form: LookupForm,
) -> Response {
    let lang = viewer.lang;
    let title = t(lang, "Lacak permohonan", "Track an application");
    let number: String = form.nomor.unwrap_or_default().trim().chars().take(MAX_INPUT).collect();
    let secret: String = form.kode.unwrap_or_default().chars().take(MAX_INPUT).collect();
    let now = state.engine.now();
    if let Err(Wait(seconds)) = state.throttle.check_tracking(&number, addr, now) {
        let message = say(
            lang,
            &format!("Terlalu banyak percobaan yang salah. Coba lagi dalam {seconds} detik."),
            &format!("Too many wrong attempts. Try again in {seconds} seconds."),
        );
        let mut response = html_page(
            StatusCode::TOO_MANY_REQUESTS,
            layout(&viewer, title, lookup_form(&viewer, &number, Some(&message))),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return no_store(response);
    }
    match track(&state, &number, &secret, lang).await {
        Ok(tracked) => no_store(html_page(StatusCode::OK, layout(&viewer, title, tracked_page(&viewer, &tracked)))),
        Err(NotTracked::NoMatch) => {
            state.throttle.failed_tracking(&number, addr, now);
            // One answer for a wrong number and a wrong code: no hint which part was wrong.
            let message = say(
                lang,
                "Nomor pendaftaran atau kode lacak tidak cocok. Periksa tanda terima Anda.",
                "The registration number or the tracking code does not match. Check your receipt.",
            );
            no_store(html_page(
                StatusCode::NOT_FOUND,
                layout(&viewer, title, lookup_form(&viewer, &number, Some(&message))),
            ))
        }
        Err(NotTracked::Unavailable) => {
            let message = say(
                lang,
                "Layanan pelacakan sedang tidak tersedia. Coba lagi sebentar lagi.",
                "Tracking is unavailable right now. Try again shortly.",
            );
            no_store(html_page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(&viewer, title, lookup_form(&viewer, &number, Some(&message))),
            ))
        }
    }
}
