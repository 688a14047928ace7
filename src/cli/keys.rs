//! `hyojun keys`: create, list and revoke API keys.

use clap::Subcommand;

use super::{output, who, CliError};
use crate::api::dto;
use crate::ids::ApiKeyId;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; it is printed once, alone on the last line of the output.
    Create {
        #[arg(long)]
        role: crate::access::Role,
        #[arg(long)]
        name: String,
    },
    /// List keys (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id.
    Revoke { id: ApiKeyId },
}

/// Runs one `keys` subcommand.
pub fn run(store: &Store, command: KeysCommand) -> Result<(), CliError> {
    let actor = who(None);
    match command {
        KeysCommand::Create { role, name } => {
            let created = crate::app::keys::create(store, &actor, &name, role)?;
            say!(
                "created key {} \"{}\" with role {}; it is shown only now:",
                created.row.id,
                created.row.name,
                created.row.role
            );
            say!("{}", created.key);
        }
        KeysCommand::List { json } => {
            let keys = store.keys()?;
            if json {
                let views: Vec<dto::keys::ApiKeyRow> = dto::all(keys);
                output::print_json(&views);
            } else {
                for k in keys {
                    let state = match k.revoked_at {
                        Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                        None => "active".into(),
                    };
                    say!(
                        "{:>4}  {:<24} {:<7} {}…  created {} by {}  {state}",
                        k.id,
                        k.name,
                        k.role,
                        k.key_prefix,
                        k.created_at.format("%Y-%m-%d %H:%M"),
                        k.created_by
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            let k = crate::app::keys::revoke(store, &actor, id)?;
            say!("key {} \"{}\" is revoked", k.id, k.name);
        }
    }
    Ok(())
}
