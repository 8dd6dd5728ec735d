//! The web pages, through the router: who is sent to sign in, what each page shows each role,
//! what it hides, that refusals are friendly pages in the reader's language, and that what
//! people typed is escaped.

use alur::runtime::{Engine, ManualClock, MemoryStore};
use alur::server::accounts::{Accounts, Role, User};
use alur::server::catalog::Catalog;
use alur::server::{router, AppState, State};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

/// A WITA wall-clock time as UTC.
fn wita(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Makassar.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().with_timezone(&Utc)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A server on a temporary copy of `sop/`, with an in-memory store and accounts, a manual
/// clock, and one user per role the tests need (password `sandi`).
pub struct Site {
    pub state: State,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub content_type: String,
    pub body: String,
}

const USERS: &[(&str, &str)] = &[
    ("pemohon", "applicant"),
    ("tetangga", "applicant"),
    ("front_office", "front_office"),
    ("back_office", "back_office"),
    ("analis", "analyst"),
    ("admin", "admin"),
];

impl Site {
    pub async fn new(secure_cookies: bool) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&root.join("sop"), &dir.path().join("sop"));
        let clock = Arc::new(ManualClock::new(wita(2026, 12, 1, 8, 0)));
        let engine = Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap());
        let accounts = Arc::new(Accounts::open(None).unwrap());
        let catalog = Catalog::new(&dir.path().join("sop"));
        let state = Arc::new(AppState {
            engine,
            accounts,
            catalog,
            secure_cookies,
            throttle: Default::default(),
            metrics: Arc::new(alur::server::metrics::Metrics::new(None).unwrap()),
        });
        let report = state.catalog.reload(&state.engine).await;
        assert!(report.files.iter().all(|f| f.refused.is_none()), "the shipped SOPs deploy");
        for (name, role) in USERS {
            let user = User {
                name: name.to_string(),
                display: format!("{name} <demo>"),
                roles: vec![Role::parse(role).unwrap()],
            };
            state.accounts.create_user(&user, "sandi").await.unwrap();
        }
        Site { state, clock, _dir: dir }
    }

    /// The session cookie of a signed-in user.
    pub async fn cookie(&self, user: &str) -> String {
        let (token, _) = self.state.accounts.sign_in(user, "sandi").await.unwrap().unwrap();
        format!("alur_session={token}")
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        let cookies =
            response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        Reply { status, headers, location, cookies, content_type, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, cookie: Option<&str>, path: &str) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, cookie: Option<&str>, path: &str, form: &[(&str, &str)]) -> Reply {
        let body: String =
            form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Starts an LKS application as `pemohon` and gives its case id.
    pub async fn apply_lks(&self, cookie: &str) -> String {
        let reply = self.post(Some(cookie), "/apply/lks_lksa", &[]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let location = reply.location.unwrap();
        assert!(location.ends_with("?msg=started"), "{location}");
        location.trim_start_matches("/cases/").trim_end_matches("?msg=started").to_string()
    }

    /// The number of the open task of a case (there is one in these tests).
    pub async fn open_task(&self, case: &str) -> u32 {
        let state = self.state.engine.load(case.parse().unwrap()).await.unwrap();
        let open: Vec<_> = state.open_tasks().collect();
        assert_eq!(open.len(), 1);
        open[0].no
    }

    pub async fn complete(&self, cookie: &str, case: &str, form: &[(&str, &str)]) -> Reply {
        let task = self.open_task(case).await;
        self.post(Some(cookie), &format!("/cases/{case}/tasks/{task}/complete"), form).await
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The visible text of a page, tags removed and whitespace collapsed, for `contains` checks.
fn text(html: &str) -> String {
    let without_style = match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}{}", &html[..a], &html[b..]),
        _ => html.to_string(),
    };
    let mut out = String::new();
    let mut in_tag = false;
    for c in without_style.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ").replace("&amp;", "&")
}

#[tokio::test]
async fn pages_without_a_session_go_to_sign_in() {
    let site = Site::new(false).await;
    for path in ["/inbox", "/applications", "/dashboard", "/admin/users", "/sops/lks_lksa", "/apply"] {
        let reply = site.get(None, path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location.as_deref(), Some(format!("/login?next={path}").as_str()));
    }
    let reply = site.get(None, "/").await;
    assert_eq!(reply.location.as_deref(), Some("/login"));
    let reply = site.post(None, "/apply/lks_lksa", &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.location.unwrap().starts_with("/login"));
    // A stale cookie is no session.
    let reply = site.get(Some("alur_session=alur_00"), "/inbox").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it() {
    let site = Site::new(false).await;
    let page = site.get(None, "/login?next=/inbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"));
    let words = text(&page.body);
    assert!(words.contains("Masuk") && words.contains("Kata sandi"), "{words}");
    assert!(page.body.contains(r#"name="next" value="/inbox""#));

    let empty = site.post(None, "/login", &[]).await;
    assert_eq!(empty.status, StatusCode::UNAUTHORIZED);
    let wrong = site.post(None, "/login", &[("user", "pemohon"), ("password", "nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(text(&wrong.body).contains("Nama pengguna atau kata sandi salah."));
    assert!(wrong.cookies.is_empty());

    let ok = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi"), ("next", "/applications")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location.as_deref(), Some("/applications"));
    let cookie = ok.cookies.iter().find(|c| c.starts_with("alur_session=")).expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"));
    let session = cookie.split(';').next().unwrap().to_string();
    assert_eq!(site.get(Some(&session), "/applications").await.status, StatusCode::OK);

    // Only local paths are followed after sign-in.
    let away =
        site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi"), ("next", "//evil.example")]).await;
    assert_eq!(away.location.as_deref(), Some("/"));

    let out = site.post(Some(&session), "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert!(out.cookies.iter().any(|c| c.starts_with("alur_session=;") && c.contains("Max-Age=0")));
    assert_eq!(site.get(Some(&session), "/applications").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_asked() {
    let site = Site::new(true).await;
    let ok = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi")]).await;
    assert!(ok.cookies.iter().any(|c| c.starts_with("alur_session=") && c.contains("; Secure")), "{:?}", ok.cookies);
}

#[tokio::test]
async fn the_language_switch_sets_a_cookie_and_every_page_follows_it() {
    let site = Site::new(false).await;
    let cookie = site.cookie("front_office").await;
    let id = text(&site.get(Some(&cookie), "/inbox").await.body);
    assert!(id.contains("Tugas saya") && id.contains("Keluar"), "{id}");
    let switch = site.get(None, "/lang?to=en&back=/inbox").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location.as_deref(), Some("/inbox"));
    assert!(switch.cookies.iter().any(|c| c.starts_with("alur_lang=en")));
    let both = format!("{cookie}; alur_lang=en");
    let en = site.get(Some(&both), "/inbox").await;
    let en_text = text(&en.body);
    assert!(
        en_text.contains("My tasks") && en_text.contains("Sign out") && !en_text.contains("Tugas saya"),
        "{en_text}"
    );
    assert!(en.body.contains(r#"<html lang="en">"#));
    // Bahasa Indonesia is the default, whatever the browser asks for.
    let request = Request::get("/login").header(header::ACCEPT_LANGUAGE, "en-US").body(Body::empty()).unwrap();
    assert!(text(&site.send(request).await.body).contains("Kata sandi"));
    // The switch goes back only to this site.
    let away = site.get(None, "/lang?to=en&back=https://evil.example/").await;
    assert_eq!(away.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn an_application_moves_from_desk_to_desk_and_the_tracker_follows() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let front = site.cookie("front_office").await;

    let form = text(&site.get(Some(&pemohon), "/apply").await.body);
    assert!(form.contains("SOP Izin Operasional/Perpanjangan LKS/LKSA"), "{form}");
    let case = site.apply_lks(&pemohon).await;

    // The tracker: the file waits for the applicant (step 1 is theirs).
    let page = site.get(Some(&pemohon), &format!("/cases/{case}?msg=started")).await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page.body);
    assert!(words.contains("Permohonan terkirim."), "{words}");
    assert!(words.contains("Berkas ada di Pemohon (menunggu Anda)"), "{words}");
    assert!(words.contains("Dijanjikan selesai"), "{words}");
    assert!(words.contains("Permohonan diajukan oleh pemohon"), "{words}");

    // The applicant's own step is in their inbox, with working time left.
    let inbox = text(&site.get(Some(&pemohon), "/inbox").await.body);
    assert!(inbox.contains("1. Mengajukan Permohonan Pendaftaran"), "{inbox}");
    assert!(inbox.contains("30 menit kerja lagi"), "{inbox}");
    let raw = site.get(Some(&pemohon), "/inbox").await.body;
    assert!(raw.contains(r#"<meta http-equiv="refresh" content="60">"#), "the inbox keeps its countdown current");
    let done = site.complete(&pemohon, &case, &[("note", "")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/inbox?msg=done"));

    // Front office: the task page shows the step as the SOP writes it, and its outcomes.
    let task = site.open_task(&case).await;
    let page = site.get(Some(&front), &format!("/cases/{case}/tasks/{task}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page.body);
    for expected in [
        "Langkah 2: Memverifikasi berkas permohonan",
        "Data Elektronik",
        "Berkas yang sdh diperiksa",
        "10 Menit",
        "Otomatis terouting ke Back Office",
        "Ambil tugas ini",
    ] {
        assert!(words.contains(expected), "missing {expected:?} in {words}");
    }
    assert!(page.body.contains(r#"name="outcome" value="diterima""#));
    assert!(page.body.contains(r#"name="outcome" value="ditolak""#));
    assert!(!page.body.contains(">Selesai</button>"), "a deciding step has no plain done button");

    // Returned to the applicant, with a note that shows on the tracker, escaped.
    let back =
        site.complete(&front, &case, &[("outcome", "ditolak"), ("note", "<script>alert(1)</script> KTP kurang")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let page = site.get(Some(&pemohon), &format!("/cases/{case}")).await;
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; KTP kurang"));
    assert!(!page.body.contains("<script>alert(1)"));
    let words = text(&page.body);
    assert!(words.contains("Dikembalikan ke pemohon untuk dilengkapi (putaran 1)"), "{words}");
    assert!(words.contains("Berkas ada di Pemohon"), "{words}");

    // Resubmitted and accepted: the back office has it.
    site.complete(&pemohon, &case, &[]).await;
    site.complete(&front, &case, &[("outcome", "diterima")]).await;
    let words = text(&site.get(Some(&pemohon), &format!("/cases/{case}")).await.body);
    assert!(words.contains("Berkas ada di meja Back Office"), "{words}");
    let mine = text(&site.get(Some(&pemohon), "/applications").await.body);
    assert!(mine.contains("Back Office") && mine.contains("Sedang diproses"), "{mine}");
    // The plain done button of a step without a decision.
    let task = site.open_task(&case).await;
    let page = site.get(Some(&site.cookie("back_office").await), &format!("/cases/{case}/tasks/{task}")).await;
    assert!(page.body.contains(">Selesai</button>"));
}

#[tokio::test]
async fn overdue_and_due_soon_tasks_are_marked_in_working_time() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let front = site.cookie("front_office").await;
    let case = site.apply_lks(&pemohon).await;
    site.complete(&pemohon, &case, &[]).await;
    // The verification has 10 working minutes; 8 gone: due soon.
    site.clock.advance(chrono::Duration::minutes(8));
    let page = site.get(Some(&front), "/inbox").await;
    assert!(page.body.contains(r#"<tr class="due_soon">"#), "{}", text(&page.body));
    assert!(text(&page.body).contains("2 menit kerja lagi"));
    // 45 minutes later: overdue by 35 working minutes.
    site.clock.advance(chrono::Duration::minutes(37));
    let page = site.get(Some(&front), "/inbox").await;
    assert!(page.body.contains(r#"<tr class="overdue">"#));
    let words = text(&page.body);
    assert!(words.contains("terlambat 35 menit kerja"), "{words}");
    let en = text(&site.get(Some(&front), "/inbox?lang=en").await.body);
    assert!(en.contains("35 min of working time overdue"), "{en}");
    // The case list filters on it.
    let list = text(&site.get(Some(&front), "/cases?overdue=1").await.body);
    assert!(list.contains("1 perkara"), "{list}");
}

#[tokio::test]
async fn roles_see_only_what_is_theirs() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let case = site.apply_lks(&pemohon).await;
    let task = site.open_task(&case).await;

    // Another applicant: not even the case's existence is told, and the page is HTML.
    let other = site.cookie("tetangga").await;
    let page = site.get(Some(&other), &format!("/cases/{case}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type.starts_with("text/html"));
    assert!(text(&page.body).contains("Tidak ditemukan"));
    assert!(!text(&site.get(Some(&other), "/applications").await.body).contains("LKS"));
    assert_eq!(site.get(Some(&other), &format!("/cases/{case}/tasks/{task}")).await.status, StatusCode::NOT_FOUND);

    // A desk that does not hold the step may not act on it.
    let back = site.cookie("back_office").await;
    let page = site.get(Some(&back), &format!("/cases/{case}/tasks/{task}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(text(&page.body).contains("Tugas ini milik meja Pemohon"), "{}", text(&page.body));
    let post = site.post(Some(&back), &format!("/cases/{case}/tasks/{task}/complete"), &[]).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_eq!(site.open_task(&case).await, task, "nothing moved");
    // Staff see the case, but not the applicant's withdraw form.
    let page = site.get(Some(&back), &format!("/cases/{case}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("/withdraw"));
    assert!(site.get(Some(&pemohon), &format!("/cases/{case}")).await.body.contains("/withdraw"));

    // Pages by role.
    for (user, path, status) in [
        ("pemohon", "/dashboard", StatusCode::FORBIDDEN),
        ("pemohon", "/sops/lks_lksa", StatusCode::FORBIDDEN),
        ("pemohon", "/admin/users", StatusCode::FORBIDDEN),
        ("front_office", "/dashboard", StatusCode::FORBIDDEN),
        ("front_office", "/sops/lks_lksa", StatusCode::OK),
        ("analis", "/admin/users", StatusCode::FORBIDDEN),
        ("analis", "/dashboard", StatusCode::OK),
        ("admin", "/admin/users", StatusCode::OK),
    ] {
        let reply = site.get(Some(&site.cookie(user).await), path).await;
        assert_eq!(reply.status, status, "{user} {path}");
        if status == StatusCode::FORBIDDEN {
            assert!(text(&reply.body).contains("Tidak diizinkan"), "{user} {path}");
        }
    }
    let reply = site.post(Some(&site.cookie("analis").await), "/admin/reload", &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // The navigation offers each role its own pages only.
    let nav = site.get(Some(&pemohon), "/applications").await.body;
    assert!(
        nav.contains(r#"href="/apply""#)
            && !nav.contains(r#"href="/dashboard""#)
            && !nav.contains(r#"href="/admin/users""#)
    );
    let nav = site.get(Some(&site.cookie("admin").await), "/admin/users").await.body;
    assert!(nav.contains(r#"href="/dashboard""#) && nav.contains(r#"href="/admin/users""#));

    // Home sends each role to its first page.
    for (user, to) in [("pemohon", "/applications"), ("front_office", "/inbox"), ("analis", "/dashboard")] {
        assert_eq!(site.get(Some(&site.cookie(user).await), "/").await.location.as_deref(), Some(to));
    }
}

#[tokio::test]
async fn refused_commands_are_shown_on_the_page_in_the_readers_language() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let front = site.cookie("front_office").await;
    let case = site.apply_lks(&pemohon).await;
    site.complete(&pemohon, &case, &[]).await;
    let task = site.open_task(&case).await;

    // A deciding step completed without an outcome.
    let reply = site.post(Some(&front), &format!("/cases/{case}/tasks/{task}/complete"), &[("note", "x")]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.content_type.starts_with("text/html"));
    let words = text(&reply.body);
    assert!(words.contains("memerlukan keputusan"), "{words}");
    assert!(words.contains("Langkah 2: Memverifikasi berkas permohonan"), "the task page again: {words}");

    // Taken by someone else.
    let other =
        User { name: "front2".into(), display: "Front 2".into(), roles: vec![Role::parse("front_office").unwrap()] };
    site.state.accounts.create_user(&other, "sandi").await.unwrap();
    let claim = site.post(Some(&front), &format!("/cases/{case}/tasks/{task}/claim"), &[]).await;
    assert_eq!(claim.status, StatusCode::SEE_OTHER);
    assert_eq!(claim.location, Some(format!("/cases/{case}/tasks/{task}?msg=claimed")));
    let taken = site.get(Some(&front), &format!("/cases/{case}/tasks/{task}")).await;
    assert!(taken.body.contains("/release"));
    let second = format!("{}; alur_lang=en", site.cookie("front2").await);
    let reply =
        site.post(Some(&second), &format!("/cases/{case}/tasks/{task}/complete"), &[("outcome", "diterima")]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let words = text(&reply.body);
    assert!(words.contains("front_office") && words.contains("Step 2"), "{words}");
    assert!(!reply.body.contains("\"code\""), "not raw JSON");

    // Wrong typed value in a field (the reklame SOP has a yes/no field).
    let reply = site
        .post(Some(&pemohon), "/apply/izin_reklame", &[("entry", "daftar_online"), ("f_perlu_survei", "mungkin")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let words = text(&reply.body);
    assert!(words.contains("perlu_survei") && words.contains("mungkin"), "{words}");
    assert!(reply.body.contains(r#"value="daftar_online" checked"#), "the form keeps the choice");
}

#[tokio::test]
async fn the_round_limit_is_a_page_not_a_crash() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let back = site.cookie("back_office").await;
    // The entry choice is offered as radio buttons.
    let form = site.get(Some(&pemohon), "/apply/izin_reklame").await.body;
    assert!(form.contains(r#"value="daftar_loket""#) && form.contains(r#"value="daftar_online""#));
    assert!(form.contains(r#"name="f_perlu_survei""#));
    assert!(!form.contains(r#"name="f_hasil""#), "a field a decision records is not the applicant's to fill");
    assert!(form.contains(r#"value="daftar_online" checked"#), "online is the applicant's default entry");
    let counter = site.get(Some(&site.cookie("front_office").await), "/apply/izin_reklame").await.body;
    assert!(counter.contains(r#"value="daftar_loket" checked"#), "the counter is the front office's default");
    let reply = site
        .post(Some(&pemohon), "/apply/izin_reklame", &[("entry", "daftar_online"), ("f_perlu_survei", "tidak")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", text(&reply.body));
    let case = reply.location.unwrap().trim_start_matches("/cases/").trim_end_matches("?msg=started").to_string();
    for round in 0..2 {
        assert_eq!(site.complete(&pemohon, &case, &[]).await.status, StatusCode::SEE_OTHER);
        if round == 0 {
            let task = site.open_task(&case).await;
            let page = site.get(Some(&back), &format!("/cases/{case}/tasks/{task}")).await.body;
            assert!(page.contains(r#"name="f_perlu_survei""#), "the verifier may set the survey field");
            assert!(!page.contains(r#"name="f_hasil""#), "the recorded decision is not a free field");
            assert!(page.contains(r#"value="tidak_lengkap""#) && text(&page).contains("Tidak lengkap"));
        }
        let r = site.complete(&back, &case, &[("outcome", "tidak_lengkap")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r.body));
    }
    site.complete(&pemohon, &case, &[]).await;
    let reply = site.complete(&back, &case, &[("outcome", "tidak_lengkap")]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(text(&reply.body).contains("sudah dipilih 2 kali, batas yang diizinkan SOP"), "{}", text(&reply.body));
}

#[tokio::test]
async fn documents_upload_from_the_task_page_and_download_with_the_cookie() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let case = site.apply_lks(&pemohon).await;
    let task = site.open_task(&case).await;
    let page = site.get(Some(&pemohon), &format!("/cases/{case}/tasks/{task}")).await.body;
    assert!(page.contains(r#"enctype="multipart/form-data""#));
    assert!(!page.contains("/claim"), "an applicant's own step is not taken like a desk's");
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\npersyaratan\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"task\"\r\n\r\n{task}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ktp <1>.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 hello\r\n\
         --{boundary}--\r\n"
    );
    let request = Request::post(format!("/cases/{case}/documents"))
        .header(header::COOKIE, &pemohon)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let reply = site.send(request).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location, Some(format!("/cases/{case}/tasks/{task}?msg=attached")));
    let page = site.get(Some(&pemohon), &format!("/cases/{case}")).await.body;
    assert!(page.contains(&format!("/api/cases/{case}/artifacts/0")));
    assert!(page.contains("ktp &lt;1&gt;.pdf"));
    let download = site.get(Some(&pemohon), &format!("/api/cases/{case}/artifacts/0")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, "%PDF-1.4 hello");
    // A file that is not what it says: the reason, as a page, naming the types taken.
    let fake = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\npersyaratan\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ktp.pdf\"\r\nContent-Type: application/pdf\r\n\r\n<html>bukan pdf</html>\r\n\
         --{boundary}--\r\n"
    );
    let request = Request::post(format!("/cases/{case}/documents"))
        .header(header::COOKIE, &pemohon)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(fake))
        .unwrap();
    let reply = site.send(request).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.body.contains("Isi berkas tidak sesuai") && reply.body.contains("PDF, PNG, JPEG"), "{}", reply.body);
    // Without a file: the reason, as a page.
    let empty = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\npersyaratan\r\n--{boundary}--\r\n"
    );
    let request = Request::post(format!("/cases/{case}/documents"))
        .header(header::COOKIE, &pemohon)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(empty))
        .unwrap();
    let reply = site.send(request).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&reply.body).contains("Lampirkan berkasnya"));
}

#[tokio::test]
async fn the_applicant_can_withdraw_and_the_tracker_says_so() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let case = site.apply_lks(&pemohon).await;
    let reply = site.post(Some(&site.cookie("front_office").await), &format!("/cases/{case}/withdraw"), &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = site.post(Some(&pemohon), &format!("/cases/{case}/withdraw"), &[("reason", "salah isi")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let words = text(&site.get(Some(&pemohon), &format!("/cases/{case}")).await.body);
    assert!(words.contains("Ditarik") && words.contains("Permohonan ditarik"), "{words}");
}

#[tokio::test]
async fn the_analysts_sop_page_shows_the_table_the_timing_and_the_checker() {
    let site = Site::new(false).await;
    let analis = site.cookie("analis").await;
    let page = site.get(Some(&analis), "/sops/lks_lksa").await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page.body);
    for expected in [
        "No Kegiatan Pelaksana Kelengkapan Waktu Output Keterangan",
        "Memverifikasi berkas permohonan Front Office Data Elektronik 10 Menit Berkas yang sdh diperiksa",
        "Jalur utama 4 Hari 1 Jam 18 Menit 5",
        "Total tertulis di SOP 4 Hari 1 Jam 18 Menit 5 sama dengan jalur utama",
        "Dinas Teknis 1 4 Hari",
        "Hasil pemeriksaan",
        "Diagram alur",
        "Dokumen SOP resmi",
    ] {
        assert!(words.contains(expected), "missing {expected:?} in {words}");
    }
    assert!(page.body.contains(r#"id="diagram""#) && page.body.contains(r#"id="official-document""#));
    let en = text(&site.get(Some(&analis), "/sops/lks_lksa?lang=en").await.body);
    assert!(en.contains("Main path 4 workdays 1 hour 18 minutes"), "{en}");
    let list = text(&site.get(Some(&analis), "/sops").await.body);
    assert!(list.contains("SOP Izin Penyelenggaraan Reklame") && list.contains("0 kesalahan"), "{list}");
    assert_eq!(site.get(Some(&analis), "/sops/no_such_sop").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sla_dashboard_counts_cases_per_sop_step_and_actor() {
    let site = Site::new(false).await;
    let pemohon = site.cookie("pemohon").await;
    let a = site.apply_lks(&pemohon).await;
    site.apply_lks(&pemohon).await;
    site.complete(&pemohon, &a, &[]).await;
    site.clock.advance(chrono::Duration::hours(1));
    let page = site.get(Some(&site.cookie("analis").await), "/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page.body);
    // Both are overdue an hour later (30 and 10 working minutes).
    assert!(words.contains("SOP Izin Operasional/Perpanjangan LKS/LKSA 2 2 0 0 0"), "{words}");
    assert!(words.contains("Per langkah SOP Izin Operasional/Perpanjangan LKS/LKSA Langkah Terbuka Selesai Terlambat Rata-rata waktu kerja Standar 1 Mengajukan"), "{words}");
    assert!(words.contains("2 Memverifikasi berkas permohonan 1 0 1"), "{words}");
    assert!(words.contains("Front Office 1 0 1 — 10 menit Pemohon 1 1 1 0 menit 30 menit"), "{words}");
}

#[tokio::test]
async fn admins_create_users_and_reload_the_sops() {
    let site = Site::new(false).await;
    let admin = site.cookie("admin").await;
    let page = site.get(Some(&admin), "/admin/users").await;
    assert!(page.body.contains("front_office &lt;demo&gt;"), "display names are escaped");
    assert!(!page.body.contains("front_office <demo>"));
    assert!(page.body.contains(r#"value="kepala_dinas""#), "the SOPs' desks are offered as roles");
    let reply = site
        .post(
            Some(&admin),
            "/admin/users",
            &[("name", "kabid1"), ("display", "Kabid"), ("password", "kopi-tubruk-2026"), ("role", "kabid")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", text(&reply.body));
    assert_eq!(site.state.accounts.user("kabid1").await.unwrap().unwrap().roles, vec![Role::Actor("kabid".into())]);
    let again = site
        .post(Some(&admin), "/admin/users", &[("name", "kabid1"), ("password", "teh-manis-hangat"), ("role", "kabid")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(text(&again.body).contains("Pengguna `kabid1` sudah ada."));
    let none = site.post(Some(&admin), "/admin/users", &[("name", "x"), ("password", "xxxx")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The password policy: long enough, not the name, not a common password; in the reader's language.
    for password in ["rahasia", "kabid2-kantor", "bismillah2026"] {
        let weak = site
            .post(Some(&admin), "/admin/users", &[("name", "kabid2"), ("password", password), ("role", "kabid")])
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert!(text(&weak.body).contains("kata sandi"), "{password}: {}", text(&weak.body));
    }
    assert!(site.state.accounts.user("kabid2").await.unwrap().is_none());
    let reload = site.post(Some(&admin), "/admin/reload", &[]).await;
    assert_eq!(reload.status, StatusCode::OK);
    assert!(text(&reload.body).contains("lks-lksa.sop"));
    // The actions are in the audit log.
    let audit = site.state.accounts.audit_entries(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "user_create" && e.target == "kabid1" && e.status == 201));
}

#[tokio::test]
async fn unknown_pages_are_friendly_and_the_api_keeps_its_problem_details() {
    let site = Site::new(false).await;
    let page = site.get(None, "/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type.starts_with("text/html"));
    assert!(text(&page.body).contains("Halaman ini tidak ditemukan."));
    let api = site.get(None, "/api/no/such").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.content_type, "application/problem+json");
    let bad = site.get(Some(&site.cookie("analis").await), "/cases/not-a-case").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn staff_apply_at_the_counter_in_the_applicants_name() {
    let site = Site::new(false).await;
    let front = site.cookie("front_office").await;
    let form = site.get(Some(&front), "/apply/izin_reklame").await.body;
    assert!(form.contains(r#"name="applicant""#), "the counter form asks for the applicant");
    let missing = site.post(Some(&front), "/apply/izin_reklame", &[("entry", "daftar_loket")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&missing.body).contains("Sebutkan nama pemohon"));
    let reply = site
        .post(
            Some(&front),
            "/apply/izin_reklame",
            &[("entry", "daftar_loket"), ("applicant", "pemohon"), ("f_perlu_survei", "ya")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", text(&reply.body));
    let words = text(&site.get(Some(&front), reply.location.as_deref().unwrap()).await.body);
    assert!(words.contains("Berkas ada di meja Petugas Front Office"), "{words}");
    assert!(words.contains("Reklame permanen atau ukuran di atas 8 m2 wajib disurvei ya"), "{words}");
    let mine = text(&site.get(Some(&site.cookie("pemohon").await), "/applications").await.body);
    assert!(mine.contains("SOP Izin Penyelenggaraan Reklame"), "{mine}");
    // An analyst is no desk: no application forms.
    assert_eq!(site.get(Some(&site.cookie("analis").await), "/apply/lks_lksa").await.status, StatusCode::FORBIDDEN);
}

/// Issue 23: `/lang?back=/%09/evil.example` and the sign-in's `next` let a tab through, which
/// a browser drops, leaving `//evil.example`.
#[tokio::test]
async fn redirects_stay_on_this_site() {
    let site = Site::new(false).await;
    for back in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%20/evil.example",
        "/%E2%80%A8/evil.example",
        "%09//evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
    ] {
        let reply = site.get(None, &format!("/lang?to=en&back={back}")).await;
        assert_eq!(reply.location.as_deref(), Some("/"), "/lang back={back}");
        let decoded = back
            .replace("%09", "\t")
            .replace("%0A", "\n")
            .replace("%20", " ")
            .replace("%5C", "\\")
            .replace("%E2%80%A8", "\u{2028}");
        let reply = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi"), ("next", &decoded)]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert_eq!(reply.location.as_deref(), Some("/"), "/login next={decoded:?}");
        let page = site.get(None, &format!("/login?next={back}")).await;
        assert!(page.body.contains(r#"name="next" value="/""#), "/login?next={back}");
    }
    for good in ["/inbox", "/cases?status=active&lang=en", "/sops/lks_lksa"] {
        let reply = site.get(None, &format!("/lang?to=en&back={}", encode(good))).await;
        assert_eq!(reply.location.as_deref(), Some(good));
    }
}

/// Issue 23: no sign-in throttling on the web form either.
#[tokio::test]
async fn the_sign_in_form_is_throttled_with_a_friendly_page() {
    let site = Site::new(false).await;
    let mut last = None;
    for _ in 0..25 {
        last = Some(site.post(None, "/login", &[("user", "pemohon"), ("password", "salah"), ("next", "/")]).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.content_type.starts_with("text/html"));
    assert!(text(&last.body).contains("Terlalu banyak"), "{}", text(&last.body));
    let right = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi"), ("next", "/")]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = right.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    site.clock.advance(chrono::Duration::seconds(wait + 1));
    let right = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi"), ("next", "/")]).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
}

/// Issue 23: bad path or query values and wrong methods gave plain-text answers.
#[tokio::test]
async fn bad_addresses_and_methods_are_friendly_pages() {
    let site = Site::new(false).await;
    let cookie = format!("{}; alur_lang=en", site.cookie("front_office").await);
    let case = site.apply_lks(&site.cookie("pemohon").await).await;
    for (method, path, status) in [
        ("GET", format!("/cases/{case}/tasks/abc"), StatusCode::NOT_FOUND),
        ("POST", format!("/cases/{case}/tasks/abc/claim"), StatusCode::NOT_FOUND),
        ("GET", format!("/cases/{case}/tasks/99999999999"), StatusCode::NOT_FOUND),
        ("DELETE", "/inbox".to_string(), StatusCode::METHOD_NOT_ALLOWED),
        ("PUT", "/login".to_string(), StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap();
        let reply = site.send(request).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        assert!(reply.content_type.starts_with("text/html"), "{method} {path}: {}", reply.content_type);
        assert!(reply.body.contains(r#"<html lang="en">"#), "{method} {path}");
        assert!(!reply.body.contains("Cannot parse") && !reply.body.contains("Failed to"), "{}", reply.body);
    }
}

/// The application form refuses an entry the SOP does not offer, on the page, naming the
/// entries, instead of opening the default one.
#[tokio::test]
async fn the_application_form_refuses_an_unknown_entry() {
    let site = Site::new(false).await;
    let pemohon = format!("{}; alur_lang=en", site.cookie("pemohon").await);
    let reply = site
        .post(Some(&pemohon), "/apply/izin_reklame", &[("entry", "daftar_lewat_pos"), ("f_perlu_survei", "tidak")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&reply.body));
    let words = text(&reply.body);
    assert!(words.contains("daftar_lewat_pos") && words.contains("daftar_loket"), "{words}");
}

/// The session cookie a sign-in through the form set.
fn session_of(reply: &Reply) -> String {
    let cookie = reply.cookies.iter().find(|c| c.starts_with("alur_session=")).expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// An admin disables a user from the user's page: the user's session stops working, the
/// sign-in form says the account is disabled; enabled again, they sign in.
#[tokio::test]
async fn a_disabled_user_is_signed_out_and_told_so_at_sign_in() {
    let site = Site::new(false).await;
    let admin = format!("{}; alur_lang=en", site.cookie("admin").await);
    let pemohon = site.cookie("pemohon").await;
    assert_eq!(site.get(Some(&pemohon), "/applications").await.status, StatusCode::OK);
    let users = site.get(Some(&admin), "/admin/users").await;
    assert!(users.body.contains(r#"href="/admin/users/pemohon""#), "each user links to their page");
    let page = site.get(Some(&admin), "/admin/users/pemohon").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page.body).contains("Disable"), "{}", text(&page.body));
    let off = site.post(Some(&admin), "/admin/users/pemohon/disable", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", text(&off.body));
    assert_eq!(off.location.as_deref(), Some("/admin/users/pemohon?msg=disabled"));
    let after = site.get(Some(&pemohon), "/applications").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the disabled user's session ended");
    assert!(after.location.unwrap().starts_with("/login"));
    let refused = site.post(None, "/login?lang=en", &[("user", "pemohon"), ("password", "sandi")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(text(&refused.body).contains("This account is disabled"), "{}", text(&refused.body));
    assert!(refused.cookies.is_empty());
    let listed = site.get(Some(&admin), "/admin/users").await;
    assert!(text(&listed.body).contains("disabled"));
    // Not oneself.
    let own = site.post(Some(&admin), "/admin/users/admin/disable", &[]).await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(text(&own.body).contains("An admin cannot disable themselves."));
    let on = site.post(Some(&admin), "/admin/users/pemohon/enable", &[]).await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let back = site.post(None, "/login", &[("user", "pemohon"), ("password", "sandi")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    let audit = site.state.accounts.audit_entries(50).await.unwrap();
    assert!(audit.iter().any(|e| e.user == "admin" && e.action == "user_disable" && e.target == "pemohon"));
    assert!(audit.iter().any(|e| e.user == "admin" && e.action == "user_enable" && e.target == "pemohon"));
}

/// An admin resets a password from the user's page (a made one is shown once); signed in
/// with it, every page leads to the change form until the password is changed.
#[tokio::test]
async fn a_reset_password_leads_every_page_to_the_change_form() {
    let site = Site::new(false).await;
    let admin = site.cookie("admin").await;
    let reset = site.post(Some(&admin), "/admin/users/front_office/password", &[("password", "")]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", text(&reset.body));
    let words = text(&reset.body);
    assert!(words.contains("Kata sandi sementara"), "{words}");
    let temporary = reset.body.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_string();
    assert!(temporary.len() >= 10, "{temporary}");

    let signed =
        site.post(None, "/login", &[("user", "front_office"), ("password", &temporary), ("next", "/inbox")]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/account/password"));
    let cookie = format!("{}; alur_lang=en", session_of(&signed));
    for path in ["/inbox", "/cases", "/account", "/"] {
        let page = site.get(Some(&cookie), path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/account/password"), "{path}");
    }
    let form = site.get(Some(&cookie), "/account/password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form.body).contains("Your password was given by an admin"), "{}", text(&form.body));

    let change = |old: &str, new: &str, repeat: &str| {
        vec![("old_password", old.to_string()), ("new_password", new.to_string()), ("repeat", repeat.to_string())]
    };
    for (form, says) in [
        (change(&temporary, "lampu merah di simpang", "lampu merah disimpang"), "The two new passwords differ"),
        (change("not it at all", "lampu merah di simpang", "lampu merah di simpang"), "The current password is wrong"),
        (change(&temporary, "sandi", "sandi"), "at least 10 characters"),
    ] {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = site.post(Some(&cookie), "/account/password", &fields).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        assert!(text(&reply.body).contains(says), "{says}: {}", text(&reply.body));
    }
    let form = change(&temporary, "lampu merah di simpang", "lampu merah di simpang");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = site.post(Some(&cookie), "/account/password", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", text(&done.body));
    assert_eq!(done.location.as_deref(), Some("/account?msg=password_changed"));
    assert_eq!(site.get(Some(&cookie), "/inbox").await.status, StatusCode::OK, "every page opens again");
    let account = site.get(Some(&cookie), "/account?msg=password_changed").await;
    assert!(text(&account.body).contains("Your password was changed"), "{}", text(&account.body));
}

/// The account page lists one's sign-ins, marks this one, and ends another; the ended one's
/// cookie goes back to sign-in. An admin edits a user's display name and roles.
#[tokio::test]
async fn sign_ins_are_ended_from_the_account_page_and_admins_edit_users() {
    let site = Site::new(false).await;
    let laptop = format!("{}; alur_lang=en", site.cookie("analis").await);
    let phone = site.cookie("analis").await;
    let page = site.get(Some(&laptop), "/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page.body).contains("(this one)"), "{}", text(&page.body));
    let sessions = site.state.accounts.sessions("analis").await.unwrap();
    assert_eq!(sessions.len(), 2);
    let phone_id = {
        let token = phone.trim_start_matches("alur_session=");
        site.state.accounts.session(token).await.unwrap().unwrap().id
    };
    assert!(page.body.contains(&format!("/account/sessions/{phone_id}/end")));
    let end = site.post(Some(&laptop), &format!("/account/sessions/{phone_id}/end"), &[]).await;
    assert_eq!(end.status, StatusCode::SEE_OTHER);
    assert_eq!(site.get(Some(&phone), "/dashboard").await.status, StatusCode::SEE_OTHER, "ended");
    assert_eq!(site.get(Some(&laptop), "/dashboard").await.status, StatusCode::OK);

    let admin = site.cookie("admin").await;
    let edit = site
        .post(
            Some(&admin),
            "/admin/users/analis",
            &[("display", "Analis Kota"), ("role", "analyst"), ("role", "front_office")],
        )
        .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", text(&edit.body));
    let user = site.state.accounts.user("analis").await.unwrap().unwrap();
    assert_eq!(user.display, "Analis Kota");
    assert_eq!(user.roles, vec![Role::Analyst, Role::Actor("front_office".into())]);
    assert_eq!(site.get(Some(&laptop), "/dashboard").await.status, StatusCode::SEE_OTHER, "an edit ends sign-ins");
    let none = site.post(Some(&admin), "/admin/users/analis", &[("display", "Analis")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = site.get(Some(&admin), "/admin/users/nobody").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let not_admin = site.get(Some(&site.cookie("pemohon").await), "/admin/users/analis").await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
}

/// The task page of a step the SOP lets stand on hold offers a hold form (with the step's
/// maximum), then shows the hold with a resume button; both answer with a confirmation.
#[tokio::test]
async fn a_task_is_put_on_hold_and_resumed_from_its_page() {
    let site = Site::new(false).await;
    let source = r#"sop tangguh_web "Uji penangguhan" {
    kalender wita_kantor

    pelaksana {
        pemohon      "Pemohon"      pemohon
        front_office "Front Office" staf
    }

    selesai {
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }

    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan permohonan"
        waktu    10 menit
    }

    langkah 2 verifikasi oleh front_office {
        kegiatan    "Memverifikasi berkas"
        waktu       1 jam
        penangguhan maks 14 hari -> gugur
        lanjut ke terbit
    }
}
"#;
    std::fs::write(site._dir.path().join("sop/tangguh.sop"), source).unwrap();
    let report = site.state.catalog.reload(&site.state.engine).await;
    assert!(report.files.iter().all(|f| f.refused.is_none()));
    let pemohon = site.cookie("pemohon").await;
    let front = site.cookie("front_office").await;
    let reply = site.post(Some(&pemohon), "/apply/tangguh_web", &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let case = reply.location.unwrap().trim_start_matches("/cases/").trim_end_matches("?msg=started").to_string();
    site.complete(&pemohon, &case, &[]).await;
    let task = site.open_task(&case).await;
    let page = format!("/cases/{case}/tasks/{task}");

    let english = format!("{front}; alur_lang=en");
    let words = text(&site.get(Some(&english), &page).await.body);
    assert!(words.contains("Put on hold") && words.contains("at most 14"), "{words}");
    let before = site.get(Some(&front), &page).await;
    assert!(before.body.contains(&format!("{page}/hold")), "{}", before.body);
    assert!(text(&before.body).contains("Tangguhkan"));

    let reply = site.post(Some(&front), &format!("{page}/hold"), &[("reason", "menunggu surat dinas teknis")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location, Some(format!("{page}?msg=held")));
    let held = site.get(Some(&front), &format!("{page}?msg=held")).await;
    let words = text(&held.body);
    assert!(words.contains("Ditangguhkan") && words.contains("menunggu surat dinas teknis"), "{words}");
    assert!(held.body.contains(&format!("{page}/resume")));
    assert!(!held.body.contains(&format!("{page}/complete")), "no completing while on hold");
    let list = text(&site.get(Some(&front), "/cases").await.body);
    assert!(list.contains("ditangguhkan"), "the case list marks it: {list}");

    let reply = site.post(Some(&front), &format!("{page}/resume"), &[]).await;
    assert_eq!(reply.location, Some(format!("{page}?msg=resumed")));
    let again = site.get(Some(&front), &page).await;
    assert!(again.body.contains(&format!("{page}/hold")) && again.body.contains(&format!("{page}/complete")));

    // An empty reason is refused on the page.
    let reply = site.post(Some(&front), &format!("{page}/hold"), &[("reason", " ")]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&reply.body).contains("alasan penangguhan"));
}
