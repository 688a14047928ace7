//! `CodeSystem/$lookup` (`../shared/docs/fhir-terminology.md` §3.8, §4.3): a code of one of
//! hyojun's systems in one release — its display, its names as designations (readings, 索引
//! synonyms, short names …, `use` naming the kind), and as properties its status, `inactive`,
//! `replacedBy` (移行先), the codes it carries or is carried by, and every column the master
//! gives it (per-master attributes, under stable keys).

use serde_json::Value;

use super::canon;
use super::check::{Asked, At};
use super::codes;
use super::error::FhirError;
use super::messages;
use super::outcome::{Issue, OperationOutcome, Severity};
use super::params::{Coding, Out, OutParam, Parameters, Params};
use super::Context;
use actix_web::http::StatusCode;

/// The code system of designation uses: the kind of name in the master.
pub const DESIGNATION_USE: &str = "urn:hyojun:designation";

fn property(code: &str, value: Out) -> OutParam {
    OutParam::parts(
        "property",
        vec![
            OutParam::value("code", Out::Code(code.to_owned())),
            OutParam::value("value", value),
        ],
    )
}

fn not_found(status: StatusCode, issue: Issue) -> FhirError {
    FhirError::Outcome {
        status,
        outcome: OperationOutcome::one(issue),
    }
}

/// `$lookup`.
pub fn run(ctx: &Context, params: &Params) -> Result<Parameters, FhirError> {
    let lang = ctx.lang;
    let asked = match params.coding("coding")? {
        Some(Coding {
            system,
            version,
            code,
            ..
        }) => Asked {
            system,
            version,
            code,
            display: None,
        },
        None => Asked {
            system: params.text("system"),
            version: params.text("version"),
            code: params.text("code"),
            display: None,
        },
    };
    let (Some(system_uri), Some(code)) = (asked.system.as_deref(), asked.code.as_deref()) else {
        return Err(FhirError::Invalid(
            "give `code` and `system`, or a `coding`".into(),
        ));
    };
    let at = At::Params;
    let Some(resolved) = canon::resolve(system_uri) else {
        return Err(not_found(
            StatusCode::NOT_FOUND,
            Issue::new(
                Severity::Error,
                "not-found",
                messages::text(lang, "UNKNOWN_CODESYSTEM", &[&system_uri]),
            )
            .tx_type("not-found")
            .message_id("UNKNOWN_CODESYSTEM")
            .at(at.of("system")),
        ));
    };
    let url = resolved.url();
    let date = super::validate::options(params)?.date;
    let release = match codes::release(ctx, resolved.system, asked.version.as_deref(), date)? {
        Ok(r) => r,
        Err(codes::NoRelease::UnknownVersion { asked, valid }) => {
            return Err(not_found(
                StatusCode::NOT_FOUND,
                Issue::new(
                    Severity::Error,
                    "not-found",
                    messages::text(
                        lang,
                        "UNKNOWN_CODESYSTEM_VERSION",
                        &[&url, &asked, &codes::or_list(&valid)],
                    ),
                )
                .tx_type("not-found")
                .message_id("UNKNOWN_CODESYSTEM_VERSION")
                .at(at.of("version")),
            ))
        }
        Err(codes::NoRelease::None { .. }) => {
            return Err(not_found(
                StatusCode::NOT_FOUND,
                Issue::new(
                    Severity::Error,
                    "not-found",
                    messages::text(lang, "UNKNOWN_CODESYSTEM", &[&url]),
                )
                .tx_type("not-found")
                .message_id("UNKNOWN_CODESYSTEM")
                .at(at.of("system")),
            ))
        }
    };
    let view = ctx
        .state
        .store
        .code_view(&release, resolved.system.key, code)?
        .filter(|v| v.removed_in.is_none());
    let Some(view) = view else {
        return Err(not_found(
            StatusCode::NOT_FOUND,
            Issue::new(
                Severity::Error,
                "code-invalid",
                messages::text(
                    lang,
                    "Unknown_Code_in_Version",
                    &[&code, &url, &release.label],
                ),
            )
            .tx_type("invalid-code")
            .message_id("Unknown_Code_in_Version")
            .at(at.of("code")),
        ));
    };
    let wanted: Vec<String> = params.all("property").filter_map(|p| p.as_text()).collect();
    let want = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name || w == "*");
    let mut out = Parameters::default();
    out.push("name", Out::String(resolved.system.name.to_owned()))
        .push("version", Out::String(release.label.clone()))
        .push("display", Out::String(view.display.clone()))
        .push("abstract", Out::Boolean(false));
    if let Some(date) = release.effective_date.or(release.publication_date) {
        if want("effectiveDate") {
            out.push_param(property("effectiveDate", Out::DateTime(date.to_string())));
        }
    }
    // Designations: every name of the code's own rows, each once, with its kind.
    let mut seen: Vec<(String, String)> = Vec::new();
    for row in &view.rows {
        for d in row.designations.as_array().into_iter().flatten() {
            let (Some(kind), Some(value)) = (d["kind"].as_str(), d["value"].as_str()) else {
                continue;
            };
            if value.is_empty() || seen.iter().any(|(k, v)| k == kind && v == value) {
                continue;
            }
            seen.push((kind.to_owned(), value.to_owned()));
            out.push_param(OutParam::parts(
                "designation",
                vec![
                    OutParam::value("language", Out::Code("ja".into())),
                    OutParam::value(
                        "use",
                        Out::Coding(Coding {
                            system: Some(DESIGNATION_USE.into()),
                            code: Some(kind.to_owned()),
                            ..Coding::default()
                        }),
                    ),
                    OutParam::value("value", Out::String(value.to_owned())),
                ],
            ));
        }
    }
    let retired = view.status != "active";
    if want("status") {
        out.push_param(property("status", Out::Code(view.status.clone())));
    }
    if want("inactive") {
        out.push_param(property("inactive", Out::Boolean(retired)));
    }
    if want("replacedBy") {
        for s in &view.successors {
            if let Some(system) = crate::systems::by_key(&s.system) {
                out.push_param(property(
                    "replacedBy",
                    Out::Coding(Coding {
                        system: Some(canon::url(system).to_owned()),
                        code: Some(s.code.clone()),
                        ..Coding::default()
                    }),
                ));
            }
        }
    }
    for related in &view.related {
        if let Some(system) = crate::systems::by_key(&related.system) {
            if want(system.key) {
                out.push_param(property(
                    system.key,
                    Out::Coding(Coding {
                        system: Some(canon::url(system).to_owned()),
                        code: Some(related.code.clone()),
                        ..Coding::default()
                    }),
                ));
            }
        }
    }
    // The master's columns, from the row that speaks for the code (the first listed).
    if let Some(row) = view.rows.first().or(view.carried_by.first()) {
        if let Value::Object(attributes) = &row.attributes {
            for (key, value) in attributes {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                if !text.is_empty() && want(key) {
                    out.push_param(property(key, Out::String(text)));
                }
            }
        }
    }
    Ok(out)
}
