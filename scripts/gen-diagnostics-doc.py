#!/usr/bin/env python3
"""Writes docs/diagnostics.md from src/diagnostic/code.rs, the fix hints below and the corpus.

Run after adding a code: python3 scripts/gen-diagnostics-doc.py
(a test fails when a code is missing from the reference)."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXES = {
    "E001": "Save the file as UTF-8 (in Word/LibreOffice: *Save as → Text, UTF-8*).",
    "E002": "Split the SOP: shared steps go into a `potongan` in another file that you `impor`.",
    "E003": "Look for `{` that are never closed; no SOP needs more than a few levels.",
    "E004": "Report it: the input is pathological (the parser's work limit was reached).",
    "E005": "Put free text in double quotes; replace typographic quotes “ ” with `\"`.",
    "E006": "Add the closing `\"`. A text may span lines, so the error can show where the next quote is.",
    "E007": "Add the `}` that ends the block.",
    "E008": "Remove the extra `}` or add the missing `{`.",
    "E009": "Write what the message asks for, e.g. `waktu 10 menit`, `oleh front_office`.",
    "E010": "Use a keyword that belongs there; the help names the closest one or lists them all.",
    "E011": "Start the file with `sop id \"Judul\" { ... }` (or make it a library of `potongan`).",
    "E012": "Keep one of the two settings (or move the second `sop` to its own file).",
    "E013": "Add the setting the message names.",
    "E014": "Use an allowed value: a real date, `(N hari)` in the total, `maks N kali` with N ≥ 1, a hold's limit (`penangguhan maks 14 hari`) above zero, one route per case, one way of joining actors in `oleh` (`atau`, `dan` or `->`).",
    "E015": "Fix the path (relative to the file, inside the SOP folder) or the file it points to.",
    "E101": "Give one of the two things another id (two SOP files of one folder included).",
    "E102": "Renumber: numbers may skip (1, 2, 4) but not repeat.",
    "E103": "Declare the actor in `pelaksana { }` or fix the spelling (see the help).",
    "E104": "Fix the step or end id (see the help) or declare the end in `selesai { }`.",
    "E105": "A document is declared by the `output` of some step or in `dokumen { }`.",
    "E106": "Use one of the outcomes the help lists (a recorded field's choices, or the called SOP's ends).",
    "E107": "Declare the field in `data { }`.",
    "E108": "Name a calendar that exists under `sop/calendars/` (see the help).",
    "E109": "Define `potongan NAME { ... }` or `impor` the file that has it; a fragment may not use itself.",
    "E201": "Route an outcome to the step, or remove it.",
    "E202": "Route the step on to a step that reaches an end.",
    "E203": "Give a step in the loop a decision with an outcome that leaves it.",
    "E204": "Add a second outcome, or replace the decision with `lanjut ke`.",
    "E205": "Write `oleh ACTOR` after the step id.",
    "E206": "Add `waktu ...` (`waktu 0 menit` is allowed).",
    "E207": "Record the branch's result in a field and route after the `paralel` block.",
    "E208": "Give the block at least two branches, or write its steps directly.",
    "E209": "Handle every end of the called SOP with an outcome of the same name.",
    "E210": "A step written `waktu -` (or `waktu tidak_tertulis`) has no due date, so a `terlambat` line on it can never happen. Give the step a time, or remove the `terlambat` line.",
    "E110": "Declare the variant in the `varian { ... }` block, or correct the name after `untuk`.",
    "E216": "Add the variant to the `untuk` line of the step named, or limit the line that leads there to the variants that do the step.",
    "E211": "Write how long after the step the permit is ready (`tanggal_selesai 12 hari`), or give the SOP a `standar_pelayanan` or `total` to count it from.",
    "E215": "Write the hold (`penangguhan maks 14 hari -> gugur`) on the staff step that waits for the missing document or the other agency, such as the verification; a step only the applicant or the system performs has nobody to put it on hold or resume it.",
    "E212": "Write one share per desk, in the order of the desks (`oleh kabid -> kasi -> back_office` with `waktu 10 menit -> 10 menit -> 1 jam`), or one time for the whole row, which is split evenly. On a step with one actor, write one time.",
    "E213": "A row's time is split evenly over its desks in minutes, but how many minutes a working day has is the calendar's, so whole days must divide by the number of desks. Write each desk's share: `waktu 1 hari -> 1 hari -> 2 jam`.",
    "E301": "Compare like with like (`luas > 500`, `jenis == baru`); a condition must be yes/no.",
    "E401": "Fix the step that is wrong or the total; the note shows the sum step by step.",
    "E402": "Write the rounded days the help gives.",
    "N401": "Fix the errors the note points at (a step whose `waktu` could not be read, a loop without exit); the total and the service standards are checked once they are fixed.",
    "N402": "Nothing needs fixing: the SOP states no time for some steps (`waktu -`), so the steps with a time are compared and what is left for the others is reported. If the SOP or its service standard does give those steps a time, write it in their `waktu` line and the check becomes complete. When the steps with a time already exceed the total, it is E401 (W004 for a service standard) instead.",
    "W001": "Write `workdays` (hari kerja) or `calendar days` (hari kalender).",
    "W002": "Make an earlier step give the document, or declare it in `dokumen` if the applicant brings it.",
    "W003": "List the document in `kelengkapan` of the step that uses it, or remove it.",
    "W004": "Shorten the steps, or correct the promise.",
    "W005": "Remove the actor, or make it the actor of a step.",
    "W006": "Write the other outcome as the SOP means it (`tidak_lengkap -> kembali ke ...`, or `ditolak -> ditolak`) to make it explicit.",
    "W007": "The step's `waktu` is shorter than what the procedure it calls (`panggil`) promises for a whole case (its `total`, else a `standar_pelayanan` over the whole procedure). Give the step the time the other office promises, or correct that office's promise.",
    "E601": "Save the table as UTF-8 text (LibreOffice: *Save as → CSV*, character set UTF-8); close quotes that are opened.",
    "E602": "Give the table a header row with `No`, `Kegiatan` and `Waktu` above numbered rows.",
    "E603": "Number the row (`1`, `4.1`, `7a`), give it a Kegiatan, renumber a repeated number, or delete the row.",
    "E604": "Move the cell into a column the header names, or give its column a heading.",
    "E605": "Write the cell the way the language reads it (a Waktu is `30 Menit`, `1 Jam`, `4 Hari`); the note gives the reason.",
    "E701": "Use the parts alur knows: `{nomor}`/`{nomor:4}`, `{bulan}`/`{bulan:romawi}`, `{tahun}`/`{tahun:2}`, `{tanggal}` (or their English words); see [desk.md](desk.md).",
    "E702": "Write exactly one `{nomor}` (or `{nomor:4}` for four digits) where the running number goes.",
    "E703": "Close every `{` with `}`; the fixed text of a number holds no braces.",
    "E704": "Write the number on one line, at most 80 characters, e.g. `\"503/{nomor:4}/DPMPTSP/{tahun}\"`.",
    "W601": "Move the text to the right line of the `.sop` file (`instansi`, `nomor`, `total`) or delete the comment.",
    "W602": "Replace `oleh belum_ditentukan` with the actor, or mark the actor column and import again.",
    "W603": "Nothing, if it is a page number; if it is a step, fill in its Kegiatan and Waktu.",
    "W604": "Review the step's `keputusan` block, or write it yourself.",
    "W605": "Review the `oleh` of the steps named; a comment above each step says what the inference rests on.",
    "W606": "Write the chain with each desk's share of the time (`oleh kabid -> kasi`, `waktu 1 hari -> 2 jam`), or keep the first desk; the cell is kept verbatim in a comment above the step. A chain whose time divides evenly (minutes, hours, or days that divide by the desks) is imported as a chain without this warning.",
    "W607": "Check the step's `oleh` against the comment above it (which other actors the text points at); put an `X` in the actor column and import again to be sure.",
    "W608": "Review what was read (the note lists it): the steps' actors and times, and the components kept as comments; write a `standar_pelayanan` whose start names a step yourself.",
}
HEAD = """# Diagnostic codes

Every message `alur check` gives has a stable code. A code never changes meaning; new codes are
added at the end of their range. Each message comes in Bahasa Indonesia and English
(`--lang id|en`, default from `LANG`), names the exact place in the file, and ends with a help line
saying how to fix it. `alur check --format json` gives the same for editors and CI.

Errors (E) make `alur check` exit with status 1; warnings (W) do not, unless `--deny-warnings`.
Warnings are shown beside errors. Notes (N) never stand alone: they say which check could not run
because of errors elsewhere, so nothing is left out silently.
This file is generated by `scripts/gen-diagnostics-doc.py`.

| range | about |
|---|---|
| E0xx | reading the file: encoding, size, syntax, keywords, settings, imports |
| E1xx | names: duplicates and references to things that do not exist |
| E2xx | routes: reachability, ends, loops, decisions, parallel blocks, calls |
| E3xx | rules: types in conditions |
| E4xx | timing: the stated total |
| N4xx | notes: timing that could not be checked because of errors |
| E5xx | calendar files (details in [calendar.md](calendar.md)) |
| E6xx, W6xx | importing SOP tables with `alur import` (details in [import.md](import.md)) |
| Wxxx | warnings |
"""

code_rs = open(os.path.join(ROOT, "src/diagnostic/code.rs"), encoding="utf-8").read()
rows = re.findall(r'(\w+) = "([EWN]\d+)", (Error|Warning|Note), "((?:[^"\\]|\\.)*)";', code_rs)
corpus = sorted(os.listdir(os.path.join(ROOT, "tests/invalid")))
out = [HEAD]
for _name, code, severity, summary in rows:
    out.append(f"## {code} — {summary}\n")
    kind = {"Error": "kesalahan", "Warning": "peringatan", "Note": "catatan"}[severity]
    out.append(f"Severity: {severity.lower()} ({kind}).\n")
    if code in FIXES:
        out.append(f"How to fix: {FIXES[code]}\n")
    examples = [f for f in corpus if f.endswith(".sop") and (f.lower().startswith(code.lower()) or f"-{code.lower()}" in f.lower())]
    if examples:
        links = ", ".join(f"[`{f}`](../tests/invalid/{f})" for f in examples[:3])
        out.append(f"Examples: {links} (their rendered messages are in `tests/corpus/snapshots/`).\n")
    if code.startswith("E5"):
        out.append("See [calendar.md](calendar.md) for the calendar syntax this code is about.\n")
    if code.startswith(("E6", "W6")):
        out.append("See [import.md](import.md) for what `alur import` reads.\n")
open(os.path.join(ROOT, "docs/diagnostics.md"), "w", encoding="utf-8").write("\n".join(out))
print(f"{len(rows)} codes written to docs/diagnostics.md")
