//! The words on the rendered pages, in Bahasa Indonesia or English, and how conditions and
//! outcomes read.

use crate::diagnostic::Lang;
use crate::model::{ExprKind, Sop, Value};

/// Page labels and headings in one language.
pub struct Labels {
    pub lang: Lang,
    pub sop: &'static str,
    pub agency: &'static str,
    pub number: &'static str,
    pub created: &'static str,
    pub revised: &'static str,
    pub effective: &'static str,
    pub approved_by: &'static str,
    pub name: &'static str,
    pub legal_basis: &'static str,
    pub related: &'static str,
    pub warnings: &'static str,
    pub qualifications: &'static str,
    pub equipment: &'static str,
    pub records: &'static str,
    pub no: &'static str,
    pub activity: &'static str,
    pub performers: &'static str,
    pub quality: &'static str,
    pub requirements: &'static str,
    pub time: &'static str,
    pub output: &'static str,
    pub notes: &'static str,
    pub total: &'static str,
    pub page: &'static str,
    pub of: &'static str,
    pub nip: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub otherwise: &'static str,
    pub overdue: &'static str,
    /// The arrow taken when a hold lasts longer than the step allows.
    pub held_too_long: &'static str,
    /// A deadline action, before the actor's name: the task handed over, someone told.
    pub escalated_to: &'static str,
    pub notify: &'static str,
    pub and: &'static str,
    pub or: &'static str,
    pub not: &'static str,
    pub yes: &'static str,
    pub no_word: &'static str,
    pub when: &'static str,
    pub legend: &'static str,
    pub process: &'static str,
    pub decision: &'static str,
    pub terminator: &'static str,
    pub connector: &'static str,
    pub flow: &'static str,
    pub continued_from: &'static str,
    pub continued_on: &'static str,
    pub version: &'static str,
    pub service_standard: &'static str,
    pub empty: &'static str,
}

impl Labels {
    pub fn new(lang: Lang) -> Labels {
        match lang {
            Lang::Id => Labels {
                lang,
                sop: "Standar Operasional Prosedur",
                agency: "Instansi",
                number: "Nomor SOP",
                created: "Tanggal Pembuatan",
                revised: "Tanggal Revisi",
                effective: "Tanggal Efektif",
                approved_by: "Disahkan oleh",
                name: "Nama SOP",
                legal_basis: "Dasar Hukum",
                related: "Keterkaitan",
                warnings: "Peringatan",
                qualifications: "Kualifikasi Pelaksana",
                equipment: "Peralatan/Perlengkapan",
                records: "Pencatatan dan Pendataan",
                no: "No",
                activity: "Kegiatan",
                performers: "Pelaksana",
                quality: "Mutu Baku",
                requirements: "Kelengkapan",
                time: "Waktu",
                output: "Output",
                notes: "Keterangan",
                total: "Jumlah Waktu",
                page: "Halaman",
                of: "dari",
                nip: "NIP",
                start: "Mulai",
                end: "Selesai",
                otherwise: "lainnya",
                overdue: "terlambat",
                held_too_long: "penangguhan lewat batas",
                escalated_to: "Dieskalasi ke",
                notify: "Beritahu",
                and: "dan",
                or: "atau",
                not: "tidak",
                yes: "ya",
                no_word: "tidak",
                when: "jika",
                legend: "Keterangan simbol",
                process: "Proses/kegiatan",
                decision: "Keputusan",
                terminator: "Mulai/selesai",
                connector: "Penghubung antarhalaman",
                flow: "Arah alur",
                continued_from: "sambungan dari halaman",
                continued_on: "bersambung ke halaman",
                version: "Versi",
                service_standard: "Standar pelayanan",

                empty: "-",
            },
            Lang::En => Labels {
                lang,
                sop: "Standard Operating Procedure",
                agency: "Agency",
                number: "SOP number",
                created: "Date created",
                revised: "Date revised",
                effective: "Effective date",
                approved_by: "Approved by",
                name: "SOP name",
                legal_basis: "Legal basis",
                related: "Related SOPs",
                warnings: "Warnings",
                qualifications: "Performer qualifications",
                equipment: "Equipment",
                records: "Records and data",
                no: "No",
                activity: "Activity",
                performers: "Performers",
                quality: "Quality standard",
                requirements: "Requirements",
                time: "Time",
                output: "Output",
                notes: "Notes",
                total: "Total time",
                page: "Page",
                of: "of",
                nip: "NIP",
                start: "Start",
                end: "End",
                otherwise: "otherwise",
                overdue: "overdue",
                held_too_long: "held too long",
                escalated_to: "Escalated to",
                notify: "Notify",
                and: "and",
                or: "or",
                not: "not",
                yes: "yes",
                no_word: "no",
                when: "if",
                legend: "Symbols",
                process: "Process/activity",
                decision: "Decision",
                terminator: "Start/end",
                connector: "Off-page connector",
                flow: "Flow",
                continued_from: "continued from page",
                continued_on: "continued on page",
                version: "Version",
                service_standard: "Service standard",

                empty: "-",
            },
        }
    }
}

/// An outcome name as people read it: `tidak_lengkap` → "tidak lengkap".
pub fn outcome_text(name: &str) -> String {
    name.replace('_', " ")
}

/// A condition written out in the page's language: `perlu_survei dan luas > 5000`.
pub fn condition_text(expr: &crate::model::Expr, sop: &Sop, labels: &Labels) -> String {
    let _ = sop;
    fn go(e: &crate::model::Expr, l: &Labels, top: bool) -> String {
        let s = match &e.kind {
            ExprKind::Field { name } => return name.clone(),
            ExprKind::Literal { value } => return value_text(value, l),
            ExprKind::Compare { op, left, right } => {
                return format!("{} {} {}", go(left, l, false), op.symbol(), go(right, l, false))
            }
            ExprKind::And { left, right } => format!("{} {} {}", go(left, l, false), l.and, go(right, l, false)),
            ExprKind::Or { left, right } => format!("{} {} {}", go(left, l, false), l.or, go(right, l, false)),
            ExprKind::Not { inner } => return format!("{} {}", l.not, go(inner, l, false)),
        };
        if top {
            s
        } else {
            format!("({s})")
        }
    }
    go(expr, labels, true)
}

fn value_text(value: &Value, labels: &Labels) -> String {
    match value {
        Value::Bool(true) => labels.yes.to_string(),
        Value::Bool(false) => labels.no_word.to_string(),
        Value::Number(n) => format!("{n}"),
        Value::Text(t) => format!("\"{t}\""),
        Value::Date(d) => d.to_string(),
        Value::Choice(c) => c.clone(),
    }
}

/// Escapes text for XML and HTML content and attribute values.
pub fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// The names of the Standar Pelayanan components (Permenpan-RB 15/2014) as the regulation
/// words them, by the keys of [`crate::model::ServiceDeclarations::items`]; also the sheet's
/// `title` and the `continued` mark.
pub fn service_label(key: &str, lang: Lang) -> &'static str {
    let (id, en) = match key {
        "title" => ("Standar Pelayanan", "Service standard"),
        "continued" => (" (lanjutan)", " (continued)"),
        "requirements" => ("Persyaratan", "Requirements"),
        "fees" => ("Biaya/Tarif", "Fees"),
        "products" => ("Produk Pelayanan", "Service products"),
        "complaints" => ("Penanganan Pengaduan, Saran dan Masukan", "Complaints, suggestions and feedback"),
        "facilities" => ("Sarana, Prasarana dan/atau Fasilitas", "Facilities"),
        "supervision" => ("Pengawasan Internal", "Internal supervision"),
        "staffing" => ("Jumlah Pelaksana", "Number of staff"),
        "guarantee" => ("Jaminan Pelayanan", "Service guarantee"),
        "safety" => ("Jaminan Keamanan dan Keselamatan Pelayanan", "Security and safety guarantee"),
        "evaluation" => ("Evaluasi Kinerja Pelaksana", "Staff performance evaluation"),
        _ => ("", ""),
    };
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

/// The Keterangan note of a step that may stand on hold (`penangguhan maks`), as offices write
/// it: "Dapat ditangguhkan paling lama 14 Hari".
pub fn hold_note(step: &crate::model::Step, lang: Lang) -> Option<String> {
    let hold = step.hold.as_ref()?;
    let max = hold.max.display(lang);
    Some(match lang {
        Lang::Id => format!("Dapat ditangguhkan paling lama {max}"),
        Lang::En => format!("May be put on hold for at most {max}"),
    })
}

/// Notes with one more sentence after them.
pub fn with_note(notes: String, more: Option<String>) -> String {
    match more {
        Some(more) if notes.is_empty() => more,
        Some(more) => format!("{notes}. {more}"),
        None => notes,
    }
}
