//! What the language expresses, construct by construct.

use alur::compile::{compile_path, compile_source, Options};
use alur::diagnostic::{render_all, Code, Lang};
use alur::model::{
    ActorKind, ClockPoint, ClockPolicy, DeadlineAction, Edge, Element, FieldType, Node, PerformerMode, Sop, Target,
};
use alur::time::Duration;
use petgraph::visit::EdgeRef;

/// Compiles a snippet that must have no diagnostics. The actor table shared by the snippets is
/// not used by every one of them, so "unused actor" is not counted.
fn compile_clean(text: &str) -> Sop {
    let mut compiled = compile_source("test.sop", text, &Options::default());
    compiled.diagnostics.retain(|d| d.code != Code::UnusedActor);
    assert!(
        compiled.diagnostics.is_empty(),
        "unexpected diagnostics:\n{}",
        render_all(&compiled.sources, &compiled.diagnostics, Lang::En)
    );
    compiled.sop.expect("a model")
}

fn codes(text: &str) -> Vec<Code> {
    let diagnostics = compile_source("test.sop", text, &Options::default()).diagnostics;
    diagnostics.iter().map(|d| d.code).filter(|c| *c != Code::UnusedActor).collect()
}

const ACTORS: &str = r#"
    pelaksana {
        pemohon "Pemohon" pemohon
        fo      "Front Office"
        kabid   "Kabid Perizinan"
    }
"#;

fn sop(body: &str) -> String {
    format!("sop t \"Uji\" {{\n{ACTORS}\n{body}\n}}\n")
}

#[test]
fn header_carries_the_identity_block_of_the_official_sop() {
    let text = r#"
sop izin "SOP Izin" {
    instansi "DPMPTSP Kota Banjarbaru"
    versi 3
    nomor "800/123/DPMPTSP/2026"
    tanggal_pembuatan 2026-01-05
    tanggal_revisi 2026-06-01
    tanggal_efektif 2026-07-01
    disahkan_oleh "Drs. Budi Santoso" nip "196801011990031001" jabatan "Kepala Dinas"
    dasar_hukum "Perwali No. 1 Tahun 2020", "Permenpan-RB No. 35 Tahun 2012"
    keterkaitan "SOP Pengaduan"
    peringatan "Waktu berlaku bila pejabat hadir dan sistem berjalan"
    kualifikasi_pelaksana "Memahami peraturan perizinan"
    peralatan "Komputer", "Jaringan internet"
    pencatatan "Buku register"
    kalender wita_kantor
    total 10 menit (1 hari)
    pelaksana { fo "Front Office" }
    langkah 1 a oleh fo { waktu 10 menit }
}"#;
    let sop = compile_clean(text);
    let h = &sop.header;
    assert_eq!(h.agency.as_deref(), Some("DPMPTSP Kota Banjarbaru"));
    assert_eq!(h.version.as_deref(), Some("3"));
    assert_eq!(h.number.as_deref(), Some("800/123/DPMPTSP/2026"));
    assert_eq!(h.created.map(|d| d.to_string()).as_deref(), Some("2026-01-05"));
    assert_eq!(h.revised.map(|d| d.to_string()).as_deref(), Some("2026-06-01"));
    assert_eq!(h.effective.map(|d| d.to_string()).as_deref(), Some("2026-07-01"));
    let approval = h.approved_by.as_ref().unwrap();
    assert_eq!(approval.name, "Drs. Budi Santoso");
    assert_eq!(approval.nip.as_deref(), Some("196801011990031001"));
    assert_eq!(approval.position.as_deref(), Some("Kepala Dinas"));
    assert_eq!(h.legal_basis.len(), 2);
    assert_eq!(h.equipment, ["Komputer", "Jaringan internet"]);
    assert_eq!(h.related, ["SOP Pengaduan"]);
    assert_eq!(h.warnings.len(), 1);
    assert_eq!(h.qualifications.len(), 1);
    assert_eq!(h.records, ["Buku register"]);
    assert_eq!(h.calendar.as_ref().unwrap().as_str(), "wita_kantor");
    assert_eq!(h.stated_total.as_ref().unwrap().rounded_workdays, Some(1));
}

#[test]
fn english_keywords_give_the_same_model_as_indonesian_ones() {
    let id = r#"
sop p "Izin" {
    instansi "X"
    total 1 hari 10 menit (2 hari)
    pelaksana {
        pemohon "Pemohon" pemohon
        fo "Front Office" staf
    }
    selesai {
        terbit "Izin terbit"
    }
    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan"
        waktu 10 menit
        output berkas "Berkas"
    }
    langkah 2 periksa oleh fo {
        kelengkapan berkas
        waktu 1 hari
        keputusan {
            lengkap -> lanjut
            kurang -> kembali ke ajukan, jam diulang, maks 2 kali
        }
    }
}"#;
    let en = r#"
sop p "Izin" {
    agency "X"
    total 1 workday 10 minutes (2 workdays)
    actors {
        pemohon "Pemohon" applicant
        fo "Front Office" staff
    }
    ends {
        terbit "Izin terbit"
    }
    step 1 ajukan by pemohon {
        activity "Mengajukan"
        takes 10 minutes
        gives berkas "Berkas"
    }
    step 2 periksa by fo {
        needs berkas
        takes 1 workday
        decide {
            lengkap -> next
            kurang -> return to ajukan, clock restarts, max 2 rounds
        }
    }
}"#;
    let (a, b) = (compile_clean(id), compile_clean(en));
    assert_eq!(a.language, Lang::Id);
    assert_eq!(b.language, Lang::En);
    // The language and the Waktu cell as written ("10 menit" / "10 minutes") differ; nothing else.
    let strip = |mut s: Sop| {
        s.language = Lang::Id;
        for step in &mut s.steps {
            if let Some(d) = &mut step.duration {
                d.text.clear();
            }
        }
        s
    };
    assert_eq!(strip(a), strip(b));
}

#[test]
fn comments_and_multi_line_texts() {
    let sop = compile_clean(&sop(r#"
    // a comment on its own line
    langkah 1 a oleh fo { // after a brace
        kegiatan "Menerima permohonan secara elektronik,
                  memproses permohonan"   // trailing
        waktu 5 menit
    }"#));
    assert_eq!(sop.steps[0].activity, "Menerima permohonan secara elektronik, memproses permohonan");
}

#[test]
fn durations_keep_units_apart_and_calendar_days_are_their_own_unit() {
    let sop = compile_clean(&sop(r#"
    langkah 1 a oleh fo { waktu 1 jam 90 menit }
    langkah 2 b oleh fo { waktu 2 hari kerja }
    langkah 3 c oleh fo { waktu 14 hari kalender }
    langkah 4 d oleh fo { waktu 3 workdays 2 hours }
    langkah 5 e oleh fo { waktu 2 calendar days }
    langkah 6 f oleh fo { waktu 0 menit }"#));
    let d: Vec<Duration> = sop.steps.iter().map(|s| s.duration.as_ref().unwrap().value.unwrap()).collect();
    assert_eq!(d[0], Duration::new(0, 2, 30));
    assert_eq!(d[1], Duration::workdays(2));
    assert_eq!(d[2], Duration::calendar_days(14));
    assert_eq!(d[3], Duration::new(3, 2, 0));
    assert_eq!(d[4], Duration::calendar_days(2));
    assert_eq!(d[5], Duration::ZERO);
}

#[test]
fn a_bare_english_day_is_ambiguous() {
    assert_eq!(codes(&sop("langkah 1 a oleh fo { waktu 2 days }")), [Code::AmbiguousDay]);
}

#[test]
fn actors_alternatives_and_joint_performers() {
    let sop = compile_clean(&sop(r#"
    langkah 1 a oleh fo atau kabid { waktu 5 menit }
    langkah 2 b oleh fo dan pemohon { waktu 5 menit }"#));
    assert_eq!(sop.actor("pemohon").unwrap().kind, ActorKind::Applicant);
    assert_eq!(sop.actor("fo").unwrap().kind, ActorKind::Staff);
    assert_eq!(sop.steps[0].performers.as_ref().unwrap().mode, PerformerMode::Either);
    assert_eq!(sop.steps[1].performers.as_ref().unwrap().mode, PerformerMode::Jointly);
}

#[test]
fn step_numbers_as_printed_with_gaps_and_next_workday_starts() {
    let sop = compile_clean(&sop(r#"
    langkah 1 a oleh fo { waktu 5 menit }
    langkah 4.1 b oleh fo { waktu 5 menit }
    langkah 7a c oleh fo {
        waktu 1 hari
        mulai hari_berikutnya
    }"#));
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "4.1", "7a"]);
    assert!(sop.steps[2].starts_next_workday);
}

#[test]
fn step_numbers_printed_as_letters_roman_numerals_or_nested() {
    // As real SOP tables print them (issue 22): a, b, c1 in a sub-list, IV in a Roman-numbered
    // one, 3.1.a nested.
    let sop = compile_clean(&sop(r#"
    langkah a terima oleh fo { waktu 5 menit }
    langkah c1 periksa oleh fo { waktu 5 menit }
    langkah IV paraf oleh kabid { waktu 5 menit }
    langkah ix catat oleh kabid { waktu 5 menit }
    langkah 3.1.a serah oleh fo { waktu 5 menit }"#));
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["a", "c1", "IV", "ix", "3.1.a"]);
    let ids: Vec<&str> = sop.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["terima", "periksa", "paraf", "catat", "serah"]);
    // Two steps printed with one letter are still one number twice.
    assert!(codes(&sop_text_with_numbers("b", "b")).contains(&Code::DuplicateStepNumber));
    // A word that is no printed number is still no number, with what a number looks like.
    let compiled = compile_source("test.sop", &sop_text_with_numbers("abc", "2"), &Options::default());
    let d = compiled.diagnostics.iter().find(|d| d.code == Code::Expected).expect("E009");
    assert!(d.help.as_ref().is_some_and(|h| h.en.contains("Roman numeral")), "{:?}", d.help);
}

fn sop_text_with_numbers(first: &str, second: &str) -> String {
    sop(&format!(
        "    langkah {first} satu oleh fo {{ waktu 5 menit }}\n    langkah {second} dua oleh fo {{ waktu 5 menit }}"
    ))
}

#[test]
fn a_decision_with_one_outcome_written_returns_the_file_to_the_applicant_otherwise() {
    let text = sop(r#"
    langkah 1 ajukan oleh pemohon { waktu 30 menit }
    langkah 2 verifikasi oleh fo {
        waktu 10 menit
        keputusan {
            lengkap -> lanjut
        }
    }"#);
    assert_eq!(codes(&text), [Code::AssumedOutcome]);
    let sop = compile_source("test.sop", &text, &Options::default()).sop.unwrap();
    let decision = sop.steps[1].decision.as_ref().unwrap();
    let assumed = &decision.outcomes[1];
    assert_eq!(assumed.name.as_str(), "lainnya");
    assert!(matches!(&assumed.target, alur::model::Target::Named(n) if n.as_str() == "ajukan"));
    let rework = assumed.rework.as_ref().unwrap();
    assert_eq!((rework.clock, rework.max_rounds), (alur::model::ClockPolicy::Pause, None));
}

#[test]
fn alternative_entry_steps_converge() {
    let sop = compile_clean(&sop(r#"
    alternatif masuk {
        langkah 1 loket oleh fo { waktu 15 menit }
        langkah 2 daring oleh pemohon { waktu 30 menit }
    }
    langkah 3 periksa oleh fo { waktu 10 menit }"#));
    assert!(matches!(&sop.body[0], Element::Alternatives { branches, .. } if branches.len() == 2));
    let periksa = sop.flow.step_nodes[2];
    let into_periksa = sop.flow.graph.edges_directed(periksa, petgraph::Direction::Incoming).count();
    assert_eq!(into_periksa, 2, "both entries converge on the next step");
}

#[test]
fn decisions_three_way_recorded_outcomes_and_conditional_ends() {
    let sop = compile_clean(&sop(r#"
    data {
        hasil pilihan(disetujui, ditolak, ditangguhkan) "Hasil kajian"
    }
    selesai {
        terbit "Izin terbit"
        tolak "Surat penolakan"
        tangguh "Ditangguhkan"
    }
    langkah 1 kaji oleh kabid {
        waktu 1 hari
        keputusan catat hasil {
            disetujui -> lanjut
            ditolak -> lanjut
            ditangguhkan -> tangguh
        }
    }
    langkah 2 paraf oleh kabid {
        waktu 5 menit
        lanjut ke terbit jika hasil == disetujui
        lanjut ke tolak
    }"#));
    let decision = sop.steps[0].decision.as_ref().unwrap();
    assert_eq!(decision.outcomes.len(), 3);
    assert_eq!(decision.record.as_ref().unwrap().as_str(), "hasil");
    assert!(matches!(decision.outcomes[0].target, Target::Next));
    assert_eq!(sop.steps[1].routes.len(), 2);
    assert!(sop.steps[1].routes[0].condition.is_some());
    assert!(matches!(&sop.fields[0].ty, FieldType::Choice(c) if c.len() == 3));
}

#[test]
fn return_loops_carry_round_limit_and_clock_policy() {
    for (policy, expected) in [
        ("jam berhenti", ClockPolicy::Pause),
        ("jam diulang", ClockPolicy::Restart),
        ("jam berjalan", ClockPolicy::Run),
    ] {
        let sop = compile_clean(&sop(&format!(
            r#"
    langkah 1 a oleh pemohon {{ waktu 5 menit }}
    langkah 2 b oleh fo {{
        waktu 5 menit
        keputusan {{
            ya -> lanjut
            tidak -> kembali ke a, {policy}, maks 3 kali
        }}
    }}"#
        )));
        let rework = sop.steps[1].decision.as_ref().unwrap().outcomes[1].rework.clone().unwrap();
        assert_eq!(rework.clock, expected);
        assert_eq!(rework.max_rounds, Some(3));
    }
}

#[test]
fn conditional_steps_are_gated_by_typed_fields() {
    let sop = compile_clean(&sop(r#"
    data {
        perlu_survei ya_tidak
        luas angka
        jenis pilihan(baru, perpanjangan)
    }
    langkah 1 survei oleh fo {
        jika perlu_survei atau (luas > 500 dan not jenis == perpanjangan)
        waktu 1 hari
    }
    langkah 2 b oleh fo { waktu 5 menit }"#));
    let gate =
        sop.flow.graph.node_indices().find(|n| matches!(sop.flow.graph[*n], Node::Gate { guards_step: true, .. }));
    assert!(gate.is_some(), "a conditional step is guarded by a gate");
    let condition = sop.steps[0].condition.as_ref().unwrap();
    let mut fields = std::collections::HashMap::new();
    fields.insert("perlu_survei".to_string(), alur::model::Value::Bool(false));
    fields.insert("luas".to_string(), alur::model::Value::Number(600.0));
    fields.insert("jenis".to_string(), alur::model::Value::Choice("baru".into()));
    assert_eq!(condition.eval(&fields), Some(true));
    fields.insert("jenis".to_string(), alur::model::Value::Choice("perpanjangan".into()));
    assert_eq!(condition.eval(&fields), Some(false));
}

#[test]
fn type_errors_in_conditions_are_reported() {
    let text = sop(r#"
    data {
        luas angka
        jenis pilihan(baru, perpanjangan)
    }
    langkah 1 a oleh fo {
        jika luas == "besar" atau jenis == lama atau luas
        waktu 5 menit
    }"#);
    assert_eq!(codes(&text), [Code::TypeMismatch, Code::TypeMismatch, Code::TypeMismatch]);
}

#[test]
fn parallel_branches_join_before_the_flow_goes_on() {
    let sop = compile_clean(&sop(r#"
    langkah 1 a oleh fo { waktu 5 menit }
    paralel rekomendasi {
        langkah 2 b oleh kabid { waktu 2 hari }
        cabang {
            langkah 3 c oleh fo { waktu 1 hari }
            langkah 4 d oleh fo { waktu 2 hari }
        }
    }
    langkah 5 e oleh fo { waktu 5 menit }"#));
    let graph = &sop.flow.graph;
    let split = graph.node_indices().find(|n| matches!(graph[*n], Node::Split { .. })).unwrap();
    let join = graph.node_indices().find(|n| matches!(graph[*n], Node::Join { .. })).unwrap();
    assert_eq!(graph.edges(split).count(), 2);
    assert_eq!(graph.edges_directed(join, petgraph::Direction::Incoming).count(), 2);
    // The critical path goes through the longer branch: 5 menit + 3 hari + 5 menit.
    let totals = alur::timing::totals(&sop, 450);
    assert_eq!(totals.main_path.duration, Duration::new(3, 0, 10));
    let names: Vec<&str> = totals.main_path.steps.iter().map(|&s| sop.steps[s].id.as_str()).collect();
    assert_eq!(names, ["a", "c", "d", "e"]);
}

#[test]
fn deadline_actions_escalate_notify_and_route() {
    let sop = compile_clean(&sop(r#"
    selesai {
        terbit "Izin terbit"
        otomatis "Izin terbit otomatis (fiktif positif)"
    }
    langkah 1 a oleh fo {
        waktu 1 hari
        terlambat eskalasi ke kabid
        terlambat beritahu pemohon
        terlambat lanjut ke otomatis
    }"#));
    let actions = &sop.steps[0].deadline_actions;
    assert!(matches!(&actions[0], DeadlineAction::Escalate { actor, .. } if actor.as_str() == "kabid"));
    assert!(matches!(&actions[1], DeadlineAction::Notify { actor, .. } if actor.as_str() == "pemohon"));
    assert!(matches!(&actions[2], DeadlineAction::Route { .. }));
    assert!(sop.flow.graph.edge_weights().any(|e| matches!(e, Edge::Deadline)));
}

#[test]
fn service_standards_and_separately_clocked_segments() {
    let sop = compile_clean(&sop(r#"
    standar_pelayanan "pemeriksaan teknis" 6 hari sejak a sampai b
    standar_pelayanan "setelah berkas lengkap dan benar" 3 hari setelah b
    langkah 1 a oleh fo { waktu 5 hari }
    langkah 2 b oleh kabid { waktu 1 hari }
    langkah 3 c oleh kabid { waktu 2 hari }"#));
    let standards = &sop.header.service_standards;
    assert_eq!(standards.len(), 2);
    assert!(matches!(&standards[1].from, Some(ClockPoint::EndOf(n)) if n.as_str() == "b"));
    let totals = alur::timing::totals(&sop, 450);
    assert_eq!(totals.service_standards[0].measured, Duration::workdays(6));
    assert_eq!(totals.service_standards[1].measured, Duration::workdays(2));
    assert!(totals.service_standards.iter().all(|s| s.within == Some(true)));
}

#[test]
fn a_broken_promise_is_a_warning() {
    let text = sop(r#"
    standar_pelayanan 1 hari
    langkah 1 a oleh fo { waktu 2 hari }"#);
    assert_eq!(codes(&text), [Code::PromiseExceeded]);
}

#[test]
fn stated_total_is_checked_against_the_steps() {
    let text = sop(r#"
    total 1 hari 20 menit (2 hari)
    langkah 1 a oleh fo { waktu 1 hari }
    langkah 2 b oleh fo { waktu 30 menit }"#);
    let mut compiled = compile_source("t.sop", &text, &Options::default());
    compiled.diagnostics.retain(|d| d.code != Code::UnusedActor);
    assert_eq!(compiled.diagnostics.len(), 1);
    let d = &compiled.diagnostics[0];
    assert_eq!(d.code, Code::StatedTotalMismatch);
    assert!(d.message.en.contains("1 workday 20 minutes"), "{}", d.message.en);
    assert!(d.message.en.contains("1 workday 30 minutes"), "{}", d.message.en);
    assert_eq!(d.labels.len(), 3, "the stated total and the two steps that sum to it");
}

#[test]
fn stated_rounding_is_checked() {
    let text = sop(r#"
    total 1 hari 30 menit (1 hari)
    langkah 1 a oleh fo { waktu 1 hari }
    langkah 2 b oleh fo { waktu 30 menit }"#);
    assert_eq!(codes(&text), [Code::StatedRoundingMismatch]);
}

#[test]
fn sub_procedures_fragments_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bersama")).unwrap();
    std::fs::write(
        dir.path().join("bersama/paraf.sop"),
        r#"
potongan rantai_paraf {
    langkah 1 paraf_kabid oleh kabid { waktu 5 menit }
    langkah 2 paraf_kadis oleh kadis { waktu 5 menit }
}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rekomendasi.sop"),
        r#"
sop rekomendasi "Rekomendasi Dinas Teknis" {
    pelaksana { dt "Dinas Teknis" instansi_luar }
    selesai {
        direkomendasikan "Rekomendasi terbit"
        tidak_direkomendasikan "Rekomendasi ditolak"
    }
    langkah 1 kaji oleh dt {
        waktu 2 hari
        keputusan {
            ya -> direkomendasikan
            tidak -> tidak_direkomendasikan
        }
    }
}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("izin.sop"),
        r#"
impor "bersama/paraf.sop"
sop izin "Izin" {
    pelaksana {
        fo "Front Office"
        dt "Dinas Teknis" instansi_luar
        kabid "Kabid"
        kadis "Kepala Dinas"
    }
    selesai {
        terbit "Terbit"
        tolak "Ditolak"
    }
    langkah 1 daftar oleh fo { waktu 10 menit }
    langkah 2 rekomendasi oleh dt {
        panggil "rekomendasi.sop"
        waktu 2 hari
        keputusan {
            direkomendasikan -> lanjut
            tidak_direkomendasikan -> tolak
        }
    }
    pakai rantai_paraf mulai 5
}"#,
    )
    .unwrap();
    let compiled = compile_path(&dir.path().join("izin.sop"), &Options::default());
    assert!(compiled.diagnostics.is_empty(), "{}", render_all(&compiled.sources, &compiled.diagnostics, Lang::En));
    let sop = compiled.sop.unwrap();
    let call = sop.steps[1].call.as_ref().unwrap();
    assert_eq!(call.sop.as_deref(), Some("rekomendasi"));
    assert_eq!(call.ends, ["direkomendasikan", "tidak_direkomendasikan"]);
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "5", "6"], "the fragment is renumbered from 5");
}

#[test]
fn every_problem_in_a_file_is_reported_in_one_run() {
    let text = sop(r#"
    langkah 1 a oleh fo {
        waktu 5 menit @
        kegiatan "tidak ditutup
    }
    langkah 2 b oleh fx { waktu 5 menit }
    langkah 3 c oleh fo {
        waktu lima menit
        kelengkapan tidak_ada
    }"#);
    let got = codes(&text);
    for expected in
        [Code::UnexpectedCharacter, Code::UnclosedString, Code::UnknownActor, Code::Expected, Code::UnknownArtifact]
    {
        assert!(got.contains(&expected), "{expected:?} missing from {got:?}");
    }
}

/// The help of the first diagnostic with `code`, in English.
fn help_of(text: &str, code: Code) -> Option<String> {
    let compiled = compile_source("test.sop", text, &Options::default());
    let d = compiled.diagnostics.iter().find(|d| d.code == code)?;
    d.help.as_ref().map(|h| h.en.clone())
}

#[test]
fn a_misspelt_unit_of_time_gets_a_did_you_mean() {
    let text = sop("langkah 1 a oleh fo { waktu 4 hri }");
    assert_eq!(help_of(&text, Code::Expected).as_deref(), Some("did you mean `hari`?"));
    let text = sop("langkah 1 a oleh fo { waktu 30 minuts }");
    assert_eq!(help_of(&text, Code::Expected).as_deref(), Some("did you mean `minute`?"));
    // A unit that is no typo of one the language knows gets no guess.
    let text = sop("langkah 1 a oleh fo { waktu 90 detik }");
    assert_eq!(help_of(&text, Code::Expected), None);
}

#[test]
fn a_loop_without_exit_points_at_the_route_that_closes_it() {
    let text = sop(r#"
    langkah 1 a oleh pemohon { waktu 5 menit }
    langkah 2 b oleh fo {
        waktu 5 menit
        keputusan {
            kurang -> kembali ke a
            tolak  -> kembali ke a
        }
    }"#);
    let compiled = compile_source("test.sop", &text, &Options::default());
    let d = compiled.diagnostics.iter().find(|d| d.code == Code::LoopWithoutExit).expect("E203");
    let closing: Vec<&str> = d
        .labels
        .iter()
        .filter(|l| l.message.en.contains("closes the loop"))
        .map(|l| compiled.sources.slice(l.span))
        .collect();
    assert_eq!(closing, ["kurang -> kembali ke a", "tolak  -> kembali ke a"]);

    // A plain route back: its `lanjut` line closes the loop.
    let text = sop(r#"
    langkah 1 a oleh pemohon { waktu 5 menit }
    langkah 2 b oleh fo {
        waktu 5 menit
        lanjut ke a
    }"#);
    let compiled = compile_source("test.sop", &text, &Options::default());
    let d = compiled.diagnostics.iter().find(|d| d.code == Code::LoopWithoutExit).expect("E203");
    let closing: Vec<&str> = d
        .labels
        .iter()
        .filter(|l| l.message.en.contains("closes the loop"))
        .map(|l| compiled.sources.slice(l.span))
        .collect();
    assert_eq!(closing, ["lanjut ke a"]);
}

#[test]
fn outputs_of_the_last_steps_of_a_final_parallel_block_are_final_products() {
    let text = sop(r#"
    langkah 1 a oleh fo {
        waktu 5 menit
        output berkas "Berkas"
    }
    paralel {
        langkah 2 b oleh kabid {
            kelengkapan berkas
            waktu 1 hari
            output izin "Izin"
        }
        cabang {
            langkah 3 c oleh fo {
                kelengkapan berkas
                waktu 1 hari
                output catatan "Catatan"
            }
            langkah 4 d oleh fo {
                waktu 1 hari
                output arsip "Arsip"
            }
        }
    }"#);
    // `catatan` is mid-branch and needed by nobody: still unused. `izin` and `arsip` end the SOP.
    let compiled = compile_source("test.sop", &text, &Options::default());
    let unused: Vec<&str> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::OutputUnused)
        .map(|d| compiled.sources.slice(d.labels[0].span))
        .collect();
    assert_eq!(unused, ["catatan"]);
}

#[test]
fn a_step_guarded_like_the_one_before_it_has_that_steps_output() {
    let guarded = |between: &str| {
        sop(&format!(
            r#"
    data {{
        perlu_survei ya_tidak
        hasil pilihan(survei, tanpa)
    }}
    langkah 1 a oleh fo {{
        waktu 5 menit
        output berkas "Berkas"
    }}
    langkah 2 survei oleh kabid {{
        jika perlu_survei
        kelengkapan berkas
        waktu 1 hari
        output bap "BAP Lapangan"
    }}
    {between}
    langkah 4 telaah_bap oleh kabid {{
        jika perlu_survei
        kelengkapan bap
        waktu 1 jam
        output telaah "Telaah"
    }}
    langkah 5 tanda_tangan oleh kabid {{
        kelengkapan berkas, telaah
        waktu 5 menit
    }}"#
        ))
    };
    // Step 4 runs only when the survey ran, so `bap` exists; `telaah` may not exist for step 5.
    let plain = guarded("langkah 3 catat oleh fo { waktu 5 menit }");
    let compiled = compile_source("test.sop", &plain, &Options::default());
    let not_given: Vec<&str> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::InputNotProduced)
        .map(|d| compiled.sources.slice(d.labels[0].span))
        .collect();
    assert_eq!(not_given, ["telaah"]);
    // A different condition proves nothing.
    let other =
        plain.replace("jika perlu_survei\n        kelengkapan bap", "jika hasil == survei\n        kelengkapan bap");
    let compiled = compile_source("test.sop", &other, &Options::default());
    assert_eq!(compiled.diagnostics.iter().filter(|d| d.code == Code::InputNotProduced).count(), 2);
}

#[test]
fn a_recorded_outcome_between_two_guarded_steps_breaks_the_guarantee() {
    let text = sop(r#"
    data { hasil pilihan(survei, tanpa) }
    langkah 1 a oleh fo {
        waktu 5 menit
        output berkas "Berkas"
        keputusan catat hasil {
            survei -> lanjut
            tanpa  -> lanjut
        }
    }
    langkah 2 survei oleh kabid {
        jika hasil == survei
        kelengkapan berkas
        waktu 1 hari
        output bap "BAP Lapangan"
    }
    langkah 3 periksa_ulang oleh fo {
        kelengkapan berkas
        waktu 5 menit
        keputusan catat hasil {
            survei -> lanjut
            tanpa  -> lanjut
        }
    }
    langkah 4 telaah_bap oleh kabid {
        jika hasil == survei
        kelengkapan bap
        waktu 1 jam
        output telaah "Telaah"
    }"#);
    // `hasil` may have changed between steps 2 and 4.
    assert_eq!(codes(&text).into_iter().filter(|c| *c == Code::InputNotProduced).count(), 1, "{:?}", codes(&text));
}

#[test]
fn warnings_are_reported_beside_errors() {
    // `kabid` does no step (W005) and step 1's actor is misspelt (E103): both are reported.
    let text = "sop t \"Uji\" {\n    pelaksana {\n        fo \"Front Office\"\n        kabid \"Kabid\"\n    }\n    langkah 1 a oleh fx { waktu 5 menit }\n}\n";
    let compiled = compile_source("test.sop", text, &Options::default());
    let got: Vec<Code> = compiled.diagnostics.iter().map(|d| d.code).collect();
    assert!(got.contains(&Code::UnknownActor), "{got:?}");
    assert!(got.contains(&Code::UnusedActor), "{got:?}");
}

/// Imports and calls read only files inside the SOP folder: a path out of it (`..`, absolute,
/// a symbolic link) is refused without being read, so nothing of it shows in the diagnostics;
/// a device or a file over the size limit is refused before it is read.
#[test]
fn imports_and_calls_stay_inside_the_sop_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sop_dir = dir.path().join("sop");
    std::fs::create_dir_all(sop_dir.join("calendars")).unwrap();
    std::fs::create_dir_all(sop_dir.join("bersama")).unwrap();
    let secret = dir.path().join("rahasia.sop");
    std::fs::write(&secret, "ALUR_ADMIN_PASSWORD=bocor123 {\n").unwrap();
    std::os::unix::fs::symlink(&secret, sop_dir.join("bersama/tautan.sop")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", sop_dir.join("bersama/nol.sop")).unwrap();
    let huge = std::fs::File::create(sop_dir.join("bersama/besar.sop")).unwrap();
    huge.set_len(alur::syntax::MAX_FILE_BYTES as u64 + 1).unwrap();
    let sop = |head: &str, call: &str| {
        format!(
            "{head}\nsop izin \"Izin\" {{\n    pelaksana {{ fo \"Front Office\" }}\n    selesai {{ terbit \"Terbit\" }}\n    langkah 1 daftar oleh fo {{\n        waktu 10 menit\n{call}    }}\n}}\n"
        )
    };
    let refused = [
        sop("impor \"../rahasia.sop\"", ""),
        sop(&format!("impor \"{}\"", secret.display()), ""),
        sop("impor \"bersama/tautan.sop\"", ""),
        sop("impor \"../../../../../../../../etc/passwd\"", ""),
        sop("impor \"/proc/self/environ\"", ""),
        sop("impor \"bersama/nol.sop\"", ""),
        sop("impor \"/dev/zero\"", ""),
        sop("impor \"bersama/besar.sop\"", ""),
        sop("", "        panggil \"../rahasia.sop\"\n        keputusan { terbit -> terbit\n lain -> terbit }\n"),
    ];
    for (i, text) in refused.iter().enumerate() {
        let file = sop_dir.join(format!("izin{i}.sop"));
        std::fs::write(&file, text).unwrap();
        let started = std::time::Instant::now();
        let compiled = compile_path(&file, &Options::default());
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{text}: read without bound");
        let rendered = render_all(&compiled.sources, &compiled.diagnostics, Lang::En);
        assert!(compiled.diagnostics.iter().any(|d| d.code == Code::ImportFailed), "{text}:\n{rendered}");
        for lang in [Lang::En, Lang::Id] {
            let rendered = render_all(&compiled.sources, &compiled.diagnostics, lang);
            assert!(!rendered.contains("bocor123") && !rendered.contains("root:"), "{text}:\n{rendered}");
        }
        assert_eq!(compiled.sources.files().count(), 1, "{text}: only the file itself was read:\n{rendered}");
    }
    let rendered = {
        let file = sop_dir.join("izin0.sop");
        let compiled = compile_path(&file, &Options::default());
        render_all(&compiled.sources, &compiled.diagnostics, Lang::Id)
    };
    assert!(rendered.contains("di luar folder SOP"), "{rendered}");
    // Inside the folder, a file imports from a sibling folder with `..` as before.
    std::fs::write(
        sop_dir.join("bersama/paraf.sop"),
        "potongan paraf {\n    langkah 2 paraf oleh fo { waktu 5 menit }\n}\n",
    )
    .unwrap();
    std::fs::create_dir_all(sop_dir.join("izin")).unwrap();
    let file = sop_dir.join("izin/izin.sop");
    std::fs::write(
        &file,
        sop("impor \"../bersama/paraf.sop\"", "").replace("    }\n}\n", "    }\n    pakai paraf\n}\n"),
    )
    .unwrap();
    let compiled = compile_path(&file, &Options::default());
    assert!(!compiled.has_errors(), "{}", render_all(&compiled.sources, &compiled.diagnostics, Lang::En));
}

/// `waktu -` and `waktu tidak_tertulis ["cell"]` (English `takes not_stated`): the time is
/// unknown, not zero; the cell is kept as printed; a total over such steps is incomplete.
#[test]
fn a_step_without_a_stated_time_is_unknown_not_zero() {
    let model = compile_clean(&sop(r#"
    langkah 1 a oleh pemohon { waktu - }
    langkah 2 b oleh fo { waktu tidak_tertulis }
    langkah 3 c oleh fo { waktu tidak_tertulis "Sesuai jadwal" }
    langkah 4 d oleh kabid { takes not_stated }
    langkah 5 e oleh kabid { waktu 30 menit }"#));
    let cells: Vec<(Option<Duration>, &str)> =
        model.steps.iter().map(|s| (s.stated_duration(), s.duration.as_ref().unwrap().text.as_str())).collect();
    assert_eq!(
        cells,
        vec![(None, "-"), (None, ""), (None, "Sesuai jadwal"), (None, ""), (Some(Duration::new(0, 0, 30)), "30 menit")]
    );
    assert!(model.steps[..4].iter().all(|s| s.time_not_stated() && s.time().duration.is_none()));
    assert_eq!(model.steps[2].duration.as_ref().unwrap().cell(Lang::Id), "Sesuai jadwal");
    assert_eq!(model.steps[1].duration.as_ref().unwrap().cell(Lang::Id), "-");
    let totals = alur::timing::totals(&model, 450);
    assert_eq!(totals.main_path.duration, Duration::new(0, 0, 30));
    assert_eq!(totals.main_path.untimed, vec![0, 1, 2, 3]);
    // Each form survives `alur fmt`.
    let text = sop_text_of_untimed();
    let format = |text: &str| {
        let (cst, diagnostics) = alur::syntax::parse(alur::syntax::FileId(0), text);
        assert!(diagnostics.is_empty());
        alur::format::format(&cst, text)
    };
    let formatted = format(&text);
    assert_eq!(format(&formatted), formatted);
    assert!(formatted.contains("waktu -") && formatted.contains("waktu tidak_tertulis \"Sesuai jadwal\""));
    // A total the timed steps alone exceed is still an error; one they do not is a note.
    assert_eq!(codes(&format!("{}\n", sop_with_total("1 Jam"))), vec![Code::TotalIncomplete]);
    assert_eq!(codes(&format!("{}\n", sop_with_total("10 Menit"))), vec![Code::StatedTotalMismatch]);
    // A deadline action can never fire on a step without a due date.
    assert_eq!(
        codes(&sop("langkah 1 a oleh fo {\n waktu -\n terlambat beritahu kabid\n}")),
        vec![Code::DeadlineWithoutTime]
    );
}

fn sop_text_of_untimed() -> String {
    sop("langkah 1 a oleh fo {\n    waktu    -\n}\nlangkah 2 b oleh fo {\n    waktu tidak_tertulis \"Sesuai jadwal\"\n}")
}

fn sop_with_total(total: &str) -> String {
    sop(&format!("total {total}\nlangkah 1 a oleh fo {{ waktu - }}\nlangkah 2 b oleh fo {{ waktu 30 menit }}"))
}

/// The Standar Pelayanan components (Permenpan-RB 15/2014) in both languages, and extra rows of
/// the identity page.
#[test]
fn service_standard_components_are_declarations_of_the_header() {
    let model = compile_clean(
        r#"sop t "Uji" {
    persyaratan "KTP", "NPWP"
    persyaratan "Denah lokasi"
    tarif "Rp 0"
    produk "Izin"
    pengaduan "www.lapor.go.id"
    sarana "Loket"
    pengawasan_internal "Inspektorat"
    jumlah_pelaksana "3 orang"
    jaminan_pelayanan "Maklumat"
    jaminan_keamanan "Arsip terkunci"
    evaluasi_kinerja "Survei kepuasan"
    kompetensi_pelaksana "Memahami peraturan"
    identitas "Pengendalian" "Kabid"
    identitas "Identifikasi Risiko" "Berkas hilang"
    pelaksana { fo "FO" }
    langkah 1 a oleh fo { waktu 5 menit }
}"#,
    );
    let s = &model.header.service;
    assert_eq!(s.requirements, ["KTP", "NPWP", "Denah lokasi"]);
    assert_eq!((s.fees.len(), s.products.len(), s.complaints.len(), s.facilities.len()), (1, 1, 1, 1));
    assert_eq!(
        (s.supervision.len(), s.staffing.len(), s.guarantee.len(), s.safety.len(), s.evaluation.len()),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(model.header.qualifications, ["Memahami peraturan"]);
    assert_eq!(model.header.extra_identity.len(), 2);
    let english = compile_clean(
        r#"sop t "Test" {
    requirements "ID card"
    fee "None"
    product "Permit"
    complaints "Desk"
    facilities "Counter"
    internal_supervision "Inspectorate"
    staffing "3"
    service_guarantee "Charter"
    safety_guarantee "Locked"
    performance_evaluation "Survey"
    identity "Control" "Head"
    actors { fo "FO" }
    step 1 a by fo { takes 5 minutes }
}"#,
    );
    assert_eq!(english.header.service.items().iter().filter(|(_, items)| items.len() == 1).count(), 10);
    // A value that is not a text is refused where it is written.
    assert!(codes(
        "sop t \"Uji\" {\n    biaya 5000\n    pelaksana { fo \"FO\" }\n    langkah 1 a oleh fo { waktu 5 menit }\n}\n"
    )
    .contains(&Code::Expected));
}

/// Outputs that depend on the decision: the permit with one outcome, the refusal letter with the
/// other. A step after the decision has the permit only on the path of the outcome that gives it.
#[test]
fn an_outcome_gives_its_own_documents() {
    let text = sop(r#"
    langkah 1 kaji oleh kabid {
        waktu 1 jam
        output bap "BAP"
        keputusan {
            disetujui -> lanjut, output izin "Izin praktik"
            ditolak   -> tolak, output surat_penolakan "Surat penolakan", surat_pengantar
        }
    }
    langkah 2 serahkan oleh fo {
        kelengkapan bap, izin
        waktu 10 menit
        lanjut ke selesai
    }
    langkah 3 tolak oleh fo {
        kelengkapan surat_penolakan, surat_pengantar
        waktu 10 menit
    }"#);
    let model = compile_clean(&text);
    let outcomes = &model.steps[0].decision.as_ref().unwrap().outcomes;
    assert_eq!(outcomes[0].outputs.iter().map(|o| o.artifact.as_str()).collect::<Vec<_>>(), ["izin"]);
    assert_eq!(outcomes[1].outputs.len(), 2);
    assert!(model.artifact("surat_penolakan").is_some_and(|a| a.label == "Surat penolakan"));
    assert_eq!(
        alur::render::html::output_text(&model, &model.steps[0]),
        "BAP; Izin praktik (disetujui); Surat penolakan; surat_pengantar (ditolak)"
    );
    // The refusal letter is not there on the way to handing over the permit.
    let wrong = text.replace("kelengkapan bap, izin", "kelengkapan bap, izin, surat_penolakan");
    assert_eq!(codes(&wrong), vec![Code::InputNotProduced]);
    // With a return: `output` is the last option of the line.
    let returned = sop(r#"
    langkah 1 ajukan oleh pemohon { waktu 10 menit }
    langkah 2 periksa oleh fo {
        waktu 10 menit
        keputusan {
            lengkap       -> lanjut
            tidak_lengkap -> kembali ke ajukan, jam berhenti, output daftar_kekurangan "Daftar kekurangan"
        }
    }"#);
    let model = compile_clean(
        &returned
            .replace(
                "langkah 1 ajukan oleh pemohon { waktu 10 menit }",
                "langkah 1 ajukan oleh pemohon {\n waktu 10 menit\n kelengkapan daftar_kekurangan\n}",
            )
            .replace("kelengkapan daftar_kekurangan\n", ""),
    );
    assert_eq!(model.steps[1].decision.as_ref().unwrap().outcomes[1].outputs.len(), 1);
}

/// `penangguhan maks DURATION -> TARGET` (issue 22, shape 7): the step's task may stand on hold
/// with the clock paused for at most the duration; a hold that lasts longer routes the case,
/// and that route is an edge of the flow (so an end reached only by it is reachable).
#[test]
fn a_hold_states_its_maximum_and_where_the_case_goes_past_it() {
    let text = sop(r#"
    selesai {
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }
    langkah 1 ajukan oleh pemohon {
        waktu 10 menit
    }
    langkah 2 verifikasi oleh fo {
        waktu       1 jam
        penangguhan maks 14 hari -> gugur
        lanjut ke terbit
    }
"#);
    let sop = compile_clean(&text);
    let hold = sop.step("verifikasi").and_then(|s| s.hold.as_ref()).expect("a hold");
    assert_eq!(hold.max, Duration::workdays(14));
    assert!(matches!(&hold.target, Target::Named(n) if n.as_str() == "gugur"));
    let node = sop.flow.step_nodes[1];
    let holds: Vec<_> =
        sop.flow.graph.edges(node).filter(|e| matches!(e.weight(), Edge::Hold)).map(|e| e.target()).collect();
    assert_eq!(holds, vec![sop.flow.end_nodes[1]]);
    let interpreter = alur::interpret::Interpreter::new(&sop);
    assert_eq!(interpreter.after_hold(&sop, 1), Some(sop.flow.end_nodes[1]));
    // The ordinary exit is not the hold's.
    assert_eq!(interpreter.after(&sop, 1, None).map(|a| a.node), Ok(Some(sop.flow.end_nodes[0])));
    assert_eq!(interpreter.after_hold(&sop, 0), None);
}

#[test]
fn a_hold_reads_in_english_with_calendar_days_and_on_a_step_without_time() {
    let text = r#"
sop permit "Permit" {
    actors {
        applicant "Applicant" applicant
        desk      "Desk"      staff
    }
    ends {
        issued "Issued"
        lapsed "Lapsed"
    }
    step 1 apply by applicant {
        takes 10 minutes
    }
    step 2 check by desk {
        takes -
        hold max 60 calendar days -> lapsed
        next issued
    }
}
"#;
    let sop = compile_clean(text);
    let hold = sop.step("check").and_then(|s| s.hold.as_ref()).expect("a hold");
    assert_eq!(hold.max, Duration::calendar_days(60));
}

#[test]
fn a_hold_is_refused_at_zero_on_a_step_nobody_at_the_office_does_and_with_an_unknown_target() {
    let with = |step: &str, hold: &str| {
        sop(&format!(
            r#"
    selesai {{
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }}
    langkah 1 ajukan oleh {step} {{
        waktu 10 menit
        {hold}
    }}
    langkah 2 verifikasi oleh fo {{
        waktu 1 jam
    }}
"#
        ))
    };
    assert_eq!(codes(&with("fo", "penangguhan maks 0 hari -> gugur")), vec![Code::InvalidValue]);
    assert_eq!(codes(&with("pemohon", "penangguhan maks 3 hari -> gugur")), vec![Code::HoldWithoutStaff]);
    assert_eq!(codes(&with("fo", "penangguhan maks 3 hari -> gugr")), vec![Code::UnknownStep]);
    assert_eq!(codes(&with("fo", "penangguhan 3 hari -> gugur")), vec![Code::Expected]);
    assert_eq!(codes(&with("fo", "penangguhan maks 3 hari gugur")), vec![Code::Expected]);
    // Once per step.
    assert_eq!(
        codes(&with("fo", "penangguhan maks 3 hari -> gugur\n        penangguhan maks 4 hari -> gugur")),
        vec![Code::DuplicateSetting]
    );
    // A hold to the next step is allowed.
    assert!(codes(&with("fo", "penangguhan maks 3 hari -> lanjut")).is_empty());
}

/// Issue 22 shape 4: a hand-off chain inside one row, `oleh a -> b -> c`, is compiled into one
/// step per desk, done one after the other.
mod hand_off_chains {
    use super::*;

    const CHAIN: &str = r#"
    langkah 1 ajukan oleh pemohon {
        waktu  10 menit
        output berkas "Berkas"
    }
    langkah 2 disposisi oleh kabid -> fo → kabid {
        kegiatan    "Disposisi berjenjang"
        kelengkapan berkas
        waktu       31 menit
        output      disposisi "Lembar disposisi"
        keputusan {
            setuju -> lanjut
            kurang -> kembali ke ajukan
        }
    }
    langkah 3 paraf {
        oleh  fo -> kabid
        kelengkapan disposisi
        waktu 10 menit -> 1 jam
        lanjut ke disposisi jika ulang
    }"#;

    fn chain_sop() -> Sop {
        compile_clean(&sop(&format!("data {{ ulang ya_tidak }}\n{CHAIN}")))
    }

    #[test]
    fn each_desk_is_a_step_of_its_own_on_the_row() {
        let sop = chain_sop();
        let desks: Vec<(&str, &str, &str, Option<Duration>)> = sop
            .steps
            .iter()
            .map(|s| (s.number.as_str(), s.id.as_str(), s.actor_ids().next().unwrap(), s.stated_duration()))
            .collect();
        assert_eq!(
            desks,
            [
                ("1", "ajukan", "pemohon", Some(Duration::minutes(10))),
                // 31 minutes over three desks: the remainder goes to the last.
                ("2", "disposisi", "kabid", Some(Duration::minutes(10))),
                ("2", "disposisi.2", "fo", Some(Duration::minutes(10))),
                ("2", "disposisi.3", "kabid", Some(Duration::minutes(11))),
                // Shares as written.
                ("3", "paraf", "fo", Some(Duration::minutes(10))),
                ("3", "paraf.2", "kabid", Some(Duration::hours(1))),
            ]
        );
        assert!(sop.steps.iter().all(|s| s.performers.as_ref().unwrap().mode == PerformerMode::Single));
        let desk = sop.steps[2].desk.as_ref().unwrap();
        assert_eq!((desk.row.as_str(), desk.index, desk.count), ("disposisi", 1, 3));
        assert_eq!(desk.actors.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["kabid", "fo", "kabid"]);
        assert_eq!(sop.steps[4].desk.as_ref().unwrap().cell.as_ref().unwrap().text, "10 menit -> 1 jam");
        // The first desk needs the row's documents, the last gives its outputs and decides.
        let (first, middle, last) = (&sop.steps[1], &sop.steps[2], &sop.steps[3]);
        assert_eq!(first.inputs.len(), 1);
        assert!(middle.inputs.is_empty() && middle.outputs.is_empty() && middle.decision.is_none());
        assert!(first.outputs.is_empty() && first.decision.is_none());
        assert_eq!(last.outputs[0].artifact.as_str(), "disposisi");
        assert!(last.decision.is_some());
        assert_eq!(sop.steps[5].routes.len(), 1, "the route leaves from the last desk");
        // The stated total sums the desks: the row's time.
        assert_eq!(sop.steps.iter().filter_map(|s| s.stated_duration()).sum::<Duration>(), Duration::new(0, 1, 51));
    }

    #[test]
    fn the_desks_follow_each_other_and_a_route_to_the_row_reaches_its_first_desk() {
        let sop = chain_sop();
        let next_of = |step: usize| -> Vec<String> {
            let node = sop.flow.step_nodes[step];
            sop.flow
                .graph
                .neighbors(node)
                .filter_map(|n| sop.flow.step_of(n).map(|s| sop.steps[s].id.name.clone()))
                .collect()
        };
        assert_eq!(next_of(1), ["disposisi.2"]);
        assert_eq!(next_of(2), ["disposisi.3"]);
        assert_eq!(next_of(4), ["paraf.2"]);
        // `lanjut ke disposisi` (from the last desk of row 3) and `kembali ke ajukan`.
        let gate = sop.flow.graph.neighbors(sop.flow.step_nodes[5]).next().unwrap();
        let targets: Vec<Option<usize>> = sop.flow.graph.neighbors(gate).map(|n| sop.flow.step_of(n)).collect();
        assert!(targets.contains(&Some(1)), "{targets:?}");
    }

    #[test]
    fn english_keywords_and_arrows_give_the_same_chain() {
        let id = sop(r#"
    langkah 1 a oleh fo -> kabid { waktu 10 menit -> 20 menit }"#);
        let en = r#"sop t "Uji" {
    actors {
        pemohon "Pemohon" applicant
        fo      "Front Office"
        kabid   "Kabid Perizinan"
    }
    step 1 a by fo → kabid { takes 10 minutes -> 20 minutes }
}"#;
        let (id, en) = (compile_clean(&id), compile_clean(en));
        let shape = |s: &Sop| -> Vec<(String, Option<Duration>)> {
            s.steps.iter().map(|s| (s.id.name.clone(), s.stated_duration())).collect()
        };
        assert_eq!(shape(&id), shape(&en));
        assert_eq!(shape(&id).len(), 2);
    }

    #[test]
    fn time_not_stated_and_days_that_divide_apply_to_every_desk() {
        let sop = compile_clean(&sop(r#"
    langkah 1 a oleh fo -> kabid { waktu - }
    langkah 2 b oleh fo -> kabid { waktu 4 hari 1 jam }
    langkah 3 c oleh fo -> kabid { waktu 2 hari kalender }"#));
        assert!(sop.steps[0].time_not_stated() && sop.steps[1].time_not_stated());
        assert_eq!(sop.steps[2].stated_duration(), Some(Duration::new(2, 0, 30)));
        assert_eq!(sop.steps[3].stated_duration(), Some(Duration::new(2, 0, 30)));
        assert_eq!(sop.steps[4].stated_duration(), Some(Duration::calendar_days(1)));
    }

    #[test]
    fn shares_that_do_not_fit_and_days_that_do_not_divide_are_errors() {
        assert_eq!(codes(&sop("langkah 1 a oleh fo -> kabid { waktu 1 hari }")), [Code::ChainTimeUneven]);
        assert_eq!(
            codes(&sop("langkah 1 a oleh fo -> kabid { waktu 1 jam -> 1 jam -> 1 jam }")),
            [Code::ChainSharesMismatch]
        );
        assert_eq!(codes(&sop("langkah 1 a oleh fo { waktu 1 jam -> 1 jam }")), [Code::ChainSharesMismatch]);
        assert_eq!(codes(&sop("langkah 1 a oleh fo -> kabid dan pemohon { waktu 1 jam }")), [Code::InvalidValue]);
        assert_eq!(codes(&sop("langkah 1 a oleh fo atau kabid -> pemohon { waktu 1 jam }")), [Code::InvalidValue]);
        assert_eq!(
            codes(&sop("langkah 1 a oleh fo -> kabid { waktu 1 jam, lalu hari_berikutnya 1 hari }")),
            [Code::InvalidValue]
        );
        assert_eq!(codes(&sop("langkah 1 a oleh fo -> kasie { waktu 1 jam }")), [Code::UnknownActor]);
        // One missing `waktu` for the row, not one per desk.
        assert_eq!(codes(&sop("langkah 1 a oleh fo -> kabid { kegiatan \"x\" }")), [Code::MissingDuration]);
    }

    #[test]
    fn a_conditional_chain_is_skipped_whole() {
        let sop = compile_clean(&sop(r#"
    data { survei ya_tidak }
    langkah 1 a oleh fo { waktu 5 menit }
    langkah 2 b oleh fo -> kabid {
        jika  survei
        waktu 10 menit
    }
    langkah 3 c oleh kabid { waktu 5 menit }"#));
        let gate = sop.flow.graph.node_indices().find(|n| matches!(sop.flow.graph[*n], Node::Gate { .. })).unwrap();
        let targets: Vec<String> = sop
            .flow
            .graph
            .neighbors(gate)
            .filter_map(|n| sop.flow.step_of(n).map(|s| sop.steps[s].id.name.clone()))
            .collect();
        assert_eq!(targets.len(), 2);
        assert!(targets.contains(&"b".to_string()) && targets.contains(&"c".to_string()), "{targets:?}");
        assert!(sop.steps[1].condition.is_some() && sop.steps[2].condition.is_none());
    }

    #[test]
    fn clock_points_on_a_chain_mean_its_first_or_last_desk() {
        let sop = compile_clean(&sop(r#"
    standar_pelayanan 1 jam sejak b sampai b
    standar_pelayanan 1 jam setelah a kecuali b
    langkah 1 a oleh fo { waktu 5 menit }
    langkah 2 b oleh fo -> kabid -> fo { waktu 30 menit }"#));
        let standards = &sop.header.service_standards;
        assert_eq!(standards[0].from, Some(ClockPoint::StartOf(alur::model::Name::new("b", sop.span))));
        assert_eq!(standards[0].until.as_ref().unwrap().step().as_str(), "b.3");
        let excluded: Vec<&str> = standards[1].excluded.iter().map(|n| n.as_str()).collect();
        assert_eq!(excluded, ["b", "b.2", "b.3"]);
    }

    #[test]
    fn the_table_folds_a_chain_back_into_its_row() {
        let sop = chain_sop();
        let table = alur::compile::chain::fold(&sop);
        let rows: Vec<&str> = table.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(rows, ["ajukan", "disposisi", "paraf"]);
        let row = &table.steps[1];
        let performers = row.performers.as_ref().unwrap();
        assert_eq!(performers.mode, PerformerMode::Chain);
        assert_eq!(performers.actors.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["kabid", "fo", "kabid"]);
        assert_eq!(row.stated_duration(), Some(Duration::minutes(31)));
        assert!(row.decision.is_some() && !row.inputs.is_empty() && !row.outputs.is_empty());
        assert_eq!(table.steps[2].duration.as_ref().unwrap().cell(Lang::Id), "10 Menit → 1 Jam");
        assert_eq!(table.flow.step_nodes.len(), 3);
    }
}

/// A hold on a hand-off chain is the office's: the desks of the office may hold the file, a
/// desk of the applicant may not (and a chain with no office desk is E215).
#[test]
fn a_hold_on_a_chain_stays_with_the_office_desks() {
    let text = sop(r#"
    selesai {
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }
    langkah 1 ajukan oleh pemohon {
        waktu 10 menit
    }
    langkah 2 lengkapi oleh fo -> pemohon -> fo {
        waktu       30 menit
        penangguhan maks 5 hari -> gugur
        lanjut ke terbit
    }
"#);
    let sop = compile_clean(&text);
    let held: Vec<(&str, bool)> = sop.steps.iter().skip(1).map(|s| (s.id.name.as_str(), s.hold.is_some())).collect();
    assert_eq!(held, [("lengkapi", true), ("lengkapi.2", false), ("lengkapi.3", true)]);
    let applicant_only = text.replace("oleh fo -> pemohon -> fo", "oleh pemohon -> pemohon");
    assert!(codes(&applicant_only).contains(&Code::HoldWithoutStaff), "{:?}", codes(&applicant_only));
}
