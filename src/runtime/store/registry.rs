//! Registration numbers: a case of an SOP that numbers its cases (`nomor_pendaftaran`) gets
//! the next number of its sequence in the same transaction as its first events, so a start
//! that fails takes no number (no gaps) and two starts never take the same one, among every
//! process that shares the store.

use async_trait::async_trait;

use super::StoreError;
use crate::model::Numbering;
use crate::runtime::event::{Event, Recorded, Registration};
use crate::runtime::CaseId;

#[async_trait]
pub trait Registry: Send + Sync {
    /// Appends a new case's first events (at version 0, as `EventLog::append`) with the next
    /// number of `numbering`'s sequence written into its `CaseStarted` (which must carry a
    /// `registration`, its `number` and `n` still empty), in one transaction with the counter
    /// and the number's index entry. Returns the registration as stored.
    async fn append_registered(
        &self,
        case: CaseId,
        events: Vec<Recorded>,
        numbering: &Numbering,
    ) -> Result<Registration, StoreError>;
    /// The case a registration number was given to.
    async fn case_by_number(&self, number: &str) -> Result<Option<CaseId>, StoreError>;
}

/// The registration a new case's first event asks for, or why the append is refused.
pub(crate) fn requested(events: &[Recorded]) -> Result<&Registration, StoreError> {
    match events.first().map(|r| &r.event) {
        Some(Event::CaseStarted { registration: Some(registration), .. }) => Ok(registration),
        _ => Err(StoreError::Refused("a registered start must begin with CaseStarted carrying a registration".into())),
    }
}

/// The first event with its number `n` of `numbering` filled in.
pub(crate) fn numbered(
    first: &Recorded,
    numbering: &Numbering,
    n: u64,
) -> Result<(Recorded, Registration), StoreError> {
    let mut first = first.clone();
    let Event::CaseStarted { registration: Some(registration), .. } = &mut first.event else {
        return Err(StoreError::Refused(
            "a registered start must begin with CaseStarted carrying a registration".into(),
        ));
    };
    registration.number = numbering.number(n);
    registration.sequence = numbering.sequence();
    registration.n = n;
    let registration = registration.clone();
    Ok((first, registration))
}

/// The refusal when a number is already held by another case: two SOPs' patterns that can make
/// the same number (`A{nomor}` and `A{nomor}1`) in different sequences.
pub(crate) fn taken(number: &str) -> StoreError {
    StoreError::Refused(format!(
        "registration number {number} is already held by another case: two numbering patterns make the same \
         numbers; give each SOP a pattern with its own fixed text"
    ))
}
