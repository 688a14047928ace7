//! The `hyojun` command line. Everything it prints for people goes through [`say!`] or
//! [`say_err!`], which escape control characters (values from files, keys and API writes must
//! not drive the terminal).

/// `println!` for text a terminal shows: control characters escaped
/// ([`crate::excerpt::terminal_safe`]).
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", $crate::excerpt::terminal_safe(&format!($($arg)*)))
    };
}

/// `eprintln!` for text a terminal shows, as [`say!`].
macro_rules! say_err {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::excerpt::terminal_safe(&format!($($arg)*)))
    };
}

mod fhir;
mod keys;
mod mapping;
mod output;
mod progress;

pub use keys::KeysCommand;
pub use mapping::MappingCommand;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use thiserror::Error;

use crate::api::dto;
use crate::masters::{self, Problems};
use crate::store::{DatabaseUrl, Store, StoreError};
use crate::systems::Master;

/// hyojun (標準): standard-code registry for Japanese healthcare masters.
#[derive(Debug, Parser)]
#[command(name = "hyojun", version, about)]
pub struct Cli {
    /// Database: postgres://… or a SQLite file path (sqlite://path also works).
    /// Default: data/hyojun.sqlite3, created on first use.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations.
    Migrate,
    /// Import one release of a master from its files, folder or distribution zip.
    Import {
        /// hot, byomei, jlac or nursing.
        master: Master,
        /// The release's files (loose, a folder, or the distribution zip).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Release label; by default taken from the file names (HOT: yyyymmdd).
        #[arg(long = "version", value_name = "LABEL")]
        label: Option<String>,
        /// Make the imported release the one the master serves.
        #[arg(long)]
        activate: bool,
        /// The files are knowingly only part of the release (HOT: the standard or the HOT9
        /// file alone; JLAC: the まとめ表 or the 共有項目 CSV alone): only the codes of the
        /// files given are compared, every other row carries over unchanged.
        #[arg(long)]
        partial: bool,
        /// Who imports (recorded with the release). Default: cli:$USER.
        #[arg(long)]
        by: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List releases with label, date, files and sha256, counts, import time and state.
    Releases {
        master: Option<Master>,
        #[arg(long)]
        json: bool,
    },
    /// Show what changed between two releases (LABEL or LABEL@REVISION).
    Diff {
        master: Master,
        from: String,
        to: String,
        #[arg(long)]
        json: bool,
        /// In text output, list at most this many codes per system and kind (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Make a release the one its master serves.
    Activate {
        master: Master,
        /// LABEL or LABEL@REVISION.
        release: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Start the HTTP server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "HYOJUN_BIND")]
        bind: SocketAddr,
        /// Let requests without an API key read (lookups, validation). Off by default.
        #[arg(long, env = "HYOJUN_ANONYMOUS_READ")]
        anonymous_read: bool,
        /// Where uploaded release files wait for their import job.
        #[arg(long, default_value = "data/uploads", env = "HYOJUN_UPLOAD_DIR")]
        upload_dir: PathBuf,
        /// Largest upload in bytes (all files of one request); overrides
        /// HYOJUN_MAX_UPLOAD_BYTES (default 1 GiB).
        #[arg(long)]
        max_upload_bytes: Option<u64>,
        /// Do not load the validation statuses of the current releases into memory in the
        /// background (saves memory; validation then reads the database for codes it has not
        /// seen yet).
        #[arg(long, env = "HYOJUN_NO_WARM_UP")]
        no_warm_up: bool,
        /// Run no background jobs on this node (imports of uploads, candidates, mapping
        /// re-checks): it queues them, and nodes without this flag sharing its database (and,
        /// for uploads, its upload folder) run them.
        #[arg(long, env = "HYOJUN_NO_JOBS")]
        no_jobs: bool,
        #[command(flatten)]
        index: IndexDir,
    },
    /// Search every master's names, readings, synonyms and codes.
    Search {
        /// Part of a name, reading, synonym or code.
        query: String,
        /// Only these code systems (keys, canonical URLs or urn:oid: aliases; comma-separated).
        #[arg(long)]
        system: Option<String>,
        /// Only these masters (comma-separated).
        #[arg(long)]
        master: Option<String>,
        /// Search this release (LABEL or LABEL@REVISION) of the one master given.
        #[arg(long)]
        release: Option<String>,
        /// Search each master's release in force on this date (YYYY-MM-DD).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// active, retired or all.
        #[arg(long, default_value = "all")]
        status: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        index: IndexDir,
    },
    /// Check every coding of a FHIR resource or Bundle (JSON) against the masters, as
    /// `POST /fhir/Bundle/$check-codes` does; exit 1 when any coding has an error.
    CheckCodes {
        /// The resource or Bundle (JSON).
        file: PathBuf,
        /// Print the OperationOutcome instead of one line per issue.
        #[arg(long)]
        json: bool,
        /// Messages in Japanese.
        #[arg(long)]
        ja: bool,
    },
    /// Write a FHIR package (package.json, one CodeSystem per canonical URL with `content:
    /// not-present`, the JP Core value sets) that makes the HL7 validator ask hyojun (`-tx`).
    FhirPackage {
        /// The folder to write `package/` into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild the search index from the database.
    Reindex {
        #[command(flatten)]
        index: IndexDir,
    },
    /// Mapping projects: upload local codes, export, translate.
    Mapping {
        #[command(subcommand)]
        command: MappingCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// Where the search index lives.
#[derive(Debug, clap::Args)]
pub struct IndexDir {
    /// Search index directory. Default: beside a SQLite database (`<file>.search`), else
    /// data/search-index.
    #[arg(long = "index-dir", env = "HYOJUN_INDEX_DIR")]
    pub dir: Option<PathBuf>,
}

impl IndexDir {
    /// The directory given, or the default for `url`.
    pub fn location(&self, url: &DatabaseUrl) -> crate::search::Location {
        let dir = self.dir.clone().unwrap_or_else(|| match url.backend {
            crate::store::Backend::Sqlite => PathBuf::from(format!("{}.search", url.target)),
            crate::store::Backend::Postgres => PathBuf::from("data/search-index"),
        });
        crate::search::Location::Dir(dir)
    }
}

/// Why a command failed; each variant has its own exit code.
#[derive(Debug, Error)]
pub enum CliError {
    /// The input files have problems: nothing was imported.
    #[error("{} problem(s) found; nothing was imported:\n{problems}", problems.total())]
    Input { problems: Problems },
    /// A `HYOJUN_MAX_…` variable holds no usable limit.
    #[error(transparent)]
    Limit(#[from] crate::limits::BadLimit),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    /// The document given to `check-codes` cannot be read: nothing was checked.
    #[error("the document cannot be checked:\n{problems}")]
    Document { problems: Problems },
    /// `check-codes` found codings with errors (each printed).
    #[error("{errors} coding error(s) found")]
    Checked { errors: usize },
}

impl CliError {
    /// Process exit code: 1 bad input, 3 conflict with the stored history, 4 not found,
    /// 5 database unavailable, 6 other failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input { .. }
            | CliError::Document { .. }
            | CliError::Limit(_)
            | CliError::Checked { .. } => 1,
            CliError::Store(StoreError::Conflict(_)) => 3,
            CliError::Store(StoreError::NotFound(..)) => 4,
            CliError::Store(StoreError::Connect(_) | StoreError::Config(_)) => 5,
            CliError::Search(
                crate::search::SearchError::BadQuery(_)
                | crate::search::SearchError::UnknownSystem(_),
            ) => 1,
            CliError::Search(crate::search::SearchError::Store(StoreError::NotFound(..))) => 4,
            _ => 6,
        }
    }
}

fn who(by: Option<String>) -> String {
    by.unwrap_or_else(|| {
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
        format!("cli:{}", user.unwrap_or_else(|_| "unknown".into()))
    })
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let url = match &cli.database_url {
        Some(url) => DatabaseUrl::parse(url)?,
        None => DatabaseUrl::default_sqlite(),
    };
    match cli.command {
        Command::Migrate => {
            let store = Store::connect(&url, 1)?;
            let applied = store.migrate()?;
            if applied.is_empty() {
                say!("database is up to date ({})", url.redacted());
            } else {
                for m in applied {
                    say!("applied {m}");
                }
            }
            Ok(())
        }
        Command::Import {
            master,
            paths,
            label,
            activate,
            partial,
            by,
            json,
        } => {
            // Parse and validate everything before touching the database.
            let progress = progress::TerminalProgress::new(std::io::stderr().is_terminal());
            let started = std::time::Instant::now();
            let options = masters::ParseOptions {
                label,
                partial,
                limits: crate::limits::Limits::from_env()?,
            };
            let parsed = masters::parse_release(master, &paths, &options, &progress)
                .map_err(|problems| CliError::Input { problems })?;
            tracing::debug!(elapsed = ?started.elapsed(), records = parsed.records.len(), "parsed");
            let store = Store::open(&url, 2)?;
            let actor = who(by);
            let report = crate::app::releases::import(&store, &actor, &parsed, activate, None)?;
            tracing::debug!(elapsed = ?started.elapsed(), "imported");
            if json {
                output::print_json(&serde_json::json!({
                    "report": report,
                    "files": parsed.files,
                    "ignored": parsed.ignored,
                    "notices": parsed.notices,
                }));
            } else {
                output::print_import(&parsed, &report);
            }
            if report.activated {
                if json {
                    store.recheck_if_current_changed()?;
                } else {
                    print_rechecks(&store)?;
                }
            }
            Ok(())
        }
        Command::Releases { master, json } => {
            let store = Store::open(&url, 1)?;
            let releases = store.releases(master)?;
            if json {
                let views: Vec<dto::releases::ReleaseInfo> = dto::all(releases);
                output::print_json(&views);
            } else {
                output::print_releases(&releases);
            }
            Ok(())
        }
        Command::Diff {
            master,
            from,
            to,
            json,
            limit,
        } => {
            let store = Store::open(&url, 1)?;
            let (from, to, diff) = store.diff(master, &from, &to)?;
            if json {
                output::print_json(&diff.document(master, &from, &to));
            } else {
                output::print_diff(master, &from, &to, &diff, limit);
            }
            Ok(())
        }
        Command::Activate {
            master,
            release,
            by,
        } => {
            let store = Store::open(&url, 1)?;
            let actor = who(by);
            let r = crate::app::releases::activate_label(&store, &actor, master, &release)?;
            say!(
                "{master} now serves release {} (revision {})",
                r.label,
                r.revision
            );
            print_rechecks(&store)?;
            Ok(())
        }
        Command::Serve {
            bind,
            anonymous_read,
            upload_dir,
            max_upload_bytes,
            no_warm_up,
            no_jobs,
            index,
        } => {
            let store = Store::open(&url, 8)?;
            let mut limits = crate::limits::Limits::from_env()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            if let Some(bytes) = max_upload_bytes {
                limits.upload_bytes = bytes;
            }
            let config = crate::api::ApiConfig {
                anonymous_read,
                upload_dir,
                limits,
                warm_up: !no_warm_up,
                run_jobs: !no_jobs,
                search_index: index.location(&url),
                ..crate::api::ApiConfig::default()
            };
            actix_web::rt::System::new().block_on(crate::api::serve(store, config, bind))?;
            Ok(())
        }
        Command::Search {
            query,
            system,
            master,
            release,
            date,
            status,
            limit,
            offset,
            json,
            index,
        } => {
            let store = Store::open(&url, 2)?;
            let search = crate::search::SearchIndex::open(index.location(&url))?;
            let request = search_request(
                &store, query, system, master, release, date, &status, limit, offset,
            )?;
            let results = search.search(&store, &request)?;
            if json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&dto::search::SearchResults::from(results))
                        .map_err(std::io::Error::other)?
                );
            } else {
                output::print_search(&results);
            }
            Ok(())
        }
        Command::CheckCodes { file, json, ja } => {
            fhir::check_codes(Store::open(&url, 2)?, &file, json, ja)
        }
        Command::FhirPackage { out } => fhir::package(Store::open(&url, 2)?, &out),
        Command::Reindex { index } => {
            let store = Store::open(&url, 2)?;
            let location = index.location(&url);
            let search = crate::search::SearchIndex::open(location.clone())?;
            let report = search.rebuild(&store)?;
            let snapshot = search.snapshot();
            say!(
                "search index rebuilt in {:.2} s: {} concept versions of {} releases ({:?})",
                report.seconds,
                snapshot.documents(),
                report.releases_added,
                location
            );
            Ok(())
        }
        Command::Mapping { command } => {
            let store = Store::open(&url, 2)?;
            mapping::run(&store, command)
        }
        Command::Keys { command } => keys::run(&Store::open(&url, 1)?, command),
    }
}

/// A search request from command-line options (the same rules as `GET /v1/search`).
#[allow(clippy::too_many_arguments)]
fn search_request(
    store: &Store,
    query: String,
    system: Option<String>,
    master: Option<String>,
    release: Option<String>,
    date: Option<chrono::NaiveDate>,
    status: &str,
    limit: usize,
    offset: usize,
) -> Result<crate::search::SearchRequest, CliError> {
    let scope = crate::search::scope::Scope::parse(
        system.as_deref(),
        master.as_deref(),
        Some(status),
        &[],
    )?;
    let releases =
        crate::search::releases_to_search(store, &scope.masters, release.as_deref(), date)?;
    Ok(scope.request(
        &query,
        releases
            .iter()
            .filter_map(|r| r.master.parse::<Master>().ok().map(|m| (m, r.id))),
        limit.clamp(1, crate::search::query::MAX_LIMIT),
        offset,
    ))
}

/// Re-checks mapping targets after a release became current, and says what was flagged.
fn print_rechecks(store: &Store) -> Result<(), CliError> {
    for (master, report) in store.recheck_if_current_changed()? {
        if report.needs_review.is_empty() && report.cosmetic.is_empty() {
            continue;
        }
        say!(
            "mappings re-checked against {master}: {} approved, {} flagged for review, {} with a changed display",
            report.checked,
            report.needs_review.len(),
            report.cosmetic.len()
        );
        for item in &report.needs_review {
            say!(
                "  project {} {} → {} {} ({})",
                item.project_id,
                item.local_code,
                item.target_system,
                item.target_code,
                item.kind
            );
        }
    }
    Ok(())
}
