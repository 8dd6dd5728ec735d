//! Errors as RFC 9457 problem details: a stable `code` for programs, the right HTTP status,
//! and a `detail` a person can act on, in Bahasa Indonesia or English.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::accounts::AccountError;
use crate::diagnostic::Lang;
use crate::runtime::RuntimeError;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, for programs: `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `invalid_input`, `payload_too_large`, `unsupported_media_type`, `bad_request`,
    /// `method_not_allowed`, `too_many_requests`, `unavailable` (the database is busy: try again
    /// after Retry-After), `password_change_required`, `account_disabled`,
    /// `internal` (its detail is generic and names the
    /// request id, also in `request_id`; the cause is only logged).
    pub code: String,
    /// Extension members (RFC 9457 §3.2), e.g. the checker's `report` of a refused SOP.
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            extensions: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: serde_json::Value) -> Problem {
        self.extensions.insert(key.to_string(), value);
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn unauthenticated(lang: Lang) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            say(
                lang,
                "Silakan masuk dulu (token atau sesi tidak ada, salah, atau kedaluwarsa).",
                "Sign in first (the token or session is missing, wrong or expired).",
            ),
        )
    }

    /// A user whose password was reset (or printed at start-up) does nothing else until they
    /// change it.
    pub fn password_change_required(lang: Lang) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            say(
                lang,
                "Ganti kata sandi Anda dulu: kata sandi ini diberikan admin (atau dicetak saat server mulai). \
                 Kirim POST /api/me/password dengan `old_password` dan `new_password`, atau buka /account/password.",
                "Change your password first: this one was given by an admin (or printed when the server started). \
                 Send POST /api/me/password with `old_password` and `new_password`, or open /account/password.",
            ),
        )
        .with("change_password", "/api/me/password".into())
    }

    /// The right password of a disabled user.
    pub fn account_disabled(lang: Lang) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            say(
                lang,
                "Akun ini dinonaktifkan; hubungi admin kantor Anda untuk mengaktifkannya kembali.",
                "This account is disabled; ask your office's admin to enable it again.",
            ),
        )
    }

    pub fn forbidden(lang: Lang, id: &str, en: &str) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", say(lang, id, en))
    }

    pub fn not_found(lang: Lang, what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            say(lang, &format!("{what} tidak ditemukan."), &format!("{what} was not found.")),
        )
    }

    /// Too many failed sign-ins: wait `seconds` (sent as `Retry-After` too).
    pub fn too_many_sign_ins(lang: Lang, seconds: u64) -> Problem {
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            say(
                lang,
                &format!("Terlalu banyak percobaan masuk yang gagal; coba lagi dalam {seconds} detik."),
                &format!("Too many failed sign-ins; try again in {seconds} seconds."),
            ),
        )
        .with("retry_after", seconds.into())
    }

    /// 404 with its own detail (`not_found` says "... was not found").
    pub fn missing(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail.to_string())
    }

    /// A refused engine command: the status says what kind of refusal it is.
    pub fn runtime(error: &RuntimeError, lang: Lang) -> Problem {
        use RuntimeError as E;
        let (status, code) = match error {
            E::UnknownCase(_) | E::UnknownTask { .. } | E::UnknownSop(_) | E::UnknownVersion { .. } => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            E::TaskNotOpen { .. }
            | E::CaseClosed { .. }
            | E::ClaimedByOther { .. }
            | E::Conflict(_)
            | E::RoundLimit { .. }
            | E::AlreadyOnHold { .. }
            | E::NotOnHold { .. }
            | E::OnHold { .. } => (StatusCode::CONFLICT, "conflict"),
            E::WrongActor { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            E::UnknownOutcome { .. }
            | E::OutcomeRequired { .. }
            | E::NoDecision { .. }
            | E::HoldNotAllowed { .. }
            | E::UnknownField { .. }
            | E::FieldType { .. }
            | E::UnknownArtifact { .. }
            | E::DocumentRefused { .. }
            | E::UnknownEntry { .. }
            | E::UnknownVariant { .. }
            | E::InvalidSop(_)
            | E::Calendar(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            E::Store(_) | E::Recompiled { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            E::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        let problem = Problem::new(status, code, runtime_message(error, lang));
        match error {
            E::UnknownEntry { allowed, .. } => problem.with("entries", serde_json::json!(allowed)),
            E::UnknownVariant { allowed, .. } => problem.with("variants", serde_json::json!(allowed)),
            // Nothing changed; the cause is the operator's (logged), not the client's to read.
            E::Unavailable(cause) => {
                tracing::warn!(%cause, "the store is busy or unreachable");
                problem.with("retry_after", 1u64.into())
            }
            E::DocumentRefused { .. } => problem
                .with("field", "file".into())
                .with("allowed_types", serde_json::json!(crate::runtime::media::allowed_types())),
            _ => problem,
        }
    }

    pub fn account(error: &AccountError, lang: Lang) -> Problem {
        match error {
            AccountError::Exists(name) => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                say(lang, &format!("Pengguna `{name}` sudah ada."), &format!("User `{name}` exists already.")),
            ),
            AccountError::Unknown(name) => Problem::not_found(lang, &format!("`{name}`")),
            AccountError::Invalid(message) => Problem::invalid(message.get(lang).to_string()),
            AccountError::LastAdmin(name) => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                say(
                    lang,
                    &format!("`{name}` adalah admin terakhir: berikan peran admin kepada pengguna lain lebih dulu."),
                    &format!("`{name}` is the last admin: give another user the admin role first."),
                ),
            ),
            AccountError::WrongPassword => Problem::invalid(say(
                lang,
                "Kata sandi saat ini salah: isi `old_password` dengan kata sandi yang Anda pakai untuk masuk.",
                "The current password is wrong: give the password you signed in with as `old_password`.",
            ))
            .with("field", "old_password".into()),
            AccountError::UnknownSession(name, id) => Problem::not_found(
                lang,
                &say(
                    lang,
                    &format!("Sesi masuk `{id}` milik `{name}` (mungkin sudah berakhir)"),
                    &format!("The sign-in `{id}` of `{name}` (it may have ended already)"),
                ),
            ),
            // The same answer as the event store's: 503, `Retry-After`, the cause only logged.
            AccountError::Unavailable { .. } => Problem::runtime(&RuntimeError::Unavailable(error.to_string()), lang),
            AccountError::Backend(message) => Problem::internal(message),
        }
    }
}

impl Problem {
    /// Whether this is a server error whose detail (its cause) is for the log only, to be
    /// answered generically with the request id by `errors::finish`. Not so a busy or
    /// unreachable database (`unavailable`): its detail already says, in the reader's language,
    /// to try again (the cause was logged where it was mapped), and `Retry-After` goes with it.
    pub fn hides_detail(&self) -> bool {
        self.status().is_server_error() && self.code != "unavailable" && !self.extensions.contains_key("request_id")
    }
}

/// The real cause of a server error, kept out of the body: `errors::finish` logs it with the
/// request id and answers a generic problem detail instead.
#[derive(Clone, Debug)]
pub struct InternalError(pub String);

/// Until `errors::finish` says it in the reader's language with the request id.
pub const INTERNAL_DETAIL: &str = "Terjadi kesalahan di server. / Something went wrong on the server.";

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let status = self.status();
        // The final answer of `errors::finish` names the request id instead.
        let hide = self.hides_detail();
        let cause = hide.then(|| std::mem::replace(&mut self.detail, INTERNAL_DETAIL.into()));
        let mut response = (status, axum::Json(&self)).into_response();
        if let Some(cause) = cause {
            response.extensions_mut().insert(InternalError(cause));
        }
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.extensions.get("retry_after").and_then(serde_json::Value::as_u64) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

/// A refused command in the reader's language.
pub fn runtime_message(error: &RuntimeError, lang: Lang) -> String {
    use RuntimeError as E;
    if let (E::Unavailable(_), Lang::En) = (error, lang) {
        return "The database is busy or unreachable; nothing changed, try again shortly.".to_string();
    }
    if lang == Lang::En {
        return error.to_string();
    }
    match error {
        E::UnknownCase(case) => format!("Perkara {case} tidak ada."),
        E::UnknownTask { case, task } => format!("Perkara {case} tidak punya tugas {task}."),
        E::UnknownSop(sop) => format!("SOP `{sop}` belum di-deploy."),
        E::UnknownVersion { sop, version } => format!("SOP `{sop}` tidak punya versi {version}."),
        E::TaskNotOpen { task, state } => format!("Tugas {task} tidak terbuka lagi (statusnya {state})."),
        E::CaseClosed { case, state } => format!("Perkara {case} sudah {state}; tidak ada lagi yang bisa dilakukan."),
        E::WrongActor { task, actor, expected } => {
            format!("Tugas {task} milik {expected}, bukan {actor}.")
        }
        E::ClaimedByOther { task, by } => format!("Tugas {task} sedang dikerjakan oleh {by}."),
        E::UnknownOutcome { step, outcome, allowed } => {
            format!("Langkah `{step}` tidak punya keputusan `{outcome}` (pilihannya: {allowed}).")
        }
        E::OutcomeRequired { step, allowed } => {
            format!("Langkah `{step}` memerlukan keputusan: salah satu dari {allowed}.")
        }
        E::NoDecision { step } => format!("Langkah `{step}` tidak mengambil keputusan."),
        E::RoundLimit { outcome, rounds } => {
            format!("`{outcome}` sudah dipilih {rounds} kali, batas yang diizinkan SOP.")
        }
        E::HoldNotAllowed { step } => {
            format!("Langkah `{step}` tidak dapat ditangguhkan (SOP-nya tidak menyatakan `penangguhan`).")
        }
        E::AlreadyOnHold { task } => format!("Tugas {task} sudah ditangguhkan."),
        E::NotOnHold { task } => format!("Tugas {task} tidak sedang ditangguhkan."),
        E::OnHold { task } => format!("Tugas {task} sedang ditangguhkan; lanjutkan dulu."),
        E::UnknownField { field } => format!("Isian `{field}` tidak ada di SOP ini."),
        E::FieldType { field, expected, got } => format!("Isian `{field}` harus {expected}, bukan {got}."),
        E::UnknownArtifact { artifact } => format!("`{artifact}` bukan dokumen SOP ini."),
        E::DocumentRefused { media_type, refusal } => {
            let allowed = crate::runtime::media::allowed_labels();
            match refusal {
                crate::runtime::media::Refusal::NotAllowed => format!(
                    "Dokumen berjenis `{media_type}` tidak diterima: lampirkan berkas salah satu jenis ini: {allowed}."
                ),
                crate::runtime::media::Refusal::Mismatch => format!(
                    "Isi berkas tidak sesuai dengan jenisnya `{media_type}`: lampirkan dokumennya sendiri, \
                     salah satu jenis ini: {allowed}."
                ),
            }
        }
        E::UnknownEntry { entry, allowed } if allowed.is_empty() => {
            format!("`{entry}` bukan langkah awal: SOP ini hanya punya satu jalan masuk, jadi kosongkan pilihan langkah awal.")
        }
        E::UnknownEntry { entry, allowed } => {
            let allowed = allowed.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
            format!("`{entry}` bukan langkah awal SOP ini (pilihannya: {allowed}).")
        }
        E::UnknownVariant { sop, variant, allowed } => {
            let list = allowed.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
            match variant {
                None => format!("SOP `{sop}` memiliki varian layanan: pilih salah satu dari {list}."),
                Some(v) if allowed.is_empty() => {
                    format!("SOP `{sop}` tidak memiliki varian, jadi kosongkan pilihan varian `{v}`.")
                }
                Some(v) => format!("SOP `{sop}` tidak memiliki varian `{v}` (pilihannya: {list})."),
            }
        }
        E::InvalidSop(message) => format!("SOP tidak dapat dikompilasi: {message}"),
        E::Recompiled { sop, version, deployed_by } => format!(
            "SOP {sop} v{version} di-deploy oleh {deployed_by}; alur ini ({}) mengompilasi sumbernya menjadi \
             model lain, sehingga kasus yang berjalan akan berperilaku berbeda. Jalankan alur yang men-deploy-nya \
             sampai kasus itu selesai, atau mulai dengan ALUR_ACCEPT_RECOMPILED=1 untuk menjalankannya pada hasil \
             kompilasi baru (dilaporkan di log, /api/sops dan /metrics).",
            crate::runtime::deploy::COMPILER
        ),
        E::Calendar(name) => format!("Kalender `{name}` tidak dapat dipakai."),
        E::Conflict(case) => {
            format!("Perkara {case} diubah orang lain pada saat yang sama; muat ulang lalu coba lagi.")
        }
        E::Store(message) => format!("Penyimpanan: {message}"),
        E::Unavailable(_) => {
            "Basis data sedang sibuk atau tidak terjangkau; tidak ada yang berubah, coba lagi sebentar lagi."
                .to_string()
        }
    }
}
