//! The operators' verbs over the admin API: `corridor transfers list|retry|
//! resolve` and `corridor audit` (and the requests `corridor connectors` sends). Each prints a readable summary, or the
//! API's JSON with `--json`; a refusal is one line and a non-zero exit.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// How to reach the admin API.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// The admin API's base URL.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8081",
        env = "CORRIDOR_ADMIN_URL"
    )]
    pub admin_url: String,
    /// An admin token (read for listing, operate for changes).
    #[arg(long, env = "CORRIDOR_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Print the API's JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `corridor transfers …`.
#[derive(Debug, clap::Subcommand)]
pub enum TransfersCommand {
    /// Print one transfer, its Pay In, Pay Out and state changes.
    Show {
        /// The transfer id (tr_…).
        id: String,
        /// The host's API.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
        host: String,
    },
    /// List transfers, newest first (admin API, read token).
    List {
        /// Only transfers in this state (held, paying-out, …).
        #[arg(long)]
        state: Option<String>,
        /// Only this connector's.
        #[arg(long)]
        connector: Option<String>,
        /// At most this many (1 to 1000).
        #[arg(long)]
        limit: Option<u32>,
        /// The page after this cursor (printed under the last page).
        #[arg(long)]
        cursor: Option<String>,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Run a held transfer's step again (admin API, operate token).
    Retry {
        /// The transfer id (tr_…).
        id: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Resolve a held transfer with evidence: paid out with the provider's
    /// receipt (checked with the provider first), or refunded.
    Resolve {
        /// The transfer id (tr_…).
        id: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// The provider's receipt: mark it paid out once the provider confirms it.
        #[arg(long, conflicts_with = "refund", required_unless_present = "refund")]
        receipt: Option<String>,
        /// Return the pay-in to the payer (refused if the provider paid it out).
        #[arg(long)]
        refund: bool,
        /// The admin API and token.
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// What to ask the admin API.
#[derive(Debug, Clone)]
pub enum Verb {
    /// `transfers list`.
    List {
        /// `state`, `connector`, `limit`, `cursor`.
        query: Vec<(String, String)>,
    },
    /// `transfers retry ID --reason R`.
    Retry {
        /// The transfer.
        id: String,
        /// Why.
        reason: String,
    },
    /// `transfers resolve ID --reason R (--receipt X | --refund)`.
    Resolve {
        /// The transfer.
        id: String,
        /// Why.
        reason: String,
        /// The provider's receipt, or `None` for a refund.
        receipt: Option<String>,
    },
    /// `audit`.
    Audit {
        /// At most this many.
        limit: Option<u32>,
    },
}

/// The admin API refused, or could not be reached: one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdminError(pub String);

/// One call of the admin API.
#[derive(Debug, Clone)]
pub struct Request {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
}

impl Request {
    /// `GET path` (with its query).
    pub fn get(path: String) -> Request {
        Request {
            method: reqwest::Method::GET,
            path,
            body: None,
        }
    }

    /// `POST path` with a JSON body.
    pub fn post(path: String, body: Value) -> Request {
        Request {
            method: reqwest::Method::POST,
            path,
            body: Some(body),
        }
    }
}

/// The admin API call a verb makes.
fn request_of(verb: &Verb) -> Request {
    let query = |pairs: &[(String, String)]| serde_urlencoded::to_string(pairs).unwrap_or_default();
    match verb {
        Verb::List { query: pairs } => {
            Request::get(format!("/admin/v1/transfers?{}", query(pairs)))
        }
        Verb::Audit { limit } => {
            let pairs: Vec<(String, String)> = limit
                .iter()
                .map(|limit| ("limit".to_string(), limit.to_string()))
                .collect();
            Request::get(format!("/admin/v1/audit?{}", query(&pairs)))
        }
        Verb::Retry { id, reason } => Request::post(
            format!("/admin/v1/transfers/{id}/retry"),
            serde_json::json!({ "reason": reason }),
        ),
        Verb::Resolve {
            id,
            reason,
            receipt,
        } => {
            let body = match receipt {
                Some(receipt) => {
                    serde_json::json!({ "action": "paid-out", "receipt": receipt, "reason": reason })
                }
                None => serde_json::json!({ "action": "refund", "reason": reason }),
            };
            Request::post(format!("/admin/v1/transfers/{id}/resolve"), body)
        }
    }
}

/// Sends `request` with the token: the API's JSON, or why not in one line.
pub async fn send(args: &AdminArgs, request: Request) -> Result<Value, AdminError> {
    let base = args.admin_url.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|error| AdminError(error.to_string()))?;
    let mut builder = http.request(request.method, format!("{base}{}", request.path));
    if let Some(body) = request.body {
        builder = builder
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = builder
        .bearer_auth(&args.token)
        .send()
        .await
        .map_err(|error| AdminError(format!("cannot reach the admin API at {base}: {error}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| AdminError(format!("the admin API's answer was cut: {error}")))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|error| AdminError(format!("the admin API answered nonsense: {error}")))?;
    if !status.is_success() {
        let code = body["error"]["code"].as_str().unwrap_or("error");
        let message = body["error"]["message"].as_str().unwrap_or("");
        return Err(AdminError(format!(
            "{code}: {message} (HTTP {})",
            status.as_u16()
        )));
    }
    Ok(body)
}

/// Runs `verb` against the admin API; returns what to print.
pub async fn execute(args: &AdminArgs, verb: &Verb) -> Result<String, AdminError> {
    let body = send(args, request_of(verb)).await?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&body).unwrap_or_default());
    }
    Ok(match verb {
        Verb::List { .. } => transfers_table(&body),
        Verb::Audit { .. } => audit_table(&body),
        Verb::Retry { .. } | Verb::Resolve { .. } => format!(
            "{} is now {}",
            body["id"].as_str().unwrap_or("?"),
            body["state"].as_str().unwrap_or("?")
        ),
    })
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

fn transfers_table(body: &Value) -> String {
    let mut lines = vec![format!(
        "{:<28} {:<18} {:<16} {}",
        "ID", "STATE", "CONNECTOR", "WHY"
    )];
    for transfer in body["transfers"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{:<28} {:<18} {:<16} {}",
            text(&transfer["id"]),
            text(&transfer["state"]),
            text(&transfer["connector"]),
            transfer["failure"]["message"].as_str().unwrap_or("")
        ));
    }
    if let Some(cursor) = body["next_cursor"].as_str() {
        lines.push(format!("more: --cursor {cursor}"));
    }
    lines.join("\n")
}

fn audit_table(body: &Value) -> String {
    let mut lines = vec![format!(
        "{:<6} {:<14} {:<10} {:<26} {:<28} {:<30} {}",
        "ID", "AT_MS", "WHO", "WHAT", "TARGET", "OUTCOME", "WHY"
    )];
    for entry in body["entries"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{:<6} {:<14} {:<10} {:<26} {:<28} {:<30} {}",
            entry["id"],
            entry["at_ms"],
            text(&entry["actor"]),
            text(&entry["operation"]),
            text(&entry["target"]),
            text(&entry["outcome"]),
            text(&entry["reason"])
        ));
    }
    lines.join("\n")
}

/// The admin API call a `corridor transfers` verb makes.
pub fn verb(command: TransfersCommand) -> (AdminArgs, Verb) {
    use Verb;
    match command {
        TransfersCommand::List {
            state,
            connector,
            limit,
            cursor,
            admin,
        } => {
            let query = [
                ("state", state),
                ("connector", connector),
                ("limit", limit.map(|limit| limit.to_string())),
                ("cursor", cursor),
            ]
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_string(), value?)))
            .collect();
            (admin, Verb::List { query })
        }
        TransfersCommand::Retry { id, reason, admin } => (admin, Verb::Retry { id, reason }),
        TransfersCommand::Resolve {
            id,
            reason,
            receipt,
            admin,
            ..
        } => (
            admin,
            Verb::Resolve {
                id,
                reason,
                receipt,
            },
        ),
        TransfersCommand::Show { .. } => unreachable!("show reads the client API"),
    }
}

/// Runs `verb` and prints its summary.
pub async fn print(admin: &AdminArgs, verb: &Verb) -> anyhow::Result<()> {
    println!("{}", execute(admin, verb).await?);
    Ok(())
}

/// The admin tokens from `file` and `CORRIDOR_ADMIN_TOKEN`.
pub fn tokens(file: Option<&Path>) -> anyhow::Result<crate::api::admin::auth::AdminTokens> {
    let text = match file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the admin tokens file {}", file.display()))?,
        None => String::new(),
    };
    let env = std::env::var("CORRIDOR_ADMIN_TOKEN").ok();
    Ok(crate::api::admin::auth::AdminTokens::parse(
        &text,
        env.as_deref(),
    )?)
}
