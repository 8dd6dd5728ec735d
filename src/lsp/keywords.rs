//! What a keyword means, for hover: its spellings in both languages (the table in
//! `compile/keyword.rs`) and one sentence on the most used ones (docs/language.md has the rest).

use crate::compile::keyword::Kw;
use crate::diagnostic::Lang;

fn meaning(kw: Kw) -> Option<(&'static str, &'static str)> {
    Some(match kw {
        Kw::Sop => (
            "Satu SOP: id, judul, lalu kepala, pelaksana, dokumen dan langkah-langkahnya.",
            "One SOP: its id, title, then its header, actors, documents and steps.",
        ),
        Kw::Import => {
            ("Membaca potongan (`potongan`) dari berkas lain.", "Reads fragments (`fragment`) from another file.")
        }
        Kw::Fragment => {
            ("Sekumpulan langkah yang dapat dipakai ulang dengan `pakai`.", "A group of steps reused with `use`.")
        }
        Kw::Use => ("Menyisipkan potongan yang diimpor di sini.", "Inserts an imported fragment here."),
        Kw::Actors => ("Daftar pelaksana: siapa yang mengerjakan langkah.", "The actors: who performs the steps."),
        Kw::Documents => (
            "Dokumen yang dibawa dari luar, bukan hasil langkah.",
            "Documents brought from outside rather than produced by a step.",
        ),
        Kw::Fields => (
            "Data kasus yang dicatat dan dibaca oleh syarat.",
            "The case's fields, recorded by steps and read by conditions.",
        ),
        Kw::Ends => ("Akhir bernama: terbit, ditolak, dicabut.", "Named ends: issued, refused, withdrawn."),
        Kw::Variants => (
            "Varian layanan (baru, perpanjangan...), masing-masing alur sendiri.",
            "Service variants (new, renewal...), each its own flow.",
        ),
        Kw::Step => (
            "Satu baris tabel SOP: nomor, id, pelaksana, lalu isinya.",
            "One row of the SOP table: number, id, actor, then its cells.",
        ),
        Kw::By => ("Pelaksana langkah ini.", "Who performs this step."),
        Kw::Activity => ("Kolom Kegiatan: apa yang dikerjakan.", "The Activity column: what is done."),
        Kw::Needs => ("Kolom Kelengkapan: dokumen yang diperlukan.", "The Requirements column: documents needed."),
        Kw::Takes => (
            "Kolom Waktu: lama langkah dalam waktu kerja.",
            "The Time column: how long the step takes, in working time.",
        ),
        Kw::Gives => ("Kolom Output: dokumen yang dihasilkan.", "The Output column: documents produced."),
        Kw::Notes => ("Kolom Keterangan.", "The Notes column."),
        Kw::Decide => (
            "Keputusan: hasil-hasil dan ke mana masing-masing menuju.",
            "A decision: its outcomes and where each leads.",
        ),
        Kw::Next => ("Langkah berikutnya (bila bukan baris di bawahnya).", "The next step (when not the row below)."),
        Kw::Return => (
            "Mengembalikan berkas ke langkah sebelumnya (putaran perbaikan).",
            "Sends the file back to an earlier step (a rework loop).",
        ),
        Kw::If => ("Syarat atas data kasus.", "A condition on the case's fields."),
        Kw::Total => (
            "Total waktu yang dinyatakan SOP; diperiksa terhadap jalur utama.",
            "The SOP's stated total time, checked against the main path.",
        ),
        Kw::Calendar => {
            ("Kalender kerja yang dipakai untuk menghitung waktu.", "The working calendar time is counted on.")
        }
        Kw::ServiceStandard => (
            "Janji standar pelayanan: lama dan titik mulai/selesainya.",
            "A service-standard promise: its length and where its clock starts and stops.",
        ),
        Kw::Parallel => (
            "Cabang-cabang yang berjalan bersamaan; waktu terpanjang yang dihitung.",
            "Branches that run at once; the longest counts.",
        ),
        Kw::Call => ("Menjalankan SOP lain sebagai sub-prosedur.", "Runs another SOP as a sub-procedure."),
        Kw::Overdue => ("Tindakan bila langkah terlambat.", "What happens when the step is overdue."),
        Kw::Hold => (
            "Penangguhan: jam berhenti selama menunggu, paling lama `maks`.",
            "A hold: the clock pauses while waiting, at most `max`.",
        ),
        Kw::Served => (
            "Pemohon dilayani setelah langkah ini; janji berhenti di sini.",
            "The applicant is served after this step; promises stop here.",
        ),
        Kw::CompletionDate => (
            "Pemohon diberi tahu tanggal selesai setelah langkah ini.",
            "The applicant is told the completion date after this step.",
        ),
        Kw::For => ("Hanya untuk varian-varian ini.", "Only in these variants."),
        _ => return None,
    })
}

/// Markdown: the keyword in both languages and what it means.
pub fn describe(kw: Kw, lang: Lang) -> String {
    let (id, en) = (kw.word(Lang::Id), kw.word(Lang::En));
    let mut out = match lang {
        Lang::Id => format!("**`{id}`** (kata kunci; bahasa Inggris: `{en}`)"),
        Lang::En => format!("**`{en}`** (keyword; in Bahasa Indonesia: `{id}`)"),
    };
    if let Some((text_id, text_en)) = meaning(kw) {
        out.push_str("\n\n");
        out.push_str(match lang {
            Lang::Id => text_id,
            Lang::En => text_en,
        });
    }
    out
}
