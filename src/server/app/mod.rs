//! The application layer: what the server does, for both front ends. `policy` (who may see and
//! do what), `read` (the read models: a case as a parcel tracker, inbox items, case rows, SOP
//! summaries and details, report rows), `queries` (lists, the inbox, reports) and `commands`
//! (start, claim, release, hold, resume, complete, withdraw, cancel, attach, deploy, reload).
//! Nothing here knows HTTP: no extractors, no responses. The JSON API (`super::api`) and the
//! web pages (`super::web`) extract a request, call in here, and answer their own way; errors
//! are [`Problem`]s, which the API sends as problem details and the pages show as pages.

pub mod commands;
pub mod policy;
pub mod queries;
pub mod read;

use axum::http::StatusCode;

use super::problem::{say, Problem};
use crate::diagnostic::Lang;
use crate::runtime::CaseId;

pub fn parse_case(text: &str, lang: Lang) -> Result<CaseId, Problem> {
    text.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            say(lang, &format!("`{text}` bukan nomor perkara."), &format!("`{text}` is not a case id.")),
        )
    })
}
