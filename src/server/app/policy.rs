//! Who may see and do what: the table of ARCHITECTURE.md ("Who may do what"), in one place
//! for the JSON API and the web pages. The rules are plain functions of the user, the SOP and
//! the case's applicant (unit-tested below); `visible_case` and `caller_on` load a case
//! through them.

use std::sync::Arc;

use super::super::accounts::User;
use super::super::problem::{say, Problem};
use super::Ctx;
use crate::diagnostic::Lang;
use crate::model::{ActorKind, Sop};
use crate::runtime::deploy::Deployed;
use crate::runtime::{Caller, CaseId, CaseState, RuntimeError};

/// Whether `user` may see a case of `applicant` on SOP `sop`: admins and analysts every case,
/// an applicant their own, staff the cases of SOPs they hold an actor role in.
pub fn may_see(user: &User, applicant: &str, sop: &Sop) -> bool {
    user.is_analyst() || owns(user, applicant) || staffs(user, sop)
}

/// May this user see this case? (The rule of [`may_see`].)
pub fn can_see(user: &User, case: &CaseState, d: &Deployed) -> bool {
    may_see(user, &case.applicant, &d.sop)
}

/// Whether the case of `applicant` is the user's own application.
fn owns(user: &User, applicant: &str) -> bool {
    user.is_applicant() && applicant == user.name
}

/// The actor roles a user works a case of `applicant` as: their staff roles, and the SOP's
/// applicant actors when the case is their own application.
pub fn roles_on(user: &User, applicant: &str, sop: &Sop) -> Caller {
    let mut roles = user.actors();
    if owns(user, applicant) {
        roles.extend(sop.actors.iter().filter(|a| a.kind == ActorKind::Applicant).map(|a| a.id.name.clone()));
    }
    Caller::with_roles(user.name.as_str(), roles)
}

/// The actor roles a user works this case as (the rule of [`roles_on`]).
pub fn caller_for(user: &User, case: &CaseState, d: &Deployed) -> Caller {
    roles_on(user, &case.applicant, &d.sop)
}

/// Whether the user holds one of the SOP's desks.
fn staffs(user: &User, sop: &Sop) -> bool {
    let actors = user.actors();
    sop.actors.iter().any(|a| actors.contains(&a.id.name))
}

/// May the user start an application on this SOP: as an applicant, or at the counter as one
/// of its staff?
pub fn may_start(user: &User, sop: &Sop) -> bool {
    user.is_applicant() || (user.is_staff() && staffs(user, sop))
}

/// The rule of [`may_start`], refused in the reader's language.
pub fn require_start(user: &User, sop: &Sop, lang: Lang) -> Result<(), Problem> {
    if may_start(user, sop) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            lang,
            "Hanya pemohon dan petugas SOP ini yang dapat memulai permohonan.",
            "Only applicants and this SOP's staff can start an application.",
        ))
    }
}

/// In whose name a case the user starts on `sop` is: an applicant's own (staff who are also
/// applicants may name another), the named applicant at the counter; else why not.
pub fn applicant_for(user: &User, sop: &Sop, requested: Option<&str>, lang: Lang) -> Result<String, Problem> {
    require_start(user, sop, lang)?;
    if user.is_applicant() {
        match requested {
            Some(other) if other != user.name && !user.is_staff() => Err(Problem::forbidden(
                lang,
                "Pemohon hanya dapat mengajukan atas namanya sendiri.",
                "An applicant applies only in their own name.",
            )),
            Some(other) => Ok(other.to_string()),
            None => Ok(user.name.clone()),
        }
    } else {
        // Staff of this SOP, at the counter.
        match requested {
            Some(name) if !name.trim().is_empty() => Ok(name.trim().to_string()),
            _ => Err(Problem::invalid(say(
                lang,
                "Sebutkan nama pemohon (`applicant`) untuk permohonan di loket.",
                "Name the applicant (`applicant`) for an application at the counter.",
            ))),
        }
    }
}

/// Only its applicant withdraws an application.
pub fn require_withdraw(user: &User, applicant: &str, lang: Lang) -> Result<(), Problem> {
    if owns(user, applicant) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            lang,
            "Hanya pemohonnya yang dapat menarik permohonan.",
            "Only its applicant can withdraw an application.",
        ))
    }
}

/// Documents are attached by whoever works the case: its applicant or its staff.
pub fn require_attach(caller: &Caller, lang: Lang) -> Result<(), Problem> {
    if caller.roles.is_empty() {
        Err(Problem::forbidden(
            lang,
            "Hanya pemohonnya dan petugas yang dapat melampirkan dokumen.",
            "Only its applicant and staff can attach documents.",
        ))
    } else {
        Ok(())
    }
}

/// SOP details (the model, timing, diagnostics, renderings) are for analysts, admins and staff.
pub fn can_read_sops(user: &User) -> bool {
    user.is_analyst() || user.is_staff()
}

pub fn require_sop_reader(user: &User, lang: Lang) -> Result<(), Problem> {
    if can_read_sops(user) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            lang,
            "Hanya analis, admin dan petugas yang membaca rincian SOP.",
            "Only analysts, admins and staff read SOP details.",
        ))
    }
}

/// Deploying and reloading SOPs, users, the audit log, cancelling cases.
pub fn require_admin(user: &User, lang: Lang) -> Result<(), Problem> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(Problem::forbidden(lang, "Hanya admin yang boleh melakukan ini.", "Only an admin may do this."))
    }
}

/// Reports are for analysts and admins.
pub fn require_analyst(user: &User, lang: Lang) -> Result<(), Problem> {
    if user.is_analyst() {
        Ok(())
    } else {
        Err(Problem::forbidden(
            lang,
            "Hanya analis dan admin yang membaca laporan.",
            "Only analysts and admins read reports.",
        ))
    }
}

/// The actor roles a user works a case as, for a command on it, and the case's deployment;
/// the case must be visible to them (404 otherwise). Reads no events: who may act depends
/// only on the case's identity.
pub async fn caller_on(ctx: &Ctx<'_>, case: CaseId) -> Result<(Caller, Arc<Deployed>), Problem> {
    let (state, lang) = (ctx.state, ctx.lang);
    let identity = state.engine.identity(case).await.map_err(|e| Problem::runtime(&e, lang))?;
    let d = state
        .engine
        .deployment(&identity.sop, Some(identity.version))
        .and_then(|d| {
            d.variant(identity.variant.as_deref()).ok_or_else(|| crate::runtime::RuntimeError::UnknownVariant {
                sop: identity.sop.clone(),
                variant: identity.variant.clone(),
                allowed: Vec::new(),
            })
        })
        .map_err(|e| Problem::runtime(&e, lang))?;
    if !may_see(ctx.user, &identity.applicant, &d.sop) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((roles_on(ctx.user, &identity.applicant, &d.sop), d))
}

/// Loads a case the user may see (404 otherwise: not even its existence is told).
pub async fn visible_case(ctx: &Ctx<'_>, case: CaseId) -> Result<(CaseState, Arc<Deployed>), Problem> {
    let (state, lang) = (ctx.state, ctx.lang);
    let loaded = state.engine.load(case).await.map_err(|e| Problem::runtime(&e, lang))?;
    let d = state.engine.case_deployment(&loaded).map_err(|e| Problem::runtime(&e, lang))?;
    if !can_see(ctx.user, &loaded, &d) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((loaded, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::accounts::Role;

    const SOP: &str = r#"sop izin_uji "Izin Uji" {
    pelaksana {
        pemohon      "Pemohon"      pemohon
        front_office "Front Office" staf
    }

    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan permohonan"
        waktu    15 menit
    }

    langkah 2 periksa oleh front_office {
        kegiatan "Memeriksa berkas"
        waktu    1 jam
    }
}
"#;

    fn sop() -> Sop {
        let compiled = crate::compile::compile_source("izin-uji.sop", SOP, &crate::compile::Options::default());
        compiled.sop.unwrap_or_else(|| panic!("the test SOP compiles: {:?}", compiled.diagnostics))
    }

    fn user(name: &str, roles: &[Role]) -> User {
        User { name: name.into(), display: name.into(), roles: roles.to_vec() }
    }

    /// The table of ARCHITECTURE.md ("Who may do what") for a case `owner` applied for:
    /// who sees it, which desks they work it as, and who may start, withdraw, attach, read
    /// SOP details, read reports and administer.
    #[test]
    fn the_authorization_table() {
        let sop = sop();
        let desk = || Role::Actor("front_office".into());
        let users = [
            user("admin", &[Role::Admin]),
            user("analyst", &[Role::Analyst]),
            user("owner", &[Role::Applicant]),
            user("stranger", &[Role::Applicant]),
            user("fo", &[desk()]),
            user("cashier", &[Role::Actor("kasir".into())]),
            // Staff who also apply: may apply at the counter in another's name.
            user("fo_applicant", &[desk(), Role::Applicant]),
        ];
        // name: sees, roles on the case, starts, withdraws, attaches (a case they see), SOP
        // details, reports, admin
        type Row = (&'static str, bool, &'static [&'static str], bool, bool, bool, bool, bool, bool);
        let expected: [Row; 7] = [
            ("admin", true, &[], false, false, false, true, true, true),
            ("analyst", true, &[], false, false, false, true, true, false),
            ("owner", true, &["pemohon"], true, true, true, false, false, false),
            ("stranger", false, &[], true, false, false, false, false, false),
            ("fo", true, &["front_office"], true, false, true, true, false, false),
            ("cashier", false, &["kasir"], false, false, false, true, false, false),
            ("fo_applicant", true, &["front_office"], true, false, true, true, false, false),
        ];
        let lang = Lang::En;
        for (u, row) in users.iter().zip(expected) {
            let caller = roles_on(u, "owner", &sop);
            let got: Row = (
                row.0,
                may_see(u, "owner", &sop),
                row.2,
                may_start(u, &sop),
                require_withdraw(u, "owner", lang).is_ok(),
                may_see(u, "owner", &sop) && require_attach(&caller, lang).is_ok(),
                require_sop_reader(u, lang).is_ok(),
                require_analyst(u, lang).is_ok(),
                require_admin(u, lang).is_ok(),
            );
            assert_eq!(u.name, row.0);
            assert_eq!(got, row, "{}", u.name);
            assert_eq!(caller.roles, row.2.iter().map(|r| r.to_string()).collect::<Vec<_>>(), "{}", u.name);
        }
    }

    #[test]
    fn in_whose_name_a_case_starts() {
        let sop = sop();
        let lang = Lang::En;
        let owner = user("owner", &[Role::Applicant]);
        assert_eq!(applicant_for(&owner, &sop, None, lang).ok().as_deref(), Some("owner"));
        let refused = applicant_for(&owner, &sop, Some("someone"), lang).err().map(|p| p.status);
        assert_eq!(refused, Some(403), "an applicant applies only in their own name");
        let fo = user("fo", &[Role::Actor("front_office".into())]);
        assert_eq!(applicant_for(&fo, &sop, Some(" warga "), lang).ok().as_deref(), Some("warga"));
        let unnamed = applicant_for(&fo, &sop, Some("  "), lang).err().map(|p| p.status);
        assert_eq!(unnamed, Some(422), "the counter names the applicant");
        let cashier = user("cashier", &[Role::Actor("kasir".into())]);
        let other = applicant_for(&cashier, &sop, Some("warga"), lang).err().map(|p| p.status);
        assert_eq!(other, Some(403), "staff of another SOP start nothing here");
        let analyst = user("analyst", &[Role::Analyst]);
        assert_eq!(applicant_for(&analyst, &sop, None, lang).err().map(|p| p.status), Some(403));
    }
}
