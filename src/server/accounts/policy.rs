//! The password policy, on every password a person sets (the API and the web pages, creating
//! a user or changing a password): long enough, not the user name, not a common password.
//! Demo users and test fixtures are made through [`super::Accounts`] directly and keep theirs.

use crate::diagnostic::Text;
use crate::t;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest: hashing is the costly part of a sign-in and should not grow with the input.
pub const MAX_PASSWORD_CHARS: usize = 256;

const COMMON: &str = include_str!("common-passwords.txt");

/// Why `password` may not be `name`'s password, in both languages; `None` when it may.
pub fn weak_password(name: &str, password: &str) -> Option<Text> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some(t!(
            "kata sandi minimal {MIN_PASSWORD_CHARS} karakter (ini {chars})",
            "the password needs at least {MIN_PASSWORD_CHARS} characters (this one has {chars})"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some(t!(
            "kata sandi paling banyak {MAX_PASSWORD_CHARS} karakter",
            "the password may have at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    let lower = password.to_lowercase();
    let name = name.trim().to_lowercase();
    // A one- or two-letter name is in many good passwords by chance.
    if !name.is_empty() && (lower == name || (name.chars().count() >= 3 && lower.contains(&name))) {
        return Some(t!(
            "kata sandi tidak boleh sama dengan atau memuat nama pengguna",
            "the password may not be or contain the user name"
        ));
    }
    if is_common(&lower) {
        return Some(t!(
            "kata sandi ini termasuk yang paling sering dipakai (dan ditebak): pilih yang lain, misalnya beberapa kata acak",
            "this password is among the most used (and guessed): choose another, such as a few random words"
        ));
    }
    if password.chars().collect::<std::collections::BTreeSet<_>>().len() < 4 {
        return Some(t!(
            "kata sandi memerlukan setidaknya 4 karakter yang berbeda",
            "the password needs at least 4 different characters"
        ));
    }
    None
}

/// In the list, as it is or with digits and symbols added at the end (`bismillah123`).
fn is_common(lower: &str) -> bool {
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    let list = || COMMON.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    list().any(|common| common == lower || (!stem.is_empty() && common == stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_named_and_common_passwords() {
        for (name, password) in [
            ("ani", ""),
            ("ani", "rahasia"),
            ("budi.santoso", "budi.santoso"),
            ("budi", "BudiSantoso2024"),
            ("ani", "bismillah123"),
            ("ani", "Indonesia2024!"),
            ("ani", "sayangku1234"),
            ("ani", "1234567890"),
            ("ani", "qwertyuiop"),
            ("ani", "aaaaaaaaaaaa"),
        ] {
            assert!(weak_password(name, password).is_some(), "{name}: {password}");
        }
        assert!(weak_password("ani", "kopi hitam tanpa gula").is_none());
        assert!(weak_password("ani", "Ku8#pL-2vQ").is_none());
        assert!(weak_password("ani", &"x".repeat(300)).is_some());
    }
}
