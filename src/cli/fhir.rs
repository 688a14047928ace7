//! The FHIR commands: `hyojun check-codes FILE.json` (every coding of a resource or Bundle
//! checked offline, as `POST /fhir/Bundle/$check-codes` checks them) and `hyojun
//! fhir-package --out DIR` (an npm-style FHIR package that makes the HL7 validator ask hyojun
//! about the masters instead of checking them against the fragments JP Core ships).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use super::CliError;
use crate::api::{ApiConfig, AppState};
use crate::fhir::messages::Lang;
use crate::fhir::outcome::Severity;
use crate::fhir::Context;
use crate::store::Store;

/// The name of the package `fhir-package` writes.
pub const PACKAGE_NAME: &str = "hyojun.terminology.r4";

fn context(store: Store, limits: crate::limits::Limits, lang: Lang) -> Context {
    let config = ApiConfig {
        warm_up: false,
        limits,
        ..ApiConfig::default()
    };
    Context::new(
        Arc::new(AppState::for_command(store, config)),
        lang,
        "urn:hyojun:cli".to_owned(),
    )
}

/// Reads a JSON document of at most `json_bytes` from a regular file.
fn read_document(path: &Path, limits: &crate::limits::Limits) -> Result<Value, CliError> {
    use crate::limits::Limit;
    use crate::masters::problem::{Problem, Problems};
    let shown = crate::masters::input::shown_name(&path.display().to_string());
    let refuse = |problem: Problem| {
        let mut problems = Problems::default();
        problems.push(problem);
        CliError::Document { problems }
    };
    let unreadable = |e: std::io::Error| {
        refuse(Problem::file(
            &shown,
            "unreadable",
            format!("cannot read the file: {e}"),
            "give the path of a readable JSON file",
        ))
    };
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(refuse(Problem::file(
            &shown,
            "not_a_file",
            "not a regular file".into(),
            "give the path of a JSON file (a FHIR resource or Bundle)",
        )));
    }
    let max = limits.json_bytes;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > max {
        return Err(refuse(Problem::over_limit(
            &shown,
            "file_too_large",
            format!(
                "the file is larger than {} bytes",
                crate::limits::group_digits(max)
            ),
            limits,
            Limit::JsonBytes,
        )));
    }
    if let Some(line) = crate::json_depth::too_deep(&bytes, limits.json_depth) {
        return Err(refuse(
            Problem::over_limit(
                &shown,
                "too_deep",
                "arrays and objects are nested too deep".into(),
                limits,
                Limit::JsonDepth,
            )
            .on_line(line),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        refuse(Problem::line(
            &shown,
            e.line() as u64,
            "not_json",
            format!("not JSON: {e}"),
            "give a FHIR resource or Bundle as JSON (UTF-8)",
        ))
    })
}

/// `hyojun check-codes FILE.json [--json] [--ja]`: prints one line per issue (or the
/// OperationOutcome); fails (exit 1) when any coding has an error.
pub fn check_codes(
    store: Store,
    file: &Path,
    json_out: bool,
    japanese: bool,
) -> Result<(), CliError> {
    let limits = crate::limits::Limits::from_env()?;
    let document = read_document(file, &limits)?;
    let lang = if japanese { Lang::Ja } else { Lang::En };
    let ctx = context(store, limits, lang);
    let outcome = crate::fhir::check_codes::run(&ctx, &document).map_err(fhir_error)?;
    let errors = outcome.issue.iter().filter(|i| i.is_error()).count();
    if json_out {
        say!(
            "{}",
            serde_json::to_string_pretty(&outcome).map_err(std::io::Error::other)?
        );
    } else {
        for issue in &outcome.issue {
            let severity = match issue.severity {
                Severity::Fatal | Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Information => "info",
            };
            say!(
                "{severity:7} {} {}",
                issue.expression.first().map_or("", String::as_str),
                issue.text()
            );
        }
        say!("{} issue(s), {errors} error(s)", outcome.issue.len());
    }
    if errors > 0 {
        return Err(CliError::Checked { errors });
    }
    Ok(())
}

fn fhir_error(e: crate::fhir::error::FhirError) -> CliError {
    std::io::Error::other(e.to_string()).into()
}

/// `hyojun fhir-package --out DIR`: `DIR/package/` with `package.json`, `.index.json`, one
/// CodeSystem (`content: not-present`, the activated release as version) per canonical URL
/// and the JP Core ValueSets.
pub fn package(store: Store, out: &Path) -> Result<(), CliError> {
    let limits = crate::limits::Limits::from_env()?;
    let generation = store.generation()?;
    let ctx = context(store, limits, Lang::En);
    let dir = out.join("package");
    std::fs::create_dir_all(&dir)?;
    let mut files: Vec<Value> = Vec::new();
    let mut write = |resource: &Value| -> Result<(), CliError> {
        let kind = resource["resourceType"].as_str().unwrap_or("Resource");
        let id = resource["id"].as_str().unwrap_or("unnamed");
        let filename = format!("{kind}-{id}.json");
        std::fs::write(
            dir.join(&filename),
            serde_json::to_vec_pretty(resource).map_err(std::io::Error::other)?,
        )?;
        files.push(json!({
            "filename": filename,
            "resourceType": kind,
            "id": id,
            "url": resource["url"],
            "version": resource["version"]
        }));
        Ok(())
    };
    let mut code_systems = 0;
    for system in crate::systems::CODE_SYSTEMS.iter() {
        let url = crate::fhir::canon::url(system);
        let current = crate::fhir::codes::release(&ctx, system, None, None).map_err(fhir_error)?;
        let Ok(release) = current else {
            continue;
        };
        let found = crate::fhir::resources::code_systems(&ctx, Some(url), Some(&release.label))
            .map_err(fhir_error)?;
        for cs in found {
            write(&cs)?;
            code_systems += 1;
        }
    }
    let value_sets = crate::fhir::resources::value_sets(None, None);
    for vs in &value_sets {
        write(vs)?;
    }
    let version = format!("{}-g{generation}", env!("CARGO_PKG_VERSION"));
    let package = json!({
        "name": PACKAGE_NAME,
        "version": version,
        "description": "hyojun's code systems (content not-present: ask the hyojun server with -tx) and the JP Core value sets over them",
        "fhirVersions": ["4.0.1"],
        "type": "fhir.ig",
        "author": "hyojun",
        "license": "CC0-1.0",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"}
    });
    std::fs::write(
        dir.join("package.json"),
        serde_json::to_vec_pretty(&package).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join(".index.json"),
        serde_json::to_vec_pretty(&json!({"index-version": 1, "files": files}))
            .map_err(std::io::Error::other)?,
    )?;
    say!(
        "wrote {PACKAGE_NAME}#{version} to {}: {code_systems} CodeSystems, {} ValueSets",
        dir.display(),
        value_sets.len()
    );
    Ok(())
}
