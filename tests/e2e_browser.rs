//! End to end in a real browser: `alur serve --demo` in a temporary folder, driven through
//! headless Chromium by chromedriver (WebDriver). The applicant applies for an LKS permit,
//! each desk signs in and does its step (the verification sends the file back once), and
//! every page is checked on the way. Screenshots of the main pages go to
//! `target/screenshots/`. Without Chromium and chromedriver the test prints `SKIPPED:` and
//! passes, except under `ALUR_CI=1`, where it fails.

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process this test started, stopped when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")]) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
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

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Browser {
    client: Client,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// The visible text of the page (empty while a new page replaces the old one).
    async fn text(&self) -> String {
        let Ok(body) = self.client.find(Locator::Css("body")).await else { return String::new() };
        body.text().await.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Waits until the page says `needle` (pages load after a click asynchronously).
    async fn expect(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "the page never said {needle:?}; it says: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        url.path().to_string()
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).click().await.unwrap();
    }

    async fn sign_in(&self, user: &str, password: &str) {
        self.client.delete_all_cookies().await.unwrap();
        self.goto("/login").await;
        self.client.find(Locator::Id("user")).await.unwrap().send_keys(user).await.unwrap();
        self.client.find(Locator::Id("password")).await.unwrap().send_keys(password).await.unwrap();
        self.click("form button[type=submit]").await;
        self.expect("Keluar").await;
    }

    /// Opens the first task of the inbox and gives the case id from its address.
    async fn open_first_task(&self) -> String {
        self.goto("/inbox").await;
        self.expect("Tugas saya").await;
        self.click("table a[href*='/tasks/']").await;
        self.expect("Yang diminta SOP").await;
        let path = self.path().await;
        path.split('/').nth(2).unwrap().to_string()
    }
}

#[tokio::test]
async fn an_lks_application_goes_through_every_desk_in_a_real_browser() {
    let (Some(chromium), Some(driver)) =
        (find_program(&["chromium", "chromium-browser", "google-chrome"]), find_program(&["chromedriver"]))
    else {
        let why = "SKIPPED: e2e_browser needs Chromium and chromedriver (apt-get install chromium chromium-driver)";
        assert!(std::env::var("ALUR_CI").as_deref() != Ok("1"), "{why}; ALUR_CI=1 does not allow skipping");
        println!("{why}");
        return;
    };

    // The server, as a user would start it.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sop"), &dir.path().join("sop"));
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let _server = Running(
        Command::new(env!("CARGO_BIN_EXE_alur"))
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("ALUR_ADMIN_PASSWORD", "admin-e2e")
            .env_remove("ALUR_DB")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "alur serve");

    let driver_port = free_port();
    let _driver = Running(
        Command::new(&driver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(driver_port, "chromedriver");

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=id-ID"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("chromedriver starts a headless Chromium session");
    let b = Browser { client: client.clone(), base: format!("http://127.0.0.1:{port}"), shots: screenshot_dir() };
    // The walk runs as its own task so that, whatever check fails, the browser session is
    // closed (a killed chromedriver would leave its Chromium running).
    let outcome = tokio::spawn(async move { walk(b).await }).await;
    let _ = client.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The applicant, every desk, the analyst and the admin, in turn.
async fn walk(b: Browser) {
    // Not signed in: the sign-in page.
    b.goto("/inbox").await;
    b.expect("Kata sandi").await;
    assert_eq!(b.path().await, "/login");
    b.shot("login").await;

    // The applicant applies.
    b.sign_in("pemohon", "demo").await;
    b.goto("/apply").await;
    b.expect("SOP Izin Operasional/Perpanjangan LKS/LKSA").await;
    b.shot("apply").await;
    b.goto("/apply/izin_reklame").await;
    b.expect("Jalur pengajuan").await;
    b.shot("apply-form-reklame").await;
    b.goto("/apply/lks_lksa").await;
    b.click("form button.primary").await;
    let text = b.expect("Permohonan terkirim.").await;
    assert!(text.contains("Berkas ada di Pemohon (menunggu Anda)"), "{text}");
    let case = b.path().await.trim_start_matches("/cases/").to_string();
    b.shot("case-submitted").await;
    // Step 1 is the applicant's own: done from the task page.
    b.click("a[href*='/tasks/']").await;
    b.expect("Langkah 1: Mengajukan Permohonan").await;
    b.shot("task-applicant").await;
    b.click("form[action$='/complete'] button.primary").await;
    b.expect("Tugas selesai dicatat.").await;

    // Front office: the inbox counts down in working time; the file goes back once.
    b.sign_in("front_office", "demo").await;
    b.goto("/inbox").await;
    let text = b.expect("Memverifikasi berkas permohonan").await;
    assert!(text.contains("kerja lagi"), "{text}");
    b.shot("inbox-front-office").await;
    assert_eq!(b.open_first_task().await, case);
    b.expect("Berkas yang sdh diperiksa").await;
    b.client.find(Locator::Id("note")).await.unwrap().send_keys("Persyaratan belum lengkap: KTP").await.unwrap();
    b.shot("task-verification").await;
    b.click("button[name=outcome][value=ditolak]").await;
    b.expect("Tugas selesai dicatat.").await;
    b.goto(&format!("/cases/{case}")).await;
    b.expect("Berkas ada di Pemohon").await;
    b.expect("Dikembalikan ke pemohon untuk dilengkapi (putaran 1)").await;

    // The applicant sees it back on the tracker, and resubmits.
    b.sign_in("pemohon", "demo").await;
    b.goto("/applications").await;
    b.expect("Pemohon").await;
    b.click(&format!("a[href='/cases/{case}']")).await;
    let text = b.expect("menunggu Anda").await;
    assert!(text.contains("Persyaratan belum lengkap: KTP"), "the note shows: {text}");
    b.shot("case-returned").await;
    assert_eq!(b.open_first_task().await, case);
    b.click("form[action$='/complete'] button.primary").await;
    b.expect("Tugas selesai dicatat.").await;

    b.sign_in("front_office", "demo").await;
    assert_eq!(b.open_first_task().await, case);
    b.click("button[name=outcome][value=diterima]").await;
    b.expect("Tugas selesai dicatat.").await;

    // Each desk in turn; after each, the tracker names the next desk.
    let desks = [
        ("back_office", "Langkah 3", "Dinas Teknis"),
        ("dinas_teknis", "Langkah 4", "Back Office"),
        ("back_office", "Langkah 5", "Kabid Perizinan"),
        ("kabid", "Langkah 6", "Sekretaris"),
        ("sekretaris", "Langkah 7", "Kepala Dinas"),
        ("kepala_dinas", "Langkah 8", "Pemohon"),
    ];
    for (user, step, next) in desks {
        b.sign_in(user, "demo").await;
        assert_eq!(b.open_first_task().await, case);
        b.expect(step).await;
        if user == "kepala_dinas" {
            b.shot("task-signature").await;
        }
        b.click("form[action$='/complete'] button.primary").await;
        b.expect("Tugas selesai dicatat.").await;
        b.goto(&format!("/cases/{case}")).await;
        b.expect(&format!(
            "Berkas ada di {}",
            if next == "Pemohon" { "Pemohon".to_string() } else { format!("meja {next}") }
        ))
        .await;
    }

    // The applicant receives the permit: the case has ended.
    b.sign_in("pemohon", "demo").await;
    assert_eq!(b.open_first_task().await, case);
    b.expect("Langkah 9: Menerima Surat Izin / SK").await;
    b.click("form[action$='/complete'] button.primary").await;
    b.expect("Tugas selesai dicatat.").await;
    b.goto(&format!("/cases/{case}")).await;
    let text = b.expect("Surat Izin (SK) diterima pemohon").await;
    assert!(text.contains("Selesai"), "{text}");
    assert!(!text.contains("Berkas ada di"), "{text}");
    b.shot("case-ended").await;
    b.goto("/inbox").await;
    b.expect("Tidak ada tugas yang menunggu Anda.").await;

    // The analyst's pages, in English too.
    b.sign_in("analis", "demo").await;
    b.goto("/sops/lks_lksa").await;
    let text = b.expect("4 Hari 1 Jam 18 Menit").await;
    assert!(text.contains("Kegiatan") && text.contains("Hasil pemeriksaan"), "{text}");
    b.shot("sop-lks").await;
    b.goto("/dashboard").await;
    b.expect("Per langkah").await;
    b.shot("dashboard").await;
    b.goto("/lang?to=en&back=/dashboard").await;
    b.expect("SLA dashboard").await;
    b.shot("dashboard-en").await;
    b.goto("/lang?to=id&back=/").await;

    // The admin's page.
    b.sign_in("admin", "admin-e2e").await;
    b.goto("/admin/users").await;
    b.expect("Pengguna baru").await;
    b.shot("admin-users").await;
    b.goto("/cases?status=ended").await;
    b.expect("1 perkara").await;
    b.shot("cases").await;
}
