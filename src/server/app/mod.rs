//! The application layer: what the server does, for both front ends. `policy` (who may see and
//! do what), `read` (the read models: a case as a parcel tracker, inbox items, case rows, SOP
//! summaries and details, report rows), `queries` (lists, the inbox, reports), `commands`
//! (start, claim, release, hold, resume, complete, withdraw, cancel, attach, deploy, reload)
//! and `accounts` (users, passwords and sign-ins, as admins and people change them).
//! Nothing here knows HTTP: no extractors, no responses. The JSON API (`super::api`) and the
//! web pages (`super::web`) extract a request, call in here, and answer their own way; errors
//! are [`Problem`]s, which the API sends as problem details and the pages show as pages.

pub mod accounts;
pub mod commands;
pub mod policy;
pub mod queries;
pub mod read;
pub mod tracking;

use super::accounts::User;
use super::problem::{say, Problem};
use super::State;
use crate::diagnostic::Lang;
use crate::runtime::CaseId;

/// Who asks, in which language, of which server: what every query and command of the
/// application layer takes besides its own inputs.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub state: &'a State,
    pub user: &'a User,
    pub lang: Lang,
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a State, user: &'a User, lang: Lang) -> Ctx<'a> {
        Ctx { state, user, lang }
    }
}

/// A case id as a path gives it; one that does not parse names no case (404).
pub fn parse_case(text: &str, lang: Lang) -> Result<CaseId, Problem> {
    text.parse().map_err(|_| {
        Problem::missing(say(lang, &format!("`{text}` bukan nomor perkara."), &format!("`{text}` is not a case id.")))
    })
}

#[cfg(test)]
mod tests {
    /// The application layer answers values and problems, never HTTP: no extractor, no
    /// response type, so both front ends can call it and neither shapes it.
    #[test]
    fn the_application_layer_does_not_use_the_web_framework() {
        let framework = concat!("ax", "um");
        for (file, text) in [
            ("mod.rs", include_str!("mod.rs")),
            ("accounts.rs", include_str!("accounts.rs")),
            ("policy.rs", include_str!("policy.rs")),
            ("read.rs", include_str!("read.rs")),
            ("queries.rs", include_str!("queries.rs")),
            ("commands.rs", include_str!("commands.rs")),
        ] {
            assert!(!text.contains(framework), "src/server/app/{file} uses {framework}");
        }
    }
}
