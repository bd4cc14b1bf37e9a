//! `corridor connectors …`: the operators' verbs on connector versions over
//! the admin API (install, list, activate or canary, roll back, migrate,
//! retire). Each prints a readable summary, or the API's JSON with `--json`.

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine as _;
use serde_json::Value;

use super::admin::{AdminArgs, Request};

/// `corridor connectors …`.
#[derive(Debug, clap::Subcommand)]
pub enum ConnectorsCommand {
    /// List connector versions and what each is to its connector (read token).
    List {
        /// Only this connector's.
        #[arg(long)]
        connector: Option<String>,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Install a component under a policy; it takes no work until activated
    /// (operate token).
    Install {
        /// The component (.wasm).
        component: PathBuf,
        /// Its policy file; secrets by `env` reference (read in the host's
        /// environment) or an absolute `file`.
        #[arg(long)]
        policy: PathBuf,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Make a version take its connector's new transfers, all of them or a
    /// canary's share (operate token).
    Activate {
        /// The version id.
        #[arg(value_name = "VERSION")]
        id: String,
        /// A canary: this percentage (1 to 99) of new transfers.
        #[arg(long)]
        canary: Option<u8>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// End a connector's canary, or make its previous version active again
    /// (operate token).
    Rollback {
        /// The connector id.
        connector: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Pin a transfer, or every unfinished transfer of a version, to another
    /// version of the same connector (operate token).
    Migrate {
        /// The version to move to.
        #[arg(long)]
        to: String,
        /// The transfer to move.
        #[arg(long, conflicts_with = "from", required_unless_present = "from")]
        transfer: Option<String>,
        /// The version whose unfinished transfers to move.
        #[arg(long)]
        from: Option<String>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Remove a version that takes no new work and holds no unfinished
    /// transfer (operate token).
    Retire {
        /// The version id.
        #[arg(value_name = "VERSION")]
        id: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// Runs `command` and prints what it did.
pub async fn run(command: ConnectorsCommand) -> anyhow::Result<()> {
    let (admin, request) = request(command)?;
    let body = super::admin::send(&admin, request).await?;
    if admin.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    } else {
        println!("{}", summary(&body));
    }
    Ok(())
}

/// The admin API call a verb makes. Reading the component or the policy
/// can fail before anything is sent.
pub fn request(command: ConnectorsCommand) -> anyhow::Result<(AdminArgs, Request)> {
    use serde_json::json;
    Ok(match command {
        ConnectorsCommand::List { connector, admin } => {
            let query = connector
                .map(|connector| {
                    let pairs = [("connector", connector)];
                    format!(
                        "?{}",
                        serde_urlencoded::to_string(pairs).unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            (admin, Request::get(format!("/admin/v1/versions{query}")))
        }
        ConnectorsCommand::Install {
            component,
            policy,
            reason,
            admin,
        } => {
            let bytes = std::fs::read(&component)
                .with_context(|| format!("cannot read {}", component.display()))?;
            let policy = std::fs::read_to_string(&policy)
                .with_context(|| format!("cannot read {}", policy.display()))?;
            let body = json!({
                "component_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
                "policy": policy,
                "reason": reason,
            });
            (admin, Request::post("/admin/v1/versions".into(), body))
        }
        ConnectorsCommand::Activate {
            id: version,
            canary,
            reason,
            admin,
        } => {
            let body = json!({ "canary_percent": canary, "reason": reason });
            let path = format!("/admin/v1/versions/{version}/activate");
            (admin, Request::post(path, body))
        }
        ConnectorsCommand::Rollback {
            connector,
            reason,
            admin,
        } => {
            let path = format!("/admin/v1/connectors/{connector}/rollback");
            (admin, Request::post(path, json!({ "reason": reason })))
        }
        ConnectorsCommand::Migrate {
            to,
            transfer,
            from,
            reason,
            admin,
        } => {
            let body = json!({ "transfer": transfer, "from_version": from, "reason": reason });
            let path = format!("/admin/v1/versions/{to}/migrate");
            (admin, Request::post(path, body))
        }
        ConnectorsCommand::Retire {
            id: version,
            reason,
            admin,
        } => {
            let path = format!("/admin/v1/versions/{version}/retire");
            (admin, Request::post(path, json!({ "reason": reason })))
        }
    })
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

/// A version list as a table; a single version or result as one line.
fn summary(body: &Value) -> String {
    if let Some(versions) = body["versions"].as_array() {
        let mut lines = vec![format!(
            "{:<18} {:<18} {:<10} {:<14} {}",
            "VERSION", "CONNECTOR", "DESCRIBED", "ROLE", "COMPONENT"
        )];
        for version in versions {
            lines.push(format!(
                "{:<18} {:<18} {:<10} {:<14} {}",
                text(&version["id"])
                    .get(..16)
                    .unwrap_or(text(&version["id"])),
                text(&version["connector"]),
                text(&version["described_version"]),
                text(&version["role"]),
                text(&version["component_sha256"]).get(..16).unwrap_or("-"),
            ));
        }
        return lines.join("\n");
    }
    if let Some(moved) = body["moved"].as_array() {
        return format!("{} transfer(s) moved", moved.len());
    }
    if let Some(retired) = body["retired"].as_str() {
        return format!("{retired} retired");
    }
    format!(
        "{} ({}) is {}",
        text(&body["id"]),
        text(&body["connector"]),
        text(&body["role"])
    )
}
