//! Recovery from a step whose block is never closed.
//!
//! The syntax tree is read from braces alone, so when the `}` of step 5 is missing, step 5's
//! block runs on over steps 6 to 9 and takes the `}` meant for the `sop` block, which is then
//! the block reported as unclosed; the following steps are read as unknown lines inside step 5.
//! A step never holds a step, so a `langkah` line inside a step's block means that block was not
//! closed before it: the block is closed there, the lines from it on go back to the block around
//! the step, and the `}` the step's block took goes back outwards (each block on the way passing
//! its own `}` on), up to the block that was reported unclosed. The error then names the step,
//! and nothing cascades.

use super::keyword::Kw;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::{Comment, Cst, Item, Span, TokenKind};
use crate::t;

/// Closes unclosed step blocks in `cst` where the next step starts, and puts the diagnostics
/// right: the "never closed" error moves from the outer block to the step. The tree is left as
/// it is when the braces do not add up that way (a `}` would be left over).
pub fn unclosed_steps(cst: &mut Cst, diagnostics: &mut Vec<Diagnostic>) {
    if !cst.items.iter().any(holds_step_in_step) {
        return;
    }
    let (mut items, mut trailing) = (cst.items.clone(), cst.trailing.clone());
    let mut found = Found::default();
    let left_over = fix_items(&mut items, &mut trailing, None, &mut found);
    if left_over.is_some() || found.left_over || found.unclosed.is_empty() {
        return;
    }
    (cst.items, cst.trailing) = (items, trailing);
    diagnostics.retain(|d| {
        d.code != Code::UnclosedBlock
            || !d.primary_span().is_some_and(|p| found.replaced.iter().any(|r| r.same_place(&p)))
    });
    diagnostics.extend(found.unclosed);
}

#[derive(Default)]
struct Found {
    /// The opening braces whose "never closed" errors no longer hold or are replaced.
    replaced: Vec<Span>,
    /// One error for each step whose block is closed where the next step starts.
    unclosed: Vec<Diagnostic>,
    /// A `}` had nowhere to go: the braces do not add up this way.
    left_over: bool,
}

fn is_step(item: &Item) -> bool {
    item.tokens.first().is_some_and(|t| Kw::Step.matches(t))
}

/// Whether a step anywhere under `item` holds a step line in its block.
fn holds_step_in_step(item: &Item) -> bool {
    let Some(block) = &item.block else { return false };
    (is_step(item) && block.items.iter().any(is_step)) || block.items.iter().any(holds_step_in_step)
}

/// The `}` of one block (its `{` and its close), or the top of the file (`None`).
type Closing<'a> = Option<(Span, &'a mut Option<Span>)>;

/// Fixes the items of one block; `trailing` are its comments after the last item. Returns a
/// `}` this block cannot keep, for the block around it.
fn fix_items(
    items: &mut Vec<Item>,
    trailing: &mut Vec<Comment>,
    mut closing: Closing<'_>,
    found: &mut Found,
) -> Option<Span> {
    let mut handed_up = None;
    let mut i = 0;
    while i < items.len() {
        let mut given = Vec::new();
        if let Some(block) = items[i].block.as_mut() {
            let open = block.open;
            given.extend(fix_items(&mut block.items, &mut block.trailing, Some((open, &mut block.close)), found));
        }
        if let Some((moved, comments, brace)) = close_before_next_step(&mut items[i], found) {
            let after = i + 1 + moved.len();
            items.splice(i + 1..i + 1, moved);
            match items.get_mut(after) {
                Some(next) => next.leading.splice(0..0, comments),
                None => trailing.splice(0..0, comments),
            };
            given.extend(brace);
        }
        // A `}` given back from inside goes to this block, whose own `}` goes on outwards.
        for brace in given {
            let own = match closing.as_mut() {
                Some((open, close)) => match close.replace(brace) {
                    Some(own) => Some(own),
                    None => {
                        found.replaced.push(*open);
                        None
                    }
                },
                None => Some(brace),
            };
            if let Some(own) = own {
                found.left_over |= handed_up.is_some();
                handed_up = Some(own);
            }
        }
        i += 1;
    }
    handed_up
}

/// When `item` is a step whose block holds a step line: closes the block before that line and
/// returns the items from it on, the comments after them, and the `}` the block had.
fn close_before_next_step(item: &mut Item, found: &mut Found) -> Option<(Vec<Item>, Vec<Comment>, Option<Span>)> {
    if !is_step(item) {
        return None;
    }
    let head = item.head_span();
    let block = item.block.as_mut()?;
    let at = block.items.iter().position(is_step)?;
    let moved = block.items.split_off(at);
    let comments = std::mem::take(&mut block.trailing);
    let brace = block.close.take();
    // The parser's error, if the step's block was reported unclosed, is replaced by this one.
    found.replaced.push(block.open);
    let end = block.items.last().map_or(block.open, |last| last.span);
    item.span = Span::new(item.span.file, item.span.start as usize, end.end as usize);
    let next = moved.first().map_or(head, Item::head_span);
    let message = match (item.tokens.get(2), item.tokens.get(1)) {
        (Some(id), _) if id.kind == TokenKind::Word => {
            let id = &id.text;
            t!("blok langkah `{id}` tidak pernah ditutup", "the block of step `{id}` is never closed")
        }
        (_, Some(number)) => {
            let number = &number.text;
            t!("blok langkah {number} tidak pernah ditutup", "the block of step {number} is never closed")
        }
        _ => t!("blok langkah ini tidak pernah ditutup", "this step's block is never closed"),
    };
    found.unclosed.push(
        Diagnostic::new(
            Code::UnclosedBlock,
            message,
            head,
            t!("`{{` langkah ini tidak punya `}}` pasangannya", "this step's `{{` has no matching `}}`"),
        )
        .with_label(
            next,
            t!(
                "langkah berikutnya dimulai di sini, jadi blok di atas dianggap berakhir sebelumnya",
                "the next step starts here, so the block above is taken to end before it"
            ),
        )
        .with_help(t!("tambahkan `}}` sebelum langkah berikutnya", "add a `}}` before the next step")),
    );
    Some((moved, comments, brace))
}

/// Where a block reported as never closed holds a block whose `}` is indented less than the
/// line that opened it, that `}` was most likely written for the block around: the block it
/// "closes" is the one missing its `}` (a `keputusan` left open inside a step, the last step left
/// open inside `sop`). The error is moved to that block's line, with the `}` labelled.
pub fn misplaced_closings(cst: &Cst, text: &str, diagnostics: &mut [Diagnostic]) {
    for d in diagnostics.iter_mut().filter(|d| d.code == Code::UnclosedBlock) {
        let Some(primary) = d.primary_span() else { continue };
        let Some(reported) = find_reported(&cst.items, &primary) else { continue };
        let Some(block) = &reported.block else { continue };
        let Some((item, close)) = first_misplaced(&block.items, text) else { continue };
        let line = |span: Span| text.get(..span.start as usize).map_or(1, |t| t.matches('\n').count() + 1);
        let (open_line, reported_line) = (line(item.head_span()), line(reported.head_span()));
        let head = item.head_span();
        let what = text.get(head.range()).unwrap_or("").split_whitespace().next().unwrap_or("").to_string();
        *d = Diagnostic::new(
            Code::UnclosedBlock,
            t!("blok `{what}` di baris {open_line} tidak pernah ditutup", "the `{what}` block on line {open_line} is never closed"),
            head,
            t!("`{{` ini tidak punya `}}` pasangannya", "this `{{` has no matching `}}`"),
        )
        .with_label(
            close,
            t!(
                "`}}` ini menjorok seperti baris {reported_line}, jadi tampaknya ia menutup blok itu, bukan blok di atas",
                "this `}}` is indented like line {reported_line}, so it seems to close that block, not the one above"
            ),
        )
        .with_help(t!(
            "tambahkan `}}` untuk menutup blok di baris {open_line}",
            "add a `}}` to close the block on line {open_line}"
        ));
    }
}

/// The item whose head or opening brace is at `span`.
fn find_reported<'a>(items: &'a [Item], span: &Span) -> Option<&'a Item> {
    items.iter().find_map(|item| {
        let block = item.block.as_ref()?;
        if item.head_span().same_place(span) || block.open.same_place(span) {
            return Some(item);
        }
        find_reported(&block.items, span)
    })
}

/// The first block (in written order) whose `}` stands left of the line that opened it, with
/// that `}`.
fn first_misplaced<'a>(items: &'a [Item], text: &str) -> Option<(&'a Item, Span)> {
    let column = |offset: u32| {
        let before = text.get(..offset as usize).unwrap_or("");
        before.len() - before.rfind('\n').map_or(0, |i| i + 1)
    };
    items.iter().find_map(|item| {
        let block = item.block.as_ref()?;
        if let Some(found) = first_misplaced(&block.items, text) {
            return Some(found);
        }
        let close = block.close?;
        (column(close.start) < column(item.span.start)).then_some((item, close))
    })
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile_source, Options};
    use crate::diagnostic::Code;

    /// The codes, and the lines (1-based) the "never closed" errors point at.
    fn check(source: &str) -> (Vec<Code>, Vec<usize>) {
        let compiled = compile_source("t.sop", source, &Options::default());
        let codes = compiled.diagnostics.iter().map(|d| d.code).collect();
        let lines = compiled
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::UnclosedBlock)
            .filter_map(|d| d.primary_span())
            .map(|s| compiled.sources.line_col(s.file, s.start).0)
            .collect();
        (codes, lines)
    }

    #[test]
    fn the_last_step_left_open_is_named_not_the_sop_block() {
        let source = "sop x \"X\" {\n    pelaksana {\n        a \"A\" staf\n    }\n    langkah 1 s1 oleh a {\n        waktu 1 jam\n    }\n    langkah 2 s2 oleh a {\n        waktu 1 jam\n}\n";
        assert_eq!(check(source), (vec![Code::UnclosedBlock], vec![8]));
    }

    #[test]
    fn a_decision_left_open_is_named_not_its_step() {
        let source = "sop x \"X\" {\n    pelaksana {\n        a \"A\" staf\n    }\n    selesai {\n        ok \"ok\"\n    }\n    langkah 1 s1 oleh a {\n        waktu 1 jam\n        keputusan {\n            ya -> lanjut\n            tidak -> ok\n    }\n    langkah 2 s2 oleh a {\n        waktu 1 jam\n    }\n}\n";
        let (codes, lines) = check(source);
        assert_eq!(codes.iter().filter(|c| **c == Code::UnclosedBlock).count(), 1, "{codes:?}");
        assert_eq!(lines, vec![10]);
    }

    #[test]
    fn two_unclosed_steps_are_each_named() {
        let source = "sop t \"T\" {\n    pelaksana { a \"A\" }\n    langkah 1 s1 oleh a {\n        waktu 5 menit\n    langkah 2 s2 oleh a {\n        waktu 5 menit\n    }\n    langkah 3 s3 oleh a {\n        waktu 5 menit\n    langkah 4 s4 oleh a {\n        waktu 5 menit\n    }\n}\n";
        assert_eq!(check(source), (vec![Code::UnclosedBlock, Code::UnclosedBlock], vec![3, 8]));
    }

    #[test]
    fn an_unclosed_step_in_a_parallel_block_hands_the_braces_back_outwards() {
        let source = "sop t \"T\" {\n    actors { a \"A\" }\n    step 1 s1 by a { takes 5 minutes }\n    parallel {\n        step 2 s2 by a {\n            takes 5 minutes\n        step 3 s3 by a {\n            takes 5 minutes\n        }\n    }\n    step 4 s4 by a {\n        takes 5 minutes\n    }\n}\n";
        assert_eq!(check(source), (vec![Code::UnclosedBlock], vec![5]));
    }

    #[test]
    fn a_file_that_ends_inside_a_step_still_names_it_and_the_sop() {
        let source = "sop t \"T\" {\n    pelaksana { a \"A\" }\n    langkah 1 s1 oleh a {\n        waktu 5 menit\n    langkah 2 s2 oleh a {\n        waktu 5 menit\n    }\n";
        assert_eq!(check(source), (vec![Code::UnclosedBlock, Code::UnclosedBlock], vec![1, 3]));
    }

    #[test]
    fn braces_that_do_not_add_up_are_left_as_read() {
        // The `}` missing after step 1 is written at the end instead: no block is unclosed.
        let source = "sop t \"T\" {\n    pelaksana { a \"A\" }\n    langkah 1 s1 oleh a {\n        waktu 5 menit\n    langkah 2 s2 oleh a {\n        waktu 5 menit\n    }\n}\n}\n";
        assert_eq!(check(source).0, vec![Code::UnknownKeyword]);
    }
}
