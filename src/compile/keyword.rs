//! The keywords of the language, each in Bahasa Indonesia and English. An analyst writes
//! either; the compiler accepts both and notes which one a file uses so `alur fmt` keeps it.

use foldhash::{HashMap, HashMapExt};
use std::sync::OnceLock;

use crate::diagnostic::Lang;
use crate::syntax::{Token, TokenKind};

macro_rules! keywords {
    ($( $kw:ident: [$($id:literal),+] [$($en:literal),+]; )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kw { $($kw,)* }

        const TABLE: &[(Kw, &[&str], &[&str])] = &[ $( (Kw::$kw, &[$($id),+], &[$($en),+]), )* ];
    };
}

keywords! {
    // File level.
    Sop: ["sop"] ["sop"];
    Import: ["impor"] ["import"];
    Fragment: ["potongan"] ["fragment"];
    Use: ["pakai"] ["use"];
    // Header.
    Agency: ["instansi"] ["agency"];
    Version: ["versi"] ["version"];
    Number: ["nomor"] ["number"];
    Created: ["tanggal_pembuatan"] ["created"];
    Revised: ["tanggal_revisi"] ["revised"];
    Effective: ["tanggal_efektif"] ["effective"];
    ApprovedBy: ["disahkan_oleh"] ["approved_by"];
    Nip: ["nip"] ["nip"];
    Position: ["jabatan"] ["position"];
    LegalBasis: ["dasar_hukum"] ["legal_basis"];
    Related: ["keterkaitan"] ["related"];
    Warning: ["peringatan"] ["warning"];
    Qualification: ["kualifikasi_pelaksana", "kompetensi_pelaksana"] ["qualification"];
    Equipment: ["peralatan"] ["equipment"];
    Records: ["pencatatan"] ["records"];
    // The Standar Pelayanan (Permenpan-RB 15/2014) published beside the SOP.
    Requirements: ["persyaratan"] ["requirements"];
    Fee: ["biaya", "tarif"] ["fee"];
    Product: ["produk"] ["product"];
    Complaints: ["pengaduan"] ["complaints"];
    Facilities: ["sarana"] ["facilities"];
    Supervision: ["pengawasan_internal"] ["internal_supervision"];
    Staffing: ["jumlah_pelaksana"] ["staffing"];
    Guarantee: ["jaminan_pelayanan"] ["service_guarantee"];
    Safety: ["jaminan_keamanan"] ["safety_guarantee"];
    Evaluation: ["evaluasi_kinerja"] ["performance_evaluation"];
    Identity: ["identitas"] ["identity"];
    // The public service desk (docs/desk.md).
    RegistrationNumber: ["nomor_pendaftaran"] ["registration_number"];
    DeskContact: ["kontak_loket"] ["desk_contact"];
    Calendar: ["kalender"] ["calendar"];
    Total: ["total"] ["total"];
    ServiceStandard: ["standar_pelayanan"] ["service_standard"];
    From: ["sejak"] ["from"];
    After: ["setelah"] ["after"];
    Until: ["sampai"] ["until"];
    Except: ["kecuali"] ["except"];
    // Declarations.
    Actors: ["pelaksana"] ["actors"];
    Documents: ["dokumen"] ["documents"];
    Fields: ["data"] ["fields"];
    Ends: ["selesai"] ["ends"];
    Variants: ["varian"] ["variants"];
    For: ["untuk"] ["for"];
    Applicant: ["pemohon"] ["applicant"];
    Staff: ["staf"] ["staff"];
    External: ["instansi_luar"] ["external"];
    System: ["sistem"] ["system"];
    TextType: ["teks"] ["text"];
    NumberType: ["angka"] ["number"];
    BoolType: ["ya_tidak"] ["boolean"];
    DateType: ["tanggal"] ["date"];
    ChoiceType: ["pilihan"] ["choice"];
    // Steps.
    Step: ["langkah"] ["step"];
    By: ["oleh"] ["by"];
    Or: ["atau"] ["or"];
    And: ["dan"] ["and"];
    Not: ["tidak", "bukan"] ["not"];
    True: ["benar"] ["true"];
    False: ["salah"] ["false"];
    Activity: ["kegiatan"] ["activity"];
    Needs: ["kelengkapan"] ["needs"];
    Takes: ["waktu"] ["takes"];
    Gives: ["output"] ["gives", "output"];
    Notes: ["keterangan"] ["notes"];
    Decide: ["keputusan"] ["decide"];
    Record: ["catat"] ["record"];
    Next: ["lanjut"] ["next"];
    To: ["ke"] ["to"];
    If: ["jika", "apabila"] ["if", "when"];
    Return: ["kembali"] ["return"];
    Clock: ["jam"] ["clock"];
    Max: ["maks", "maksimal"] ["max"];
    Rounds: ["kali"] ["rounds", "times"];
    Starts: ["mulai"] ["starts"];
    NextWorkday: ["hari_berikutnya"] ["next_workday"];
    Then: ["lalu", "kemudian"] ["then"];
    NotStated: ["tidak_tertulis"] ["not_stated"];
    CompletionDate: ["tanggal_selesai", "estimasi_selesai"] ["completion_date"];
    Served: ["dilayani"] ["served"];
    Call: ["panggil"] ["call"];
    Overdue: ["terlambat"] ["overdue"];
    Escalate: ["eskalasi"] ["escalate"];
    Notify: ["beritahu"] ["notify"];
    Hold: ["penangguhan"] ["hold"];
    Parallel: ["paralel"] ["parallel"];
    Branch: ["cabang"] ["branch"];
    Alternatives: ["alternatif"] ["either"];
    // Clock policies for a return loop.
    Pauses: ["berhenti", "jeda"] ["pauses", "stops"];
    Restarts: ["diulang", "ulang"] ["restarts"];
    Runs: ["berjalan", "jalan"] ["runs"];
    // Calendar files (docs/calendar.md); `kalender` itself is `Calendar` above.
    Zone: ["zona"] ["zone"];
    Extends: ["turunan"] ["extends"];
    Covers: ["berlaku"] ["covers"];
    Provisional: ["sementara"] ["provisional"];
    Hours: ["jam_kerja"] ["hours"];
    Holiday: ["libur"] ["holiday"];
    CollectiveLeave: ["cuti_bersama"] ["collective_leave"];
    AddHoliday: ["tambah_libur"] ["add_holiday"];
    WorkingDay: ["hari_kerja"] ["working_day"];
    SpecialHours: ["jam_khusus"] ["special_hours"];
    DayLength: ["panjang_hari"] ["day_length"];
    Description: ["keterangan"] ["description"];
    Source: ["sumber"] ["source"];
}

/// The keywords a line of a calendar file starts with (`kalender` for the file's blocks).
pub const CALENDAR_KEYWORDS: &[Kw] = &[
    Kw::Zone,
    Kw::Extends,
    Kw::Covers,
    Kw::Provisional,
    Kw::Hours,
    Kw::Holiday,
    Kw::CollectiveLeave,
    Kw::AddHoliday,
    Kw::WorkingDay,
    Kw::SpecialHours,
    Kw::DayLength,
    Kw::Description,
    Kw::Source,
];

impl Kw {
    /// Which keyword a word token is, and the language of the spelling used. A spelling that is
    /// the same in both languages (`sop`, `total`) reports `None` for the language.
    pub fn of(token: &Token) -> Option<(Kw, Option<Lang>)> {
        if token.kind != TokenKind::Word {
            return None;
        }
        Self::of_word(&token.text)
    }

    /// The SOP keyword a word is; the words only calendar files know (`zona`, `libur`) are
    /// free for ids in an SOP.
    pub fn of_word(word: &str) -> Option<(Kw, Option<Lang>)> {
        // Every token's first word is looked up: a map, built once, keeps large files fast.
        static INDEX: OnceLock<HashMap<&'static str, (Kw, Option<Lang>)>> = OnceLock::new();
        let index = INDEX.get_or_init(|| {
            let mut index = HashMap::new();
            for (kw, id, en) in TABLE.iter().rev().filter(|(kw, _, _)| !CALENDAR_KEYWORDS.contains(kw)) {
                for word in id.iter().chain(en.iter()) {
                    let lang = match (id.contains(word), en.contains(word)) {
                        (true, true) => None,
                        (true, false) => Some(Lang::Id),
                        _ => Some(Lang::En),
                    };
                    index.insert(*word, (*kw, lang));
                }
            }
            index
        });
        index.get(word).copied()
    }

    /// Whether a token is this keyword, in either language.
    pub fn matches(self, token: &Token) -> bool {
        token.kind == TokenKind::Word && self.spellings().any(|s| s == token.text)
    }

    pub fn spellings(self) -> impl Iterator<Item = &'static str> {
        self.entry().into_iter().flat_map(|(_, id, en)| id.iter().chain(en.iter()).copied())
    }

    /// The keyword's row of the table: the enum lists the keywords in the table's order.
    fn entry(self) -> Option<&'static (Kw, &'static [&'static str], &'static [&'static str])> {
        TABLE.get(self as usize).filter(|(kw, _, _)| *kw == self)
    }

    /// The main spelling in a language.
    pub fn word(self, lang: Lang) -> &'static str {
        self.entry()
            .and_then(|(_, id, en)| match lang {
                Lang::Id => id.first(),
                Lang::En => en.first(),
            })
            .copied()
            .unwrap_or("?")
    }

    /// Every spelling of every keyword, for the language reference test.
    pub fn all() -> impl Iterator<Item = (Kw, &'static [&'static str], &'static [&'static str])> {
        TABLE.iter().map(|(kw, id, en)| (*kw, *id, *en))
    }
}

/// The keyword among `allowed` that a misspelt word most likely meant, in either language.
pub fn suggest(word: &str, allowed: &[Kw]) -> Option<&'static str> {
    crate::diagnostic::did_you_mean(word, allowed.iter().flat_map(|k| k.spellings()))
}

#[cfg(test)]
mod tests {
    use super::Kw;

    /// The language reference shows every spelling of every keyword, in backticks; the
    /// calendar reference those of calendar files.
    #[test]
    fn language_reference_lists_every_keyword() {
        let reference = include_str!("../../docs/language.md");
        let calendar_reference = include_str!("../../docs/calendar.md");
        let missing: Vec<&str> = Kw::all()
            .flat_map(|(kw, id, en)| {
                let reference = if super::CALENDAR_KEYWORDS.contains(&kw) { calendar_reference } else { reference };
                id.iter().chain(en.iter()).copied().filter(move |word| !reference.contains(&format!("`{word}`")))
            })
            .collect();
        assert!(missing.is_empty(), "docs/language.md (or docs/calendar.md) does not show: {missing:?}");
    }
}
