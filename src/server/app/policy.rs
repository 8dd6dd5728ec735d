//! Who may see and do what: the table of ARCHITECTURE.md ("Who may do what"), in one place
//! for the JSON API and the web pages.

use std::sync::Arc;

use super::super::accounts::User;
use super::super::auth::Auth;
use super::super::problem::Problem;
use super::super::State;
use crate::diagnostic::Lang;
use crate::model::ActorKind;
use crate::runtime::deploy::Deployed;
use crate::runtime::{Caller, CaseId, CaseState, RuntimeError};

pub fn can_read_sops(user: &User) -> bool {
    user.is_analyst() || user.is_staff()
}

pub fn require_admin(auth: &Auth) -> Result<(), Problem> {
    if auth.user.is_admin() {
        Ok(())
    } else {
        Err(Problem::forbidden(auth.lang, "Hanya admin yang boleh melakukan ini.", "Only an admin may do this."))
    }
}

/// May this user see this case? Admins and analysts see every case; an applicant their own;
/// staff the cases of SOPs they hold an actor role in.
pub fn can_see(user: &User, state: &CaseState, d: &Deployed) -> bool {
    may_see(user, &state.applicant, d)
}

/// Whether `user` may see a case of `applicant` on SOP `d` (the rule of [`can_see`]).
fn may_see(user: &User, applicant: &str, d: &Deployed) -> bool {
    if user.is_analyst() || (user.is_applicant() && applicant == user.name) {
        return true;
    }
    let actors = user.actors();
    d.sop.actors.iter().any(|a| actors.contains(&a.id.name))
}

/// The actor roles a user works a case as: their staff roles, and the SOP's applicant actors
/// when the case is their own application.
pub fn caller_for(user: &User, state: &CaseState, d: &Deployed) -> Caller {
    roles_on(user, &state.applicant, d)
}

fn roles_on(user: &User, applicant: &str, d: &Deployed) -> Caller {
    let mut roles = user.actors();
    if user.is_applicant() && applicant == user.name {
        roles.extend(d.sop.actors.iter().filter(|a| a.kind == ActorKind::Applicant).map(|a| a.id.name.clone()));
    }
    Caller::with_roles(user.name.as_str(), roles)
}

/// The actor roles a user works a case as, for a command on it, and the case's deployment;
/// the case must be visible to them (404 otherwise). Reads no events: who may act depends
/// only on the case's identity.
pub async fn caller_on(
    state: &State,
    user: &User,
    case: CaseId,
    lang: Lang,
) -> Result<(Caller, Arc<Deployed>), Problem> {
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
    if !may_see(user, &identity.applicant, &d) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((roles_on(user, &identity.applicant, &d), d))
}

/// Loads a case the user may see (404 otherwise: not even its existence is told).
pub async fn visible_case(
    state: &State,
    user: &User,
    case: CaseId,
    lang: Lang,
) -> Result<(CaseState, Arc<Deployed>), Problem> {
    let loaded = state.engine.load(case).await.map_err(|e| Problem::runtime(&e, lang))?;
    let d = state.engine.case_deployment(&loaded).map_err(|e| Problem::runtime(&e, lang))?;
    if !can_see(user, &loaded, &d) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((loaded, d))
}

pub fn require_analyst(auth: &Auth) -> Result<(), Problem> {
    if auth.user.is_analyst() {
        Ok(())
    } else {
        Err(Problem::forbidden(
            auth.lang,
            "Hanya analis dan admin yang membaca laporan.",
            "Only analysts and admins read reports.",
        ))
    }
}
