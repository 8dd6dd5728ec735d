//! Cases: start, list, read, withdraw, cancel, and their documents.

use axum::extract::{Multipart, Path};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::super::app::commands::{self, StartRequest};
use super::super::app::parse_case;
use super::super::app::policy::visible_case;
use super::super::app::queries::{cases_for, CaseFilter};
use super::super::app::read::{case_out, CaseOut, CaseRow};
use super::super::auth::Auth;
use super::super::extract::read_upload;
use super::super::problem::{say, Problem};
use super::super::State;
use super::{audited, ctx, ApiJson, ApiPath, ApiQuery};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    pub id: String,
}

#[utoipa::path(post, path = "/api/cases", tag = "api", request_body = StartRequest,
    responses((status = 201, body = Started), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn start_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<StartRequest>,
) -> Response {
    let target = request.sop.clone();
    let result = commands::start(&ctx(&state, &auth), request)
        .await
        .map(|id| (StatusCode::CREATED, Json(Started { id: id.to_string() })));
    audited(&state, &auth, "start", &target, result)
}

#[utoipa::path(get, path = "/api/cases", tag = "api", params(CaseFilter),
    responses((status = 200, body = Vec<CaseRow>), (status = 401, body = Problem)))]
pub async fn list_cases(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<Vec<CaseRow>>, Problem> {
    cases_for(&ctx(&state, &auth), &filter).await.map(Json)
}

#[utoipa::path(get, path = "/api/cases/{case}", tag = "api", params(("case" = String, Path)),
    responses((status = 200, body = CaseOut), (status = 404, body = Problem)))]
pub async fn get_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
) -> Result<Json<CaseOut>, Problem> {
    let ctx = ctx(&state, &auth);
    let (loaded, d) = visible_case(&ctx, parse_case(&case, auth.lang)?).await?;
    case_out(&ctx, &loaded, &d).await.map(Json)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

/// An optional JSON body `{"reason": "..."}`.
fn reason_of(body: &[u8]) -> Result<Option<String>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<ReasonRequest>(body)
        .map(|r| r.reason.filter(|r| !r.trim().is_empty()))
        .map_err(|e| Problem::bad_request(e.to_string()))
}

#[utoipa::path(post, path = "/api/cases/{case}/withdraw", tag = "api", params(("case" = String, Path)), request_body = ReasonRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn withdraw_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = case.clone();
    let result = async {
        let case = parse_case(&case, auth.lang)?;
        let reason = reason_of(&body)?;
        commands::withdraw(&ctx(&state, &auth), case, reason).await?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&state, &auth, "withdraw", &target, result)
}

#[utoipa::path(post, path = "/api/cases/{case}/cancel", tag = "api", params(("case" = String, Path)), request_body = ReasonRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = case.clone();
    let result = async {
        let case = parse_case(&case, auth.lang)?;
        let reason = reason_of(&body)?;
        commands::cancel(&ctx(&state, &auth), case, reason).await?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&state, &auth, "cancel", &target, result)
}

#[utoipa::path(post, path = "/api/cases/{case}/artifacts", tag = "api", params(("case" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`artifact` (the document id), optional `task`, and `file`: a PDF, PNG, JPEG, docx, xlsx or plain text file whose content matches its declared type (else 422, with `allowed_types`)"),
    responses((status = 201), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_artifact(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let target = case.clone();
    let result = async {
        let case = parse_case(&case, auth.lang)?;
        let multipart = multipart.map_err(|e| Problem::bad_request(e.body_text()))?;
        let upload = read_upload(multipart, auth.lang).await?;
        commands::attach(&ctx(&state, &auth), case, upload).await?;
        Ok(StatusCode::CREATED)
    }
    .await;
    audited(&state, &auth, "attach", &target, result)
}

#[utoipa::path(get, path = "/api/cases/{case}/artifacts/{index}", tag = "api", params(("case" = String, Path), ("index" = usize, Path)),
    responses((status = 200, description = "The document's bytes, checked against their hash, as an attachment: with the stored type when it is allowed and the bytes match it, else `application/octet-stream`"), (status = 404, body = Problem)))]
pub async fn download_artifact(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, index)): ApiPath<(String, usize)>,
) -> Result<Response, Problem> {
    let (loaded, _) = visible_case(&ctx(&state, &auth), parse_case(&case, auth.lang)?).await?;
    let Some(a) = loaded.attachments.get(index) else {
        return Err(Problem::not_found(auth.lang, &say(auth.lang, "Dokumen", "The document")));
    };
    if let crate::runtime::event::Storage::Reference { uri } = &a.file.storage {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, uri.clone())]).into_response());
    }
    let bytes = state.engine.document(&a.file).await.map_err(|e| Problem::runtime(&e, auth.lang))?;
    // Its stored type only when allowed and its bytes match it; always as a download.
    let served = crate::runtime::media::served_type(&a.file.media_type, &bytes);
    let disposition = format!("attachment; filename=\"{}\"", a.file.name.replace(['"', '\\', '\r', '\n'], "_"));
    Ok(([(header::CONTENT_TYPE, served.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}
