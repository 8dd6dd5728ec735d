//! Extractors whose rejections are problem details in the reader's language, not axum's
//! plain-text English: `ApiPath` (a path value that does not parse is a 404: there is no such
//! thing), `ApiQuery` (400 naming the query parameter and its value), `ApiJson` (400 for bad
//! syntax, 422 for a field missing or of the wrong type, 413, 415). The web pages use
//! `path_problem` through their own path extractor.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::app::commands::Upload;
use super::auth::lang_of;
use super::problem::{say, Problem};
use crate::diagnostic::Lang;
use crate::runtime::TaskNo;
use axum::extract::Multipart;

/// A value echoed in a message, cut short.
fn shown(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// The `index`-th `{name}` of the route's pattern.
fn path_param(parts: &Parts, index: usize) -> Option<String> {
    let pattern = parts.extensions.get::<MatchedPath>()?.as_str();
    let names = pattern.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'));
    names.map(|n| n.trim_start_matches('*').to_string()).nth(index)
}

/// What is wrong with a path that matched a route but whose values do not parse.
pub fn path_problem(rejection: &PathRejection, parts: &Parts, lang: Lang) -> Problem {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        // The route and its handler disagree: a programming error.
        return Problem::internal(rejection.body_text());
    };
    let (name, value) = match error.kind() {
        ErrorKind::ParseErrorAtKey { key, value, .. } | ErrorKind::DeserializeError { key, value, .. } => {
            (Some(key.clone()), Some(value.clone()))
        }
        ErrorKind::ParseErrorAtIndex { index, value, .. } => (path_param(parts, *index), Some(value.clone())),
        ErrorKind::ParseError { value, .. } => (path_param(parts, 0), Some(value.clone())),
        ErrorKind::InvalidUtf8InPathParam { key } => (Some(key.clone()), None),
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } => {
            return Problem::internal(error.body_text());
        }
        _ => (None, None),
    };
    let name = name.unwrap_or_else(|| "?".into());
    let detail = match value {
        Some(value) => {
            let value = shown(&value);
            say(
                lang,
                &format!("Alamat ini tidak ada: `{value}` bukan `{name}` yang sah."),
                &format!("No such address: `{value}` is not a valid `{name}`."),
            )
        }
        None => say(
            lang,
            &format!("Alamat ini tidak ada: `{name}` bukan teks UTF-8."),
            &format!("No such address: `{name}` is not UTF-8 text."),
        ),
    };
    Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
}

/// `Path<T>` whose rejection is a problem detail.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_problem(&rejection, parts, lang_of(parts))),
        }
    }
}

/// Reads a query string into `T`, or says which parameter and value could not be read.
pub fn parse_query<T: DeserializeOwned>(query: &str, lang: Lang) -> Result<T, Problem> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let name = error.path().to_string();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let detail = match pairs.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => {
                let value = shown(value);
                say(
                    lang,
                    &format!("Nilai `{value}` untuk `{name}` di alamat ini tidak dapat dibaca."),
                    &format!("The value `{value}` of `{name}` in the address cannot be read."),
                )
            }
            None => say(lang, "Kueri alamat ini tidak dapat dibaca.", "The query of this address cannot be read."),
        };
        Problem::bad_request(detail).with("parameter", name.into())
    })
}

/// `Query<T>` whose rejection is a problem detail.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default(), lang_of(parts)).map(ApiQuery)
    }
}

/// `Json<T>` whose rejections are problem details: 400 for bad syntax, 422 for wrong types or
/// missing fields, 413 for a body over the limit, 415 without a JSON content type.
pub struct ApiJson<T>(pub T);

fn is_json(parts: &Parts) -> bool {
    let Some(value) = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let lang = lang_of(&parts);
        if !is_json(&parts) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                say(
                    lang,
                    "Kirim badan permintaan sebagai JSON (`Content-Type: application/json`).",
                    "Send the request body as JSON (`Content-Type: application/json`).",
                ),
            ));
        }
        let bytes = match Bytes::from_request(Request::from_parts(parts, body), state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    say(lang, "Badan permintaan terlalu besar.", "The request body is too large."),
                ));
            }
            Err(_) => {
                return Err(Problem::bad_request(say(
                    lang,
                    "Badan permintaan tidak dapat dibaca.",
                    "The request body could not be read.",
                )))
            }
        };
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| json_problem(&error, lang))?;
        // Only whitespace may follow the value.
        deserializer.end().map_err(|error| syntax_problem(&error, lang))?;
        Ok(ApiJson(value))
    }
}

fn syntax_problem(error: &serde_json::Error, lang: Lang) -> Problem {
    let (line, column) = (error.line(), error.column());
    Problem::bad_request(say(
        lang,
        &format!("Badan permintaan bukan JSON yang sah (baris {line}, kolom {column})."),
        &format!("The request body is not valid JSON (line {line}, column {column})."),
    ))
}

fn json_problem(error: &serde_path_to_error::Error<serde_json::Error>, lang: Lang) -> Problem {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return syntax_problem(inner, lang);
    }
    let path = error.path().to_string();
    let message = inner.to_string();
    let named = |word: &str| message.strip_prefix(word).and_then(|rest| rest.split('`').next()).map(str::to_string);
    let field = |name: &str| if path == "." { name.to_string() } else { format!("{path}.{name}") };
    let detail = if let Some(name) = named("missing field `") {
        let name = field(&name);
        say(lang, &format!("Isian `{name}` wajib diisi."), &format!("The field `{name}` is required."))
    } else if let Some(name) = named("unknown field `") {
        let name = field(&name);
        say(lang, &format!("Isian `{name}` tidak dikenal."), &format!("The field `{name}` is not known."))
    } else if path == "." || path.starts_with('[') {
        say(
            lang,
            "Badan permintaan harus objek JSON dengan isian yang diminta.",
            "The request body must be a JSON object with the fields asked for.",
        )
    } else {
        say(
            lang,
            &format!("Isian `{path}` jenis atau nilainya salah."),
            &format!("The field `{path}` has the wrong type or value."),
        )
    };
    Problem::invalid(detail).with("field", path.into())
}

/// Artifact uploads up to this size (JSON bodies have `api::JSON_LIMIT`).
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// The fields of an artifact upload (`artifact`, optional `task`, `file`), for the API and the
/// web page alike: 413 past the upload limit, 422 naming what is missing.
pub async fn read_upload(mut multipart: Multipart, lang: Lang) -> Result<Upload, Problem> {
    let mut artifact = None;
    let mut task = None;
    let mut file = None;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                say(lang, "Berkas lebih besar dari 10 MiB.", "The file is larger than 10 MiB."),
            )
        } else {
            Problem::bad_request(e.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name().unwrap_or("") {
            "artifact" => artifact = Some(field.text().await.map_err(too_large)?),
            "task" => {
                let text = field.text().await.map_err(too_large)?;
                if !text.trim().is_empty() {
                    task = Some(text.trim().parse::<TaskNo>().map_err(|_| {
                        Problem::invalid(say(lang, "`task` harus nomor tugas.", "`task` must be a task number."))
                    })?);
                }
            }
            "file" => {
                let name = field.file_name().unwrap_or("dokumen").to_string();
                let media_type = field.content_type().unwrap_or("application/octet-stream").to_string();
                let bytes = field.bytes().await.map_err(too_large)?;
                file = Some((name, media_type, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let Some(artifact) = artifact.filter(|a| !a.trim().is_empty()) else {
        return Err(Problem::invalid(say(lang, "Pilih dokumennya (`artifact`).", "Choose the document (`artifact`).")));
    };
    let Some((name, media_type, bytes)) = file.filter(|f| !f.2.is_empty()) else {
        return Err(Problem::invalid(say(lang, "Lampirkan berkasnya (`file`).", "Attach the file (`file`).")));
    };
    Ok(Upload { artifact: artifact.trim().to_string(), task, name, media_type, bytes })
}
