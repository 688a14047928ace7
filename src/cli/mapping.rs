//! `hyojun mapping`: projects, local-code uploads, export, translation.

use std::path::PathBuf;

use clap::Subcommand;

use super::{output, who, CliError};
use crate::api::dto;
use crate::ids::ProjectId;
use crate::masters;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// List the mapping projects.
    Projects,
    /// Upload a project's local code list (CSV, UTF-8 or CP932); a re-upload merges.
    Upload {
        project: ProjectId,
        file: PathBuf,
        #[arg(long)]
        by: Option<String>,
    },
    /// Export a project's mappings (to stdout unless --output is given).
    Export {
        project: ProjectId,
        /// csv or conceptmap (FHIR R4 ConceptMap JSON).
        #[arg(long, default_value = "csv")]
        format: String,
        /// ConceptMap: every mapping in every state, not only the settled ones.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Translate local codes through the project's mappings.
    Translate {
        project: ProjectId,
        #[arg(required = true)]
        codes: Vec<String>,
        #[arg(long, value_enum, default_value = "approved")]
        include: crate::app::translate::Include,
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `hyojun mapping` command.
/// Runs one `mapping` subcommand.
pub fn run(store: &Store, command: MappingCommand) -> Result<(), CliError> {
    use crate::mapping::{exchange, local_codes};
    match command {
        MappingCommand::Projects => {
            let projects: Vec<dto::mapping::Project> = dto::all(store.projects()?);
            output::print_json(&projects);
            Ok(())
        }
        MappingCommand::Upload { project, file, by } => {
            let bytes = std::fs::read(&file)?;
            let source = masters::SourceFile::new(file.display().to_string(), bytes);
            let codes = local_codes::parse(&source, &crate::limits::Limits::from_env()?)
                .map_err(|problems| CliError::Input { problems })?;
            let actor = who(by);
            let plan = crate::app::mapping::merge_local_codes(store, &actor, project, &codes)?;
            output::print_json(&dto::mapping::MergePlan::from(plan));
            Ok(())
        }
        MappingCommand::Export {
            project,
            format,
            all,
            output: path,
        } => {
            let out: Box<dyn std::io::Write> = match &path {
                Some(p) => Box::new(std::fs::File::create(p)?),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut out = std::io::BufWriter::new(out);
            let info = store.project(project)?;
            const PAGE: i64 = 1000;
            let by_target =
                exchange::is_concept_map(Some(&format)).map_err(std::io::Error::other)?;
            // Pages of rows in export order, so memory stays constant.
            let each_row = |f: &mut dyn FnMut(
                &crate::store::mapping::MappingView,
            ) -> std::io::Result<()>|
             -> Result<(), CliError> {
                let mut cursor = crate::store::mapping::ExportCursor::default();
                loop {
                    let page = store.export_page(project, by_target, PAGE, &mut cursor)?;
                    for m in &page {
                        f(m)?;
                    }
                    if (page.len() as i64) < PAGE {
                        return Ok(());
                    }
                }
            };
            if by_target {
                let options = exchange::ConceptMapOptions::export_now(all);
                let mut writer = exchange::ConceptMapWriter::new(&mut out, &info, &options)?;
                each_row(&mut |m| writer.write(m).map(|_| ()))?;
                writer.finish()?;
            } else {
                let headers = store.extra_headers(project)?;
                exchange::write_csv_header(&mut out, &headers, true)?;
                each_row(&mut |m| exchange::write_csv_row(&mut out, m, &headers))?;
            }
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        MappingCommand::Translate {
            project,
            codes,
            include,
            json,
        } => {
            let items =
                crate::app::translate::translate_from_store(store, project, &codes, include)?.items;
            if json {
                let views: Vec<dto::translate::Translation> = dto::all(items);
                output::print_json(&views);
            } else {
                for t in &items {
                    let target = t
                        .targets
                        .first()
                        .map(|x| {
                            format!(
                                "{} {} {} ({})",
                                x.system,
                                x.code,
                                x.display.as_deref().unwrap_or(""),
                                x.status
                            )
                        })
                        .unwrap_or_default();
                    say!("{}\t{}\t{target}", t.code, t.result);
                }
            }
            Ok(())
        }
    }
}
