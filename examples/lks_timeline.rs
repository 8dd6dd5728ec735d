//! Runs the LKS/LKSA SOP end to end on the engine, with one return to the applicant at
//! verification, and prints the timeline with due dates in WITA, like a parcel tracker.
//!
//! `cargo run --example lks_timeline`
//!
//! Time is virtual (a manual clock): each desk takes about the standard time of its step, the
//! applicant takes a working day to complete the file, and the whole case runs in milliseconds.

use alur::runtime::view::view;
use alur::runtime::{Caller, Clock, Completion, Engine, Event, ManualClock, MemoryStore};
use chrono::{TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let zone = chrono_tz::Asia::Makassar;
    let start = zone.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single().ok_or("bad start")?.with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await?;
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await?;
    let case = engine.start_case("lks_lksa", "yayasan-harapan", Default::default(), None).await?;
    let mut rejected = false;
    loop {
        let state = engine.load(case).await?;
        let Some(task) = state.open_tasks().next().cloned() else { break };
        let deployed = engine.deployment(&state.sop, Some(state.version))?;
        let step = deployed.sop.step(&task.step).ok_or("unknown step")?;
        // Each desk works for the standard time of its step (within working hours).
        let minutes =
            step.stated_duration().map(|d| d.working_minutes(deployed.calendar.day_length_minutes())).unwrap_or(0);
        let done = deployed.calendar.add_working_minutes(clock.now(), minutes.max(1));
        clock.set(done);
        let outcome = match &*task.step {
            "verifikasi" if !rejected => {
                rejected = true;
                Some("ditolak")
            }
            "verifikasi" => Some("diterima"),
            _ => None,
        };
        if outcome == Some("ditolak") {
            // The applicant needs a working day to complete the file.
            engine
                .complete(
                    case,
                    task.no,
                    &Caller::new("petugas-fo", &["front_office"]),
                    Completion {
                        outcome: outcome.map(str::to_string),
                        note: Some("Akta pendirian belum dilampirkan".into()),
                        ..Completion::default()
                    },
                )
                .await?;
            clock.set(deployed.calendar.add_working_minutes(clock.now(), 450));
            continue;
        }
        let role = task.actors.first().map(|a| a.to_string()).unwrap_or_default();
        engine
            .complete(
                case,
                task.no,
                &Caller::new(format!("petugas-{role}"), &[role.as_str()]),
                Completion { outcome: outcome.map(str::to_string), ..Completion::default() },
            )
            .await?;
    }
    let state = engine.load(case).await?;
    let deployed = engine.deployment(&state.sop, Some(state.version))?;
    let local = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    println!("{} — kasus {case}", deployed.sop.title);
    println!("{:<4} {:<20} {:<14} {:<17} {:<17} selesai", "no", "langkah", "meja", "dibuka", "tenggat");
    for task in state.tasks.values() {
        let late = task.closed.zip(task.due).is_some_and(|(closed, due)| closed > due);
        println!(
            "{:<4} {:<20} {:<14} {:<17} {:<17} {}{}{}",
            task.no,
            task.step,
            task.actors.join("/"),
            local(task.opened),
            task.due.map(local).unwrap_or_else(|| "-".to_string()),
            task.closed.map(local).unwrap_or_default(),
            task.outcome.as_ref().map(|o| format!(" ({o})")).unwrap_or_default(),
            if late { "  TERLAMBAT" } else { "" },
        );
    }
    for r in &engine.history(case).await? {
        if let Event::ReworkStarted { round, clock: policy, .. } = &r.event {
            println!("dikembalikan ke pemohon (putaran {round}, jam layanan: {policy:?}) pada {}", local(r.at));
        }
    }
    let v = view(&state, &deployed, clock.now());
    if let Some(due) = &v.case_due {
        println!(
            "janji layanan {}: tenggat {} (jam berhenti {} menit kerja saat berkas di pemohon), status {:?}",
            due.promised,
            due.due.map(local).unwrap_or_default(),
            due.paused_minutes,
            due.sla.ok_or("no sla")?
        );
    }
    println!("akhir: {}", state.end.unwrap_or_default());
    Ok(())
}
