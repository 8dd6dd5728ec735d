//! Reading a Standar Pelayanan table (Permenpan-RB 15/2014): two columns, Komponen and Uraian,
//! one row per component (Persyaratan, Sistem/Mekanisme/Prosedur, Jangka Waktu, Biaya, Produk,
//! Pengaduan, Dasar Hukum, Sarana, Kompetensi Pelaksana, ...). Offices publish these far more
//! often than SOP tables; the procedure is numbered prose without times.

use super::table::{step_number, Row};
use super::text::{collapse, norm};

/// What a component row holds, by the `.sop` line it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    /// Sistem, Mekanisme dan Prosedur: the steps.
    Procedure,
    /// Jangka Waktu Penyelesaian: `standar_pelayanan`.
    Time,
    /// A component the language declares as a list of texts: the keyword of its line
    /// (`persyaratan`, `biaya`, `dasar_hukum`, `sarana`, `kompetensi_pelaksana`, ...).
    List(&'static str),
    /// A component alur does not know: kept as a comment.
    Other,
}

/// The components declared as lists, by words of their usual headings, most specific first.
const LISTS: &[(&[&str], &str)] = &[
    (&["persyaratan", "syarat"], "persyaratan"),
    (&["dasar hukum"], "dasar_hukum"),
    (&["biaya", "tarif"], "biaya"),
    (&["produk"], "produk"),
    (&["pengaduan", "aduan"], "pengaduan"),
    (&["sarana", "prasarana", "fasilitas"], "sarana"),
    (&["kompetensi"], "kompetensi_pelaksana"),
    (&["pengawasan"], "pengawasan_internal"),
    (&["jumlah pelaksana"], "jumlah_pelaksana"),
    (&["keamanan", "keselamatan"], "jaminan_keamanan"),
    (&["jaminan"], "jaminan_pelayanan"),
    (&["evaluasi"], "evaluasi_kinerja"),
];

/// The component a Komponen cell names, if it names one alur knows.
pub fn component(label: &str) -> Option<Component> {
    let n = norm(label);
    let n = strip_number(&n);
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if n.is_empty() || n.split(' ').count() > 8 {
        None
    } else if has(&["prosedur", "mekanisme", "alur pelayanan", "tata cara"]) {
        Some(Component::Procedure)
    } else if has(&["jangka waktu", "waktu penyelesaian", "waktu pelayanan", "lama penyelesaian"]) || n == "waktu" {
        Some(Component::Time)
    } else {
        LISTS.iter().find(|(words, _)| has(words)).map(|(_, keyword)| Component::List(keyword))
    }
}

/// A leading enumerator ("1. Persyaratan", "a) Biaya") left out.
fn strip_number(text: &str) -> &str {
    match text.split_once(' ') {
        Some((first, rest)) if step_number(first).is_some() && (first.ends_with('.') || first.ends_with(')')) => {
            rest.trim_start()
        }
        _ => text,
    }
}

/// Where the table's components stand: the header row (if any), the row the components start
/// at, and the Komponen column (the Uraian is the cells right of it).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub header: Option<usize>,
    pub body: usize,
    pub label_col: usize,
}

fn is_component_heading(cell: &str) -> bool {
    matches!(
        norm(cell).trim_end_matches('.'),
        "komponen" | "komponen pelayanan" | "komponen standar" | "komponen standar pelayanan" | "unsur"
    )
}

/// Recognises a Standar Pelayanan table: a header row with a `Komponen` heading, or, without
/// one, rows naming at least three different components in their first or second cell (the
/// first holding a number). `None` for anything else (an SOP table is read as one).
pub fn recognise(rows: &[Row]) -> Option<Shape> {
    if let Some(header) = rows.iter().position(|r| r.cells.iter().any(|c| is_component_heading(c))) {
        let label_col = rows[header].cells.iter().position(|c| is_component_heading(c))?;
        return Some(Shape { header: Some(header), body: header + 1, label_col });
    }
    let mut kinds = Vec::new();
    let mut first = None;
    let mut label_col = 0;
    for (index, row) in rows.iter().enumerate() {
        let numbered = row.cells.first().is_some_and(|c| step_number(c).is_some());
        let col = usize::from(numbered);
        let Some(kind) = row.cells.get(col).and_then(|c| component(c)) else { continue };
        if first.is_none() {
            first = Some(index);
            label_col = col;
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let body = first?;
    (kinds.len() >= 3 && kinds.contains(&Component::Procedure)).then_some(Shape { header: None, body, label_col })
}

/// One component: its heading as written, what it is, its text with the line breaks of the
/// cell (rows continuing it joined by a line break), and where it is written.
#[derive(Clone, Debug)]
pub struct ComponentRow {
    pub line: usize,
    pub span: crate::syntax::Span,
    /// The line and span of each row the component's text comes from (its own row first).
    pub rows: Vec<(usize, crate::syntax::Span)>,
    pub label: String,
    pub kind: Component,
    pub text: String,
}

/// Reads the component rows. A row with an empty Komponen cell continues the component above
/// (an extraction breaks a long cell into rows); a row before the first component, or one
/// whose Komponen alur does not know, is a component of its own kept as a comment.
pub fn read(rows: &[Row], shape: Shape) -> Vec<ComponentRow> {
    let mut out: Vec<ComponentRow> = Vec::new();
    for row in &rows[shape.body..] {
        if row.cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let label = row.cells.get(shape.label_col).cloned().unwrap_or_default();
        let text: Vec<&str> =
            row.raw_cells.iter().skip(shape.label_col + 1).map(String::as_str).filter(|c| !c.is_empty()).collect();
        let text = text.join("\n");
        let label_is_number = step_number(&label).is_some() && label.len() <= 4;
        if (label.is_empty() || label_is_number) && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                if !text.is_empty() {
                    if !last.text.is_empty() {
                        last.text.push('\n');
                    }
                    last.text.push_str(&text);
                    last.rows.push((row.line, row.span));
                }
            }
            continue;
        }
        let kind = component(&label).unwrap_or(Component::Other);
        let rows = vec![(row.line, row.span)];
        out.push(ComponentRow { line: row.line, span: row.span, rows, label: collapse(&label), kind, text });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_by_their_usual_headings() {
        assert_eq!(component("Persyaratan Pelayanan"), Some(Component::List("persyaratan")));
        assert_eq!(component("Sistim, Mekanisme, Prosedur Pelayanan"), Some(Component::Procedure));
        assert_eq!(component("Sistem, Mekanisme dan Prosedur"), Some(Component::Procedure));
        assert_eq!(component("Jangka Waktu Penyelesaian"), Some(Component::Time));
        assert_eq!(component("2. Jangka waktu"), Some(Component::Time));
        assert_eq!(component("Biaya/tarif pelayanan"), Some(Component::List("biaya")));
        assert_eq!(component("Dasar hukum"), Some(Component::List("dasar_hukum")));
        assert_eq!(component("Sarana, Prasarana dan/atau Fasilitas"), Some(Component::List("sarana")));
        assert_eq!(component("Kompetensi Pelaksana"), Some(Component::List("kompetensi_pelaksana")));
        assert_eq!(component("Jaminan Keamanan dan Keselamatan Pelayanan"), Some(Component::List("jaminan_keamanan")));
        assert_eq!(component("Jaminan Pelayanan"), Some(Component::List("jaminan_pelayanan")));
        assert_eq!(component("Penanganan Pengaduan, Saran dan Masukan"), Some(Component::List("pengaduan")));
        assert_eq!(component("Maklumat"), None);
        assert_eq!(component("Pemohon mengajukan permohonan"), None);
    }
}
