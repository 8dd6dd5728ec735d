//! How wide text is, without a browser: the official document fixes every row height and wraps
//! every label itself, so it needs the width of the text it prints.
//!
//! The document asks for `Arial, Helvetica, sans-serif`. Arial and Liberation Sans (the font
//! Chromium and LibreOffice use for Arial on Linux) are metric-compatible: every glyph has the
//! same advance width. The tables below are Liberation Sans 2.x's advance widths (its `hmtx`
//! table, 2048 units per em), the larger of upright and italic, and of bold and bold italic, for
//! U+0020..U+007E and U+00A0..U+00FF. Any other character counts as [`UNKNOWN`] units, wider
//! than the widest glyph of the four fonts (2347), so a fallback font cannot draw it wider than
//! it was measured. Kerning only narrows Latin text; [`SAFETY`] covers rounding in the browser.
//! `tests/layout.rs` checks the widths against what Chromium draws.

/// Units per em of the tables.
const UNITS_PER_EM: f64 = 2048.0;
/// The width counted for a character outside the tables.
pub const UNKNOWN: u16 = 2400;
/// Every measured width is multiplied by this (browsers round glyph positions).
pub const SAFETY: f64 = 1.03;
/// The ascent and descent of Liberation Sans / Arial, in em: a line of text reaches this far
/// above and below its baseline.
pub const ASCENT: f64 = 0.905;
pub const DESCENT: f64 = 0.212;

const REGULAR: [u16; 191] = [
    569, 569, 727, 1139, 1139, 1821, 1366, 391, 682, 682, 797, 1196, 569, 682, 569, 569, 1139, 1139, 1139, 1139, 1139,
    1139, 1139, 1139, 1139, 1139, 569, 569, 1196, 1196, 1196, 1139, 2079, 1366, 1366, 1479, 1479, 1366, 1251, 1593,
    1479, 569, 1024, 1366, 1139, 1706, 1479, 1593, 1366, 1593, 1479, 1366, 1251, 1479, 1366, 1933, 1366, 1366, 1251,
    569, 569, 569, 961, 1139, 682, 1139, 1139, 1024, 1139, 1139, 569, 1139, 1139, 455, 455, 1024, 455, 1706, 1139,
    1139, 1139, 1139, 682, 1024, 569, 1139, 1024, 1479, 1024, 1024, 1024, 684, 532, 684, 1196, 569, 682, 1139, 1139,
    1139, 1139, 532, 1139, 682, 1509, 758, 1139, 1196, 682, 1509, 1131, 819, 1124, 682, 682, 682, 1180, 1100, 569, 682,
    682, 748, 1139, 1708, 1708, 1708, 1251, 1366, 1366, 1366, 1366, 1366, 1366, 2048, 1479, 1366, 1366, 1366, 1366,
    569, 569, 569, 569, 1479, 1479, 1593, 1593, 1593, 1593, 1593, 1196, 1593, 1479, 1479, 1479, 1479, 1366, 1366, 1251,
    1139, 1139, 1139, 1139, 1139, 1139, 1821, 1024, 1139, 1139, 1139, 1139, 569, 569, 569, 569, 1139, 1139, 1139, 1139,
    1139, 1139, 1139, 1124, 1251, 1139, 1139, 1139, 1139, 1024, 1139, 1024,
];
const BOLD: [u16; 191] = [
    569, 682, 971, 1139, 1139, 1821, 1479, 487, 682, 682, 797, 1196, 569, 682, 569, 569, 1139, 1139, 1139, 1139, 1139,
    1139, 1139, 1139, 1139, 1139, 682, 682, 1196, 1196, 1196, 1251, 1997, 1479, 1479, 1479, 1479, 1366, 1251, 1593,
    1479, 569, 1139, 1479, 1251, 1706, 1479, 1593, 1366, 1593, 1479, 1366, 1251, 1479, 1366, 1933, 1366, 1366, 1251,
    682, 569, 682, 1196, 1139, 682, 1139, 1251, 1139, 1251, 1139, 682, 1251, 1251, 569, 569, 1139, 569, 1821, 1251,
    1251, 1251, 1251, 797, 1139, 682, 1251, 1139, 1593, 1139, 1139, 1024, 797, 573, 797, 1196, 569, 682, 1139, 1139,
    1139, 1139, 573, 1139, 682, 1509, 758, 1139, 1196, 682, 1509, 1131, 819, 1124, 682, 682, 682, 1180, 1139, 569, 682,
    682, 748, 1139, 1708, 1708, 1708, 1251, 1479, 1479, 1479, 1479, 1479, 1479, 2048, 1479, 1366, 1366, 1366, 1366,
    569, 569, 569, 569, 1479, 1479, 1593, 1593, 1593, 1593, 1593, 1196, 1593, 1479, 1479, 1479, 1479, 1366, 1366, 1251,
    1139, 1139, 1139, 1139, 1139, 1139, 1821, 1139, 1139, 1139, 1139, 1139, 569, 569, 569, 569, 1251, 1251, 1251, 1251,
    1251, 1251, 1251, 1124, 1251, 1251, 1251, 1251, 1251, 1139, 1251, 1139,
];

/// The advance width of one character in font units (2048 per em).
pub fn advance(c: char, bold: bool) -> u16 {
    let table = if bold { &BOLD } else { &REGULAR };
    let code = c as u32;
    let index = match code {
        0x20..=0x7e => Some(code - 0x20),
        0xa0..=0xff => Some(code - 0xa0 + 95),
        // Dashes, quotes and the arrow the renderer writes itself.
        0x2013 => return 1139,
        0x2014 | 0x2026 | 0x2192 => return 2048,
        0x2018 | 0x2019 => return 569,
        0x201c | 0x201d => return 1024,
        _ => None,
    };
    index.and_then(|i| table.get(i as usize).copied()).unwrap_or(UNKNOWN)
}

/// The width of `text` in millimetres, set in `size` millimetres (an upper bound, see the module).
pub fn width(text: &str, size: f64, bold: bool) -> f64 {
    let units: u64 = text.chars().map(|c| u64::from(advance(c, bold))).sum();
    units as f64 / UNITS_PER_EM * size * SAFETY
}

/// Points to millimetres.
pub fn pt(points: f64) -> f64 {
    points * 25.4 / 72.0
}

/// Breaks `text` into lines no wider than `max` millimetres, as a browser does: at spaces,
/// greedily, and inside a word only when the word alone is wider than a line
/// (`overflow-wrap: anywhere`). Line breaks in the text are kept. Because every width here is at
/// least the real one, a browser fits at least as much on each line, so it never needs more
/// lines than this returns.
pub fn wrap(text: &str, max: f64, size: f64, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(&candidate, size, bold) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than a whole line is broken between characters.
            for c in word.chars() {
                let mut longer = line.clone();
                longer.push(c);
                if !line.is_empty() && width(&longer, size, bold) > max {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = longer;
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// The width of the widest line.
pub fn widest(lines: &[String], size: f64, bold: bool) -> f64 {
    lines.iter().map(|l| width(l, size, bold)).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font_tables() {
        // "Wi" = 1933 + 455 units; at 2048 units per em and 10 mm that is 11.66 mm, times SAFETY.
        assert!((width("Wi", 10.0, false) - 2388.0 / 2048.0 * 10.0 * SAFETY).abs() < 1e-9);
        assert!(width("m", 3.0, true) > width("m", 3.0, false), "bold is wider");
        assert!(width("\u{4e2d}", 3.0, false) >= 3.0 * 2347.0 / 2048.0, "an unknown character counts as the widest");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_inside_words_only_when_needed() {
        let size = pt(7.0);
        let lines = wrap("Kepala Bidang Pelayanan Perizinan dan Non Perizinan", 20.0, size, true);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, size, true) <= 20.0));
        assert_eq!(lines.join(" "), "Kepala Bidang Pelayanan Perizinan dan Non Perizinan");
        let narrow = wrap("Perizinan", 5.0, size, false);
        assert!(narrow.len() > 1 && narrow.concat() == "Perizinan", "{narrow:?}");
        assert_eq!(wrap("a\nb", 50.0, size, false), ["a", "b"]);
        assert_eq!(wrap("", 50.0, size, false), [""]);
    }
}
