//! The kinds of document an office takes, and whether a file's bytes are what its declared type
//! says. One allow-list for both directions: an upload of another type, or whose content does not
//! match its type, is refused; a download is served with its stored type only when that type is
//! on the list and the bytes match it (documents stored before the list existed may not), else
//! as `application/octet-stream`. Together with `X-Content-Type-Options: nosniff` a browser then
//! never renders a file as something it is not (an HTML page uploaded as a "PDF").

use sha2::Digest as _;

/// A type an office takes, with the bytes its files start with.
struct Allowed {
    /// The media type as declared (lowercase, without parameters).
    media_type: &'static str,
    /// What the served `Content-Type` says.
    served: &'static str,
    /// What a person calls it, in messages.
    label: &'static str,
    matches: fn(&[u8]) -> bool,
}

/// OOXML (docx, xlsx) files are ZIP archives.
fn zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Plain text: UTF-8 without control characters other than tab, line and page breaks (so no
/// binary passes as text).
fn text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes)
        .is_ok_and(|s| s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}')))
}

const ALLOWED: &[Allowed] = &[
    Allowed {
        media_type: "application/pdf",
        served: "application/pdf",
        label: "PDF",
        matches: |b| b.starts_with(b"%PDF-"),
    },
    Allowed {
        media_type: "image/png",
        served: "image/png",
        label: "PNG",
        matches: |b| b.starts_with(b"\x89PNG\r\n\x1a\n"),
    },
    Allowed {
        media_type: "image/jpeg",
        served: "image/jpeg",
        label: "JPEG",
        matches: |b| b.starts_with(b"\xFF\xD8\xFF"),
    },
    Allowed {
        media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        served: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        label: "Word (docx)",
        matches: zip,
    },
    Allowed {
        media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        served: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        label: "Excel (xlsx)",
        matches: zip,
    },
    Allowed { media_type: "text/plain", served: "text/plain; charset=utf-8", label: "text", matches: text },
];

/// What a download is served as when its type is not on the list or its bytes do not match.
pub const OPAQUE: &str = "application/octet-stream";

/// Why an upload is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The declared type is not one an office takes.
    NotAllowed,
    /// The bytes are not what the declared type says.
    Mismatch,
}

/// `media_type` lowercase, without parameters (`text/plain; charset=utf-8` is `text/plain`).
fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn allowed(media_type: &str) -> Option<&'static Allowed> {
    let essence = essence(media_type);
    ALLOWED.iter().find(|a| a.media_type == essence)
}

/// Whether an upload declared as `media_type` with these bytes may be stored.
pub fn check_upload(media_type: &str, bytes: &[u8]) -> Result<(), Refusal> {
    match allowed(media_type) {
        None => Err(Refusal::NotAllowed),
        Some(a) if !(a.matches)(bytes) => Err(Refusal::Mismatch),
        Some(_) => Ok(()),
    }
}

/// The `Content-Type` a stored document is served with: its own when allowed and matching,
/// else [`OPAQUE`].
pub fn served_type(media_type: &str, bytes: &[u8]) -> &'static str {
    match allowed(media_type) {
        Some(a) if (a.matches)(bytes) => a.served,
        _ => OPAQUE,
    }
}

/// The allowed type a file name's extension stands for (`.pdf`, `.png`, `.jpg`, `.docx`...).
pub fn type_of_name(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let media_type = match extension.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "txt" => "text/plain",
        _ => return None,
    };
    Some(media_type)
}

/// The allowed types as people name them: "PDF, PNG, ...".
pub fn allowed_labels() -> String {
    ALLOWED.iter().map(|a| a.label).collect::<Vec<_>>().join(", ")
}

/// The allowed media types, for programs.
pub fn allowed_types() -> Vec<&'static str> {
    ALLOWED.iter().map(|a| a.media_type).collect()
}

/// The SHA-256 of `bytes` in lowercase hex: a blob's address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` is a SHA-256 in lowercase hex (a blob address, safe as a file name).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_must_be_allowed_and_match_the_content() {
        assert_eq!(check_upload("application/pdf", b"%PDF-1.7 ..."), Ok(()));
        assert_eq!(check_upload("Application/PDF; name=x", b"%PDF-1.7"), Ok(()));
        assert_eq!(check_upload("application/pdf", b"<html><script>"), Err(Refusal::Mismatch));
        assert_eq!(check_upload("image/png", b"\x89PNG\r\n\x1a\n...."), Ok(()));
        assert_eq!(check_upload("image/jpeg", b"\xFF\xD8\xFF\xE0"), Ok(()));
        assert_eq!(check_upload("image/jpeg", b"GIF89a"), Err(Refusal::Mismatch));
        assert_eq!(check_upload("text/html", b"<html>"), Err(Refusal::NotAllowed));
        assert_eq!(check_upload("application/octet-stream", b"%PDF-"), Err(Refusal::NotAllowed));
        assert_eq!(check_upload("text/plain", "surat keterangan\r\n".as_bytes()), Ok(()));
        assert_eq!(check_upload("text/plain", b"\x00\x01binary"), Err(Refusal::Mismatch));
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert_eq!(check_upload(docx, b"PK\x03\x04rest"), Ok(()));
        assert_eq!(check_upload(docx, b"\xD0\xCF\x11\xE0 old .doc"), Err(Refusal::Mismatch));
    }

    #[test]
    fn downloads_keep_their_type_only_when_allowed_and_matching() {
        assert_eq!(served_type("application/pdf", b"%PDF-1.4"), "application/pdf");
        assert_eq!(served_type("application/pdf", b"<html>"), OPAQUE);
        assert_eq!(served_type("text/html", b"<html>"), OPAQUE);
        assert_eq!(served_type("text/plain", b"halo"), "text/plain; charset=utf-8");
    }

    #[test]
    fn extensions_name_allowed_types() {
        assert_eq!(type_of_name("KTP.JPG"), Some("image/jpeg"));
        assert_eq!(type_of_name("surat.pdf"), Some("application/pdf"));
        assert_eq!(type_of_name("skrip.html"), None);
        assert_eq!(type_of_name("tanpa-ekstensi"), None);
    }

    #[test]
    fn hashes_are_lowercase_hex() {
        let hash = sha256_hex(b"abc");
        assert_eq!(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_sha256_hex(&hash));
        assert!(!is_sha256_hex("../../etc/passwd"));
        assert!(!is_sha256_hex(&hash.to_uppercase()));
    }
}
