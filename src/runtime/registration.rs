//! Registration numbers and tracking secrets: what the engine puts in a registered case's
//! first event. The store takes the number (`store::Registry`); the pattern is the SOP's
//! (`model::RegistrationPattern`).

use chrono::{DateTime, Utc};
use rand::Rng;

use super::deploy::Deployed;
use super::event::Registration;
use crate::model::Numbering;

/// The letters a tracking secret is made of: no 0/O, 1/I/L, so it reads back from paper.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// 8 of 31 letters: about 2^39 values, against a lookup limited per address.
pub const SECRET_LEN: usize = 8;

/// The numbering a case of `d` started at `at` takes its number from (the office's local date
/// decides the month and year), when the SOP numbers its cases.
pub fn numbering(d: &Deployed, at: DateTime<Utc>) -> Option<Numbering> {
    let pattern = d.sop.header.registration.as_ref()?;
    Some(pattern.numbering_on(at.with_timezone(&d.calendar.time_zone()).date_naive()))
}

/// A registration still without its number (the store writes it) and with a new secret.
pub fn unnumbered() -> Registration {
    Registration { number: String::new(), sequence: String::new(), n: 0, secret: new_secret() }
}

/// A new tracking secret from the operating system's random source.
pub fn new_secret() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..SECRET_LEN).map(|_| SECRET_ALPHABET[rng.gen_range(0..SECRET_ALPHABET.len())] as char).collect()
}

/// The secret as a person may type it: case, spaces and dashes do not count.
pub fn normalize_secret(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
}

/// Whether `typed` is `secret`, in time that does not depend on where they differ.
pub fn secret_matches(secret: &str, typed: &str) -> bool {
    let typed = normalize_secret(typed);
    let (a, b) = (secret.as_bytes(), typed.as_bytes());
    // Compared over the stored length whatever was typed; a length mismatch fails at the end.
    let mut diff = (a.len() != b.len()) as u8;
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_readable_and_compare_as_typed() {
        let secret = new_secret();
        assert_eq!(secret.len(), SECRET_LEN);
        assert!(secret.bytes().all(|b| SECRET_ALPHABET.contains(&b)));
        assert_ne!(secret, new_secret());
        assert!(secret_matches("ABCD2345", "abcd-2345"));
        assert!(secret_matches("ABCD2345", " ABCD 2345 "));
        assert!(!secret_matches("ABCD2345", "ABCD234"));
        assert!(!secret_matches("ABCD2345", "ABCD23456"));
        assert!(!secret_matches("ABCD2345", "ABCD2346"));
        assert!(!secret_matches("ABCD2345", ""));
    }
}
