//! The names a deployed SOP brings into the engine (its step ids, actor ids and its own id),
//! interned: each distinct name is kept once for the life of the process, and a [`Name`] is a
//! plain reference to it. Events, tasks and the inbox hold these names by the million;
//! copying a reference is free, where sharing an `Arc` made every copy and every drop write to
//! the one counter all cores share (the engine on two cores ran no faster than on one).
//!
//! What is interned stays: the set of names is the vocabulary of the SOPs deployed (and of
//! the events in the store, which come from them), so it is bounded by what was deployed, not
//! by how many cases run. User names and field values are not interned.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// Interned texts by value: the leaked text (the key, so a look-up takes a `&str`) and the
/// leaked reference to it that a handle points at.
type Interned<T> = RwLock<HashMap<&'static T, &'static &'static T, foldhash::fast::RandomState>>;

/// An interned name: compares, hashes and prints as its text. One pointer wide (a reference
/// to the interned `&str`, not the `&str` itself): events, tasks and inbox entries hold names
/// by the million, and every byte of them is memory a running case takes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(&'static &'static str);

/// An interned list of names (a step's actors), one pointer wide like [`Name`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Names(&'static &'static [Name]);

fn interned<T: ?Sized + Eq + std::hash::Hash + 'static>(
    table: &'static OnceLock<Interned<T>>,
    value: &T,
    keep: impl FnOnce() -> &'static T,
) -> &'static &'static T {
    let table = table.get_or_init(Default::default);
    // A poisoned table still holds only whole entries: use it.
    if let Some(known) = table.read().unwrap_or_else(|p| p.into_inner()).get(value) {
        return known;
    }
    let mut write = table.write().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = write.get(value) {
        return known;
    }
    let kept = keep();
    let handle: &'static &'static T = Box::leak(Box::new(kept));
    write.insert(kept, handle);
    handle
}

static NAMES: OnceLock<Interned<str>> = OnceLock::new();
static LISTS: OnceLock<Interned<[Name]>> = OnceLock::new();

/// How many names and lists of names are interned: what the process keeps for good. Checking
/// an SOP interns nothing (the compiler's names are its own); deploying one interns its ids.
pub fn interned_count() -> usize {
    fn len<T: ?Sized>(table: &OnceLock<Interned<T>>) -> usize {
        table.get().map_or(0, |t| t.read().unwrap_or_else(|p| p.into_inner()).len())
    }
    len(&NAMES) + len(&LISTS)
}

impl Name {
    pub fn new(text: &str) -> Name {
        Name(interned(&NAMES, text, || Box::leak(text.into())))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Default for Name {
    fn default() -> Self {
        static EMPTY: &str = "";
        Name(&EMPTY)
    }
}

impl Names {
    pub fn new(names: &[Name]) -> Names {
        Names(interned(&LISTS, names, || Box::leak(names.into())))
    }

    pub fn as_slice(&self) -> &'static [Name] {
        self.0
    }
}

impl Default for Names {
    fn default() -> Self {
        static EMPTY: &[Name] = &[];
        Names(&EMPTY)
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl std::ops::Deref for Names {
    type Target = [Name];
    fn deref(&self) -> &[Name] {
        self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}

impl From<&String> for Name {
    fn from(text: &String) -> Name {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::new(&text)
    }
}

impl FromIterator<Name> for Names {
    fn from_iter<I: IntoIterator<Item = Name>>(names: I) -> Names {
        Names::new(&names.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> FromIterator<&'a str> for Names {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Names {
        names.into_iter().map(Name::new).collect()
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.0, f)
    }
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        // Read in place where the input allows, so a known name costs no allocation.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Name, E> {
                Ok(Name::new(text))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl Serialize for Names {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Names, D::Error> {
        Ok(Names::new(&Vec::<Name>::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_name_and_round_trip_as_strings() {
        let a = Name::new("front_office");
        let b: Name = String::from("front_office").into();
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, "front_office");
        let list: Names = ["front_office", "back_office"].into_iter().collect();
        let again = Names::new(&[Name::new("front_office"), Name::new("back_office")]);
        assert!(std::ptr::eq(list.as_slice(), again.as_slice()));
        let json = serde_json::to_string(&list).unwrap_or_default();
        assert_eq!(json, r#"["front_office","back_office"]"#);
        let back: Names = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, list);
        let escaped: Name = serde_json::from_str(r#""a\"b""#).unwrap_or_default();
        assert_eq!(escaped, "a\"b");
    }
}
