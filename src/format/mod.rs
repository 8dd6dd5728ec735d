//! `alur fmt`: reprints a syntax tree canonically. Comments are kept, the keywords stay in the
//! language they were written in, blank lines are kept (at most one), indentation is four
//! spaces, and the first column of consecutive lines is aligned so a step reads like a table
//! row. Formatting is idempotent, and never changes what a file means.

use crate::syntax::{Block, Comment, Cst, Item, Token, TokenKind};

const INDENT: &str = "    ";

/// Formats a parsed file. The caller makes sure the file had no syntax errors.
pub fn format(cst: &Cst, source: &str) -> String {
    let mut out = String::new();
    items(&cst.items, &cst.trailing, 0, source, &mut out, true);
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn push_indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

fn comment(c: &Comment, depth: usize, out: &mut String) {
    push_indent(out, depth);
    out.push_str(c.text.trim_end());
    out.push('\n');
}

fn items(list: &[Item], trailing: &[Comment], depth: usize, source: &str, out: &mut String, top: bool) {
    let rendered: Vec<Vec<String>> = list.iter().map(|item| tokens(&item.tokens, source, depth)).collect();
    let widths = column_widths(list, &rendered);
    for (index, item) in list.iter().enumerate() {
        let first_in_block = index == 0;
        let mut written_in_block = !first_in_block;
        for c in &item.leading {
            if c.blank_before && written_in_block && !(top && out.is_empty()) {
                out.push('\n');
            }
            comment(c, depth, out);
            written_in_block = true;
        }
        if item.blank_before && written_in_block && !(top && out.is_empty()) {
            out.push('\n');
        }
        push_indent(out, depth);
        let line = &rendered[index];
        let (first_width, second_width) = widths[index];
        for (i, token) in line.iter().enumerate() {
            if i > 0 {
                out.push_str(token_gap(&item.tokens, i));
            }
            out.push_str(token);
            let pad_to = match i {
                0 => first_width,
                1 => second_width,
                _ => 0,
            };
            if pad_to > 0 && i + 1 < line.len() && token_gap(&item.tokens, i + 1) == " " {
                let width = token.chars().count();
                for _ in width..pad_to {
                    out.push(' ');
                }
            }
        }
        if let Some(block) = &item.block {
            if !line.is_empty() {
                out.push(' ');
            }
            self::block(block, depth, source, out);
        }
        if let Some(c) = &item.trailing {
            if item.block.is_none() {
                out.push(' ');
                out.push_str(c.text.trim_end());
            }
        }
        out.push('\n');
    }
    for (i, c) in trailing.iter().enumerate() {
        if c.blank_before && (i > 0 || !list.is_empty()) {
            out.push('\n');
        }
        comment(c, depth, out);
    }
}

fn block(block: &Block, depth: usize, source: &str, out: &mut String) {
    if block.items.is_empty() && block.trailing.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    items(&block.items, &block.trailing, depth + 1, source, out, false);
    push_indent(out, depth);
    out.push('}');
}

/// The gap before token `i`: none where the source wrote the two tokens together (`07:30-12:00`,
/// `pilihan(a, b)`), none before `,` and `)`, none after `(`, one space otherwise.
fn token_gap(tokens: &[Token], i: usize) -> &'static str {
    let (Some(prev), Some(this)) = (tokens.get(i.wrapping_sub(1)), tokens.get(i)) else { return " " };
    if this.is_punct(",") || this.is_punct(")") || prev.is_punct("(") {
        return "";
    }
    if prev.is_punct(",") || [prev.kind, this.kind].iter().any(|k| matches!(k, TokenKind::Compare | TokenKind::Arrow)) {
        return " ";
    }
    if prev.span.end == this.span.start
        && !matches!(this.kind, TokenKind::String)
        && !matches!(prev.kind, TokenKind::String)
    {
        return "";
    }
    " "
}

/// Renders tokens; a string spanning several lines gets its continuation lines re-indented
/// (a line break and its indentation read as one space, so the value is unchanged).
fn tokens(list: &[Token], _source: &str, depth: usize) -> Vec<String> {
    list.iter()
        .map(|t| {
            if t.kind == TokenKind::String && t.text.contains('\n') {
                let continuation = INDENT.repeat(depth + 2);
                let mut lines = t.text.split('\n').map(|l| l.trim_end_matches('\r'));
                let mut out = lines.next().map(str::trim_end).unwrap_or_default().to_string();
                for line in lines {
                    out.push('\n');
                    out.push_str(&continuation);
                    out.push_str(line.trim());
                }
                out
            } else {
                t.text.clone()
            }
        })
        .collect()
}

/// For each item, the widths its first and second columns are padded to. Runs of consecutive
/// one-line items (no blank line, no block between) share widths; the second column is aligned
/// only in tables (`pemohon "Pemohon" pemohon`), where every row has a text in it.
fn column_widths(list: &[Item], rendered: &[Vec<String>]) -> Vec<(usize, usize)> {
    let mut widths = vec![(0, 0); list.len()];
    let mut start = 0;
    while start < list.len() {
        let mut end = start;
        while end < list.len() {
            let item = &list[end];
            let breaks = end > start && (item.blank_before || item.leading.iter().any(|c| c.blank_before));
            if item.block.is_some() || breaks || rendered[end].iter().any(|t| t.contains('\n')) {
                break;
            }
            end += 1;
        }
        if end == start {
            start += 1;
            continue;
        }
        let run = start..end;
        let first = run
            .clone()
            .filter(|&i| rendered[i].len() > 1 && token_gap(&list[i].tokens, 1) == " ")
            .map(|i| rendered[i][0].chars().count())
            .max()
            .unwrap_or(0);
        let table = run.len() > 1
            && run.clone().all(|i| {
                list[i].tokens.len() >= 3
                    && list[i].tokens[1].kind == TokenKind::String
                    && token_gap(&list[i].tokens, 2) == " "
            });
        let second = if table { run.clone().map(|i| rendered[i][1].chars().count()).max().unwrap_or(0) } else { 0 };
        for i in run {
            widths[i] = (first, second);
        }
        start = end;
    }
    widths
}
