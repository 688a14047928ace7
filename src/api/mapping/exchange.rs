//! Mappings in and out: the export (CSV or FHIR ConceptMap, streamed page by page) and the
//! import of reviewed decisions.

use super::*;

/// Export format and scope.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `csv` (default; UTF-8 with BOM, every column including extra source columns) or
    /// `conceptmap` (FHIR R4 ConceptMap JSON).
    pub format: Option<String>,
    /// ConceptMap only: every mapping in every state (status draft) instead of the settled
    /// ones.
    #[serde(default)]
    pub all: bool,
}

/// Rows read per page while streaming an export.
const EXPORT_PAGE: i64 = 1000;

/// Streams a project's mappings as CSV or as a FHIR R4 ConceptMap, page by page (memory stays
/// constant whatever the project's size).
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ExportQuery),
    responses(
        (status = 200, description = "The export", content_type = "text/csv"),
        (status = 400, description = "Unknown format", body = crate::api::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = crate::api::ErrorEnvelope),
        (status = 404, description = "No such project", body = crate::api::ErrorEnvelope)
    )
)]
#[get("/v1/mapping/projects/{id}/export")]
pub async fn export(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::mapping::exchange;
    let id = path.into_inner();
    let concept_map =
        exchange::is_concept_map(query.format.as_deref()).map_err(ApiError::BadRequest)?;
    let all = query.all;
    let store = state.store.clone();
    // The first chunk (header, or the resource's opening) is made before answering, so an
    // unknown project is a 404, not a broken stream.
    let (project, headers) = {
        let store = store.clone();
        blocking(move || Ok((store.project(id)?, store.extra_headers(id)?))).await?
    };
    let (content_type, extension) = if concept_map {
        ("application/fhir+json", "json")
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    let mut response = HttpResponse::Ok();
    response.content_type(content_type).insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"mapping-{id}.{extension}\""),
    ));
    if concept_map {
        let options = exchange::ConceptMapOptions::export_now(all);
        Ok(response.streaming(concept_map_stream(store, &project, &options)?))
    } else {
        let shared = SharedBuffer::default();
        exchange::write_csv_header(&mut shared.clone(), &headers, true)
            .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
        Ok(response.streaming(export_stream(store, id, RowWriter::Csv(headers), shared)))
    }
}

/// A chunk of a streamed export.
pub type ExportChunk = Result<Bytes, actix_web::Error>;

/// A project's mappings as one FHIR R4 ConceptMap ([`crate::mapping::exchange::ConceptMapWriter`]),
/// streamed page by page in constant memory: the export's `format=conceptmap` and the FHIR
/// endpoint's ConceptMap read and search. The resource's opening is written before this
/// returns; a database failure later ends the stream early (logged), as a response already
/// under way cannot turn into an error.
pub fn concept_map_stream(
    store: crate::store::Store,
    project: &crate::mapping::project::Project,
    options: &crate::mapping::exchange::ConceptMapOptions,
) -> Result<impl futures_util::Stream<Item = ExportChunk> + 'static, ApiError> {
    let shared = SharedBuffer::default();
    let writer = crate::mapping::exchange::ConceptMapWriter::new(shared.clone(), project, options)
        .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
    Ok(export_stream(
        store,
        project.id,
        RowWriter::ConceptMap(writer),
        shared,
    ))
}

/// What an export writes each mapping with.
enum RowWriter {
    /// CSV rows, with the extra columns of these headers.
    Csv(Vec<String>),
    /// ConceptMap elements (closed with the last page).
    ConceptMap(crate::mapping::exchange::ConceptMapWriter<SharedBuffer>),
}

/// Streams project `id`'s mappings page by page through `writer`; each chunk is what `shared`
/// holds after a page (whatever it held before the first page comes first).
fn export_stream(
    store: crate::store::Store,
    id: ProjectId,
    writer: RowWriter,
    shared: SharedBuffer,
) -> impl futures_util::Stream<Item = ExportChunk> + 'static {
    use crate::mapping::exchange;
    struct Export {
        cursor: ExportCursor,
        done: bool,
        writer: Option<RowWriter>,
    }
    let start = Export {
        cursor: ExportCursor::default(),
        done: false,
        writer: Some(writer),
    };
    futures_util::stream::unfold(start, move |mut job| {
        let store = store.clone();
        let shared = shared.clone();
        async move {
            if job.done {
                return None;
            }
            let sink = shared.clone();
            let step = web::block(move || -> Result<Export, String> {
                let by_target = matches!(job.writer, Some(RowWriter::ConceptMap(_)));
                let page = store
                    .export_page(id, by_target, EXPORT_PAGE, &mut job.cursor)
                    .map_err(|e| e.to_string())?;
                for m in &page {
                    match job.writer.as_mut() {
                        Some(RowWriter::ConceptMap(w)) => {
                            w.write(m).map_err(|e| e.to_string())?;
                        }
                        Some(RowWriter::Csv(headers)) => {
                            exchange::write_csv_row(&mut sink.clone(), m, headers)
                                .map_err(|e| e.to_string())?
                        }
                        None => {}
                    }
                }
                if (page.len() as i64) < EXPORT_PAGE {
                    job.done = true;
                    if let Some(RowWriter::ConceptMap(w)) = job.writer.take() {
                        w.finish().map_err(|e| e.to_string())?;
                    }
                }
                Ok(job)
            })
            .await;
            match step {
                Ok(Ok(next)) => Some((Ok::<_, actix_web::Error>(shared.take()), next)),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, project = id.get(), "export failed midway");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, project = id.get(), "export task failed");
                    None
                }
            }
        }
    })
}

/// A byte buffer several writers share, drained chunk by chunk into the response.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Bytes {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Bytes::from(std::mem::take(&mut *buf))
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Import format.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// `csv` (an export of hyojun; UTF-8 or CP932) or `conceptmap` (FHIR R4 ConceptMap JSON).
    pub format: Option<String>,
}

/// Re-applies earlier decisions ("apply previous mapping") from a CSV export or a FHIR
/// ConceptMap: each listed local code gets the file's state, target, equivalence and comment,
/// recorded in its history as an import. Admins only, since it sets review states directly.
#[utoipa::path(
    tag = "mapping",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ImportQuery),
    request_body(content = String, description = "The CSV or ConceptMap"),
    responses(
        (status = 200, description = "What was applied", body = crate::api::dto::mapping::ImportReport),
        (status = 400, description = "Problems in the file (nothing applied)", body = crate::api::ErrorEnvelope),
        (status = 401, description = "No or bad API key", body = crate::api::ErrorEnvelope),
        (status = 403, description = "Not an admin", body = crate::api::ErrorEnvelope),
        (status = 404, description = "No such project", body = crate::api::ErrorEnvelope)
    )
)]
#[post("/v1/mapping/projects/{id}/import")]
pub async fn import(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<ProjectId>,
    query: web::Query<ImportQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    use crate::mapping::exchange;
    check_list_size(&body, &state.config.limits)?;
    let id = path.into_inner();
    let concept_map =
        exchange::is_concept_map(query.format.as_deref()).map_err(ApiError::BadRequest)?;
    // The ConceptMap reader checks its size and nesting depth itself, before parsing, and
    // reports them as problems of the file.
    let limits = state.config.limits.clone();
    let store = state.store.clone();
    let actor = admin.0.actor();
    let report = blocking(move || {
        let decisions = if concept_map {
            exchange::read_concept_map(&body, "conceptmap.json", &limits)
        } else {
            exchange::read_csv(
                &SourceFile::new("mappings.csv".to_owned(), body.to_vec()),
                &limits,
            )
        }
        .map_err(|problems| ApiError::Invalid {
            message: format!(
                "{} problem(s) in the file; nothing was applied",
                problems.total()
            ),
            details: serde_json::to_value(&problems).unwrap_or_default(),
        })?;
        Ok(app::mapping::import_decisions(
            &store, &actor, id, &decisions,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(crate::api::dto::mapping::ImportReport::from(report)))
}
