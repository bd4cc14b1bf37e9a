//! Connector policies: what an operator grants one connector.
//!
//! One TOML file per connector, `policies/<connector-id>.toml`. A connector with
//! no policy does not load. The file is parsed into types once, at load; every
//! problem is reported with the file, the key and what is wrong, and a policy
//! that does not validate grants nothing.
//!
//! Every limit is finite. A key left out takes the documented default below; there
//! is no "unlimited".

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The largest linear memory any policy may grant: the pooling allocator's slot
/// size ([`crate::RuntimeConfig::max_memory_bytes`] may be set lower).
pub const MEMORY_BYTES_CEILING: u64 = 4 << 30;

/// A policy file that did not load.
#[derive(Debug, thiserror::Error)]
#[error("{}: {key}: {problem}", file.display())]
pub struct PolicyError {
    /// The policy file.
    pub file: PathBuf,
    /// The key at fault, dotted (`http.allow[1]`), or `(file)` for the whole file.
    pub key: String,
    /// What is wrong, and what would be right.
    pub problem: String,
}

/// A validated connector policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The connector id. Equal to the file's stem and to the connector's `describe().id`.
    pub id: String,
    /// The file this policy was read from, for messages.
    pub source: PathBuf,
    /// Per-invocation limits.
    pub limits: Limits,
    /// Outbound HTTP grants.
    pub http: HttpPolicy,
    /// Storage quotas.
    pub storage: StoragePolicy,
    /// Who may call the connector's callback routes.
    pub callbacks: CallbackPolicy,
    /// Granted settings and secrets, by key.
    pub config: BTreeMap<String, ConfigValue>,
}

/// Per-invocation limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline for one export call, host calls included. Default 10 s.
    pub deadline: Duration,
    /// Linear-memory cap for one instance, in bytes. Default 32 MiB: with the
    /// default `max_concurrent`, 2 GiB, the runtime's default memory budget.
    pub memory_bytes: u64,
    /// Instances of this connector running at once; more wait for a slot. Default 64.
    pub max_concurrent: u32,
    /// Log messages kept per invocation; the rest are counted and dropped. Default 100.
    pub log_messages: u32,
    /// Bytes kept of one log message. Default 2048.
    pub log_message_bytes: u32,
    /// Bytes of guest stdout and stderr kept per invocation. Default 16384.
    pub output_bytes: u32,
}

/// Outbound HTTP grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Destinations the connector may reach. Empty: none (the default).
    pub allow: Vec<HostPattern>,
    /// Connect timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Total timeout of one request, response body included. Default 30 s.
    pub total_timeout: Duration,
    /// Largest request body. Default 1 MiB.
    pub max_request_bytes: u64,
    /// Largest response body. Default 4 MiB.
    pub max_response_bytes: u64,
}

/// Storage quotas for the connector's key-value namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoragePolicy {
    /// Keys the namespace may hold. Default 100 000.
    pub max_keys: u64,
    /// Largest value, in bytes. Default 64 KiB.
    pub max_value_bytes: u64,
}

/// Who may call the connector's callback routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// Source addresses a callback may come from (`196.201.214.0/24`, a bare
    /// address is one host). Empty, the default, means any: the per-route
    /// secret in the path is then the only gate. Providers that publish their
    /// callback addresses (Safaricom does) should be pinned here.
    pub allow_from: Vec<ipnet::IpNet>,
}

impl CallbackPolicy {
    /// Whether a callback from `peer` may reach the connector. An unknown
    /// peer is refused whenever a list is set.
    pub fn admits(&self, peer: Option<std::net::IpAddr>) -> bool {
        if self.allow_from.is_empty() {
            return true;
        }
        let Some(peer) = peer else { return false };
        let peer = match peer {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
            v4 => v4,
        };
        self.allow_from
            .iter()
            .any(|network| network.contains(&peer))
    }
}

/// A granted configuration value.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// A plain setting, written in the policy.
    Plain(String),
    /// A secret, read from the environment or a file when the policy loaded.
    /// Never printed.
    Secret(Secret),
}

impl Policy {
    /// What this policy lacks of the settings a connector declares: a required
    /// setting not granted, or a secret granted as a plain setting (which
    /// would put it in the policy file and out of the log scrubber's reach).
    /// Empty when the policy grants everything.
    pub fn settings_problems(&self, declared: &[crate::wit::Setting]) -> Vec<String> {
        let section = |secret: bool| if secret { "[secrets]" } else { "[config]" };
        declared
            .iter()
            .filter_map(|setting| match self.config.get(&setting.name) {
                None if setting.required => Some(format!(
                    "{}: the connector needs {:?} ({}); add it to {}",
                    self.source.display(),
                    setting.name,
                    setting.description,
                    section(setting.secret)
                )),
                Some(ConfigValue::Plain(_)) if setting.secret => Some(format!(
                    "{}: {:?} is a secret; move it from [config] to [secrets]",
                    self.source.display(),
                    setting.name
                )),
                _ => None,
            })
            .collect()
    }
}

impl ConfigValue {
    /// The value, for the connector.
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(value) => value,
            ConfigValue::Secret(secret) => secret.expose(),
        }
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Plain(value) => write!(formatter, "{value:?}"),
            ConfigValue::Secret(secret) => write!(formatter, "{secret:?}"),
        }
    }
}

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself. Call only where it leaves for the connector.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

/// One allowed destination: `scheme://host[:port]`.
///
/// `host` is a DNS name, an IPv4 address, a bracketed IPv6 address, or
/// `*.suffix` for any name below `suffix` (not `suffix` itself). `port` is a
/// number or `*`; left out, it is the scheme's default (80, 443).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lower case.
    pub host: HostMatch,
    /// The port.
    pub port: PortMatch,
}

/// How a [`HostPattern`] matches a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// This host exactly.
    Exact(String),
    /// Any host ending in `.suffix`.
    Subdomains(String),
}

/// How a [`HostPattern`] matches a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMatch {
    /// This port.
    Exact(u16),
    /// Any port.
    Any,
}

impl HostPattern {
    /// Parses `scheme://host[:port]`, saying what is wrong when it is malformed.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not of the form scheme://host[:port]"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "{text:?}: scheme must be http or https, not {scheme:?}"
            ));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{text:?}: only scheme://host[:port] is allowed, no path, query or user"
            ));
        }
        let (host_text, port_text) =
            split_host_port(rest).ok_or_else(|| format!("{text:?}: malformed host or port"))?;
        let port = match port_text {
            None => PortMatch::Exact(if scheme == "https" { 443 } else { 80 }),
            Some("*") => PortMatch::Any,
            Some(digits) => match digits.parse::<u16>() {
                Ok(port) if port > 0 => PortMatch::Exact(port),
                _ => {
                    return Err(format!(
                        "{text:?}: port {digits:?} is not a number from 1 to 65535 or *"
                    ));
                }
            },
        };
        let host_lower = host_text.to_ascii_lowercase();
        let host = if let Some(suffix) = host_lower.strip_prefix("*.") {
            check_dns_name(suffix).map_err(|problem| format!("{text:?}: {problem}"))?;
            HostMatch::Subdomains(suffix.to_string())
        } else if host_lower.starts_with('[') {
            let inner = host_lower.trim_start_matches('[').trim_end_matches(']');
            inner
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("{text:?}: {host_text:?} is not an IPv6 address"))?;
            HostMatch::Exact(host_lower.clone())
        } else {
            check_dns_name(&host_lower).map_err(|problem| format!("{text:?}: {problem}"))?;
            HostMatch::Exact(host_lower)
        };
        Ok(HostPattern {
            scheme: scheme.to_string(),
            host,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this pattern.
    /// `host` must be lower case, IPv6 in brackets, as [`url::Url`] gives it.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host_ok = match &self.host {
            HostMatch::Exact(exact) => exact == host,
            HostMatch::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        };
        let port_ok = match self.port {
            PortMatch::Exact(exact) => exact == port,
            PortMatch::Any => true,
        };
        self.scheme == scheme && host_ok && port_ok
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostMatch::Exact(host) => host.clone(),
            HostMatch::Subdomains(suffix) => format!("*.{suffix}"),
        };
        match self.port {
            PortMatch::Exact(port) => write!(formatter, "{}://{host}:{port}", self.scheme),
            PortMatch::Any => write!(formatter, "{}://{host}:*", self.scheme),
        }
    }
}

fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        let (host, after) = rest.split_at(close + 1);
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match rest.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((rest, None)),
    }
}

fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("host {name:?} must be 1 to 253 characters"));
    }
    if name.contains('*') {
        return Err(format!(
            "host {name:?}: a wildcard may only be a leading \"*.\""
        ));
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!("host {name:?} has an invalid label {label:?}"));
        }
    }
    Ok(())
}

// ---- the file format ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    id: String,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    http: HttpFile,
    #[serde(default)]
    storage: StorageFile,
    #[serde(default)]
    callbacks: CallbacksFile,
    #[serde(default)]
    config: BTreeMap<String, SettingSource>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretSource>,
}

/// A plain setting: written inline, or read from a file (a certificate, a
/// public key) relative to the policy file.
#[derive(Deserialize)]
#[serde(untagged)]
enum SettingSource {
    Inline(String),
    File { file: PathBuf },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsFile {
    deadline_ms: u64,
    memory_bytes: u64,
    max_concurrent: u32,
    log_messages: u32,
    log_message_bytes: u32,
    output_bytes: u32,
}

impl Default for LimitsFile {
    fn default() -> Self {
        LimitsFile {
            deadline_ms: 10_000,
            memory_bytes: 32 << 20,
            max_concurrent: 64,
            log_messages: 100,
            log_message_bytes: 2048,
            output_bytes: 16384,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HttpFile {
    allow: Vec<String>,
    connect_timeout_ms: u64,
    total_timeout_ms: u64,
    max_request_bytes: u64,
    max_response_bytes: u64,
}

impl Default for HttpFile {
    fn default() -> Self {
        HttpFile {
            allow: Vec::new(),
            connect_timeout_ms: 5_000,
            total_timeout_ms: 30_000,
            max_request_bytes: 1 << 20,
            max_response_bytes: 4 << 20,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StorageFile {
    max_keys: u64,
    max_value_bytes: u64,
}

impl Default for StorageFile {
    fn default() -> Self {
        StorageFile {
            max_keys: 100_000,
            max_value_bytes: 64 << 10,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct CallbacksFile {
    allow_from: Vec<String>,
}

impl CallbacksFile {
    fn validate(self) -> Result<CallbackPolicy, FieldProblem> {
        let allow_from = self
            .allow_from
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let field = format!("callbacks.allow_from[{index}]");
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        (
                            field,
                            format!(
                                "{text:?} is not an address or a network (\"196.201.214.0/24\")"
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(CallbackPolicy { allow_from })
    }
}

/// Where a secret comes from: exactly one of `env` or `file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretSource {
    env: Option<String>,
    file: Option<PathBuf>,
}

impl Policy {
    /// The policy with a plain setting added or replaced: how a host points a
    /// connector at the endpoints it runs against (the demo's sandboxes).
    pub fn with_setting(mut self, key: &str, value: &str) -> Policy {
        self.config
            .insert(key.to_string(), ConfigValue::Plain(value.to_string()));
        self
    }

    /// Reads and validates a policy file. Relative secret files are resolved
    /// against the policy file's folder.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|error| PolicyError {
            file: path.to_path_buf(),
            key: "(file)".to_string(),
            problem: format!("cannot read: {error}"),
        })?;
        Policy::parse(path, &text, &|name| std::env::var(name).ok())
    }

    /// Parses and validates policy text; `source` names it in errors. `env`
    /// looks up environment variables for `[secrets]`.
    pub fn parse(
        source: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Policy, PolicyError> {
        let fail = |key: &str, problem: String| PolicyError {
            file: source.to_path_buf(),
            key: key.to_string(),
            problem,
        };
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|error| fail("(file)", one_line(&error.to_string())))?;
        let file: PolicyFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key = match error.path().to_string().as_str() {
                "." | "" => "(file)".to_string(),
                path => path.to_string(),
            };
            fail(&key, one_line(&error.inner().to_string()))
        })?;
        file.validate(source, env)
            .map_err(|(key, problem)| fail(&key, problem))
    }
}

/// toml's messages span several lines with a source excerpt; policy errors are
/// one line: the message, then where it is.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let position = lines
        .first()
        .and_then(|first| first.strip_prefix("TOML parse error at "));
    match (position, lines.last()) {
        (Some(position), Some(last)) if lines.len() > 1 => format!("{last} ({position})"),
        _ => lines.join(" "),
    }
}

type FieldProblem = (String, String);

impl PolicyFile {
    fn validate(
        self,
        source: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Policy, FieldProblem> {
        check_id(&self.id, source)?;
        let limits = self.limits.validate()?;
        let http = self.http.validate()?;
        let storage = self.storage.validate()?;
        let callbacks = self.callbacks.validate()?;
        let mut config = BTreeMap::new();
        let folder = source.parent().unwrap_or(Path::new("."));
        for (key, value) in self.config {
            let field = format!("config.{key}");
            check_config_key(&field, &key)?;
            let value = match value {
                SettingSource::Inline(value) => value,
                SettingSource::File { file } => {
                    let path = folder.join(&file);
                    std::fs::read_to_string(&path).map_err(|error| {
                        (
                            field.clone(),
                            format!("cannot read {}: {error}", path.display()),
                        )
                    })?
                }
            };
            config.insert(key, ConfigValue::Plain(value));
        }
        for (key, secret_source) in self.secrets {
            let field = format!("secrets.{key}");
            check_config_key(&field, &key)?;
            if config.contains_key(&key) {
                return Err((
                    field,
                    format!(
                        "{key:?} is granted in [config] too; a key is either a setting or a secret"
                    ),
                ));
            }
            let value = secret_source.resolve(&field, folder, env)?;
            config.insert(key, ConfigValue::Secret(value));
        }
        Ok(Policy {
            id: self.id,
            source: source.to_path_buf(),
            limits,
            http,
            storage,
            callbacks,
            config,
        })
    }
}

fn check_id(id: &str, source: &Path) -> Result<(), FieldProblem> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err((
            "id".into(),
            format!("{id:?} must be 1 to 64 of a-z, 0-9 and -"),
        ));
    }
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if stem != id {
        return Err((
            "id".into(),
            format!("{id:?} must equal the file name {stem:?}"),
        ));
    }
    Ok(())
}

fn check_config_key(field: &str, key: &str) -> Result<(), FieldProblem> {
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("key {key:?} must be 1 to 64 of a-z, 0-9, _ and -"),
        ))
    }
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<u64, FieldProblem> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err((
            field.to_string(),
            format!("{value} is out of range: must be from {min} to {max}"),
        ))
    }
}

impl LimitsFile {
    fn validate(self) -> Result<Limits, FieldProblem> {
        let deadline_ms = in_range("limits.deadline_ms", self.deadline_ms, 1, 600_000)?;
        let memory_bytes = in_range(
            "limits.memory_bytes",
            self.memory_bytes,
            1 << 20,
            MEMORY_BYTES_CEILING,
        )?;
        let max_concurrent = in_range(
            "limits.max_concurrent",
            self.max_concurrent.into(),
            1,
            10_000,
        )?;
        let log_messages = in_range("limits.log_messages", self.log_messages.into(), 0, 100_000)?;
        let log_message_bytes = in_range(
            "limits.log_message_bytes",
            self.log_message_bytes.into(),
            16,
            1 << 20,
        )?;
        let output_bytes = in_range("limits.output_bytes", self.output_bytes.into(), 0, 16 << 20)?;
        Ok(Limits {
            deadline: Duration::from_millis(deadline_ms),
            memory_bytes,
            max_concurrent: narrow(max_concurrent),
            log_messages: narrow(log_messages),
            log_message_bytes: narrow(log_message_bytes),
            output_bytes: narrow(output_bytes),
        })
    }
}

/// Narrows a value already range-checked to fit.
fn narrow(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl HttpFile {
    fn validate(self) -> Result<HttpPolicy, FieldProblem> {
        let mut allow = Vec::with_capacity(self.allow.len());
        for (index, text) in self.allow.iter().enumerate() {
            let pattern = HostPattern::parse(text)
                .map_err(|problem| (format!("http.allow[{index}]"), problem))?;
            allow.push(pattern);
        }
        let connect_timeout_ms = in_range(
            "http.connect_timeout_ms",
            self.connect_timeout_ms,
            1,
            600_000,
        )?;
        let total_timeout_ms =
            in_range("http.total_timeout_ms", self.total_timeout_ms, 1, 600_000)?;
        Ok(HttpPolicy {
            allow,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            total_timeout: Duration::from_millis(total_timeout_ms),
            max_request_bytes: in_range(
                "http.max_request_bytes",
                self.max_request_bytes,
                0,
                64 << 20,
            )?,
            max_response_bytes: in_range(
                "http.max_response_bytes",
                self.max_response_bytes,
                0,
                64 << 20,
            )?,
        })
    }
}

impl StorageFile {
    fn validate(self) -> Result<StoragePolicy, FieldProblem> {
        Ok(StoragePolicy {
            max_keys: in_range("storage.max_keys", self.max_keys, 0, 100_000_000)?,
            max_value_bytes: in_range(
                "storage.max_value_bytes",
                self.max_value_bytes,
                0,
                16 << 20,
            )?,
        })
    }
}

impl SecretSource {
    fn resolve(
        self,
        field: &str,
        folder: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, FieldProblem> {
        let value = match (self.env, self.file) {
            (Some(name), None) => env(&name).ok_or_else(|| {
                (
                    field.to_string(),
                    format!("environment variable {name} is not set"),
                )
            })?,
            (None, Some(file)) => {
                let path = folder.join(&file);
                let text = std::fs::read_to_string(&path).map_err(|error| {
                    (
                        field.to_string(),
                        format!("cannot read secret file {}: {error}", path.display()),
                    )
                })?;
                text.trim_end_matches(['\n', '\r']).to_string()
            }
            _ => {
                return Err((
                    field.to_string(),
                    "give exactly one of env = \"VAR\" or file = \"path\"".into(),
                ));
            }
        };
        if value.is_empty() {
            return Err((field.to_string(), "the secret is empty".into()));
        }
        Ok(Secret::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(Path::new("policies/demo.toml"), text, &|name| {
            (name == "DEMO_KEY").then(|| "s3cret".to_string())
        })
    }

    #[test]
    fn a_minimal_policy_takes_finite_defaults_and_grants_no_egress() {
        let policy = parse("id = \"demo\"").expect("valid");
        assert_eq!(policy.limits.deadline, Duration::from_secs(10));
        assert!(policy.http.allow.is_empty());
        assert!(policy.config.is_empty());
    }

    #[test]
    fn a_typo_in_a_key_names_the_table_and_the_key() {
        let error = parse("id = \"demo\"\n[limits]\ndeadlin_ms = 5\n").expect_err("typo");
        let message = error.to_string();
        assert!(
            message
                .starts_with("policies/demo.toml: limits.deadlin_ms: unknown field `deadlin_ms`"),
            "{message}"
        );
        assert!(message.ends_with("(line 3, column 1)"), "{message}");
    }

    #[test]
    fn a_malformed_host_pattern_names_its_index() {
        let error = parse("id = \"demo\"\n[http]\nallow = [\"http://ok:1\", \"ftp://x\"]\n")
            .expect_err("bad");
        assert_eq!(error.key, "http.allow[1]");
        assert!(
            error.problem.contains("scheme must be http or https"),
            "{error}"
        );
    }

    #[test]
    fn host_patterns_reject_paths_wildcards_in_the_middle_and_bad_ports() {
        for bad in [
            "http://a.com/x",
            "http://a.*.com",
            "http://a.com:0",
            "http://a.com:99999",
            "http://",
            "a.com",
            "http://-a.com",
            "http://[zz]:1",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn host_patterns_match_exactly_what_they_name() {
        let exact = HostPattern::parse("http://127.0.0.1:8080").expect("valid");
        assert!(exact.allows("http", "127.0.0.1", 8080));
        assert!(!exact.allows("http", "127.0.0.1", 8081));
        assert!(!exact.allows("https", "127.0.0.1", 8080));
        let wild = HostPattern::parse("https://*.safaricom.co.ke").expect("valid");
        assert!(wild.allows("https", "sandbox.safaricom.co.ke", 443));
        assert!(!wild.allows("https", "safaricom.co.ke", 443));
        assert!(!wild.allows("https", "evilsafaricom.co.ke", 443));
        let any_port = HostPattern::parse("http://localhost:*").expect("valid");
        assert!(any_port.allows("http", "localhost", 1));
        let v6 = HostPattern::parse("http://[::1]:9").expect("valid");
        assert!(v6.allows("http", "[::1]", 9));
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let policy =
            parse("id = \"demo\"\n[secrets]\nkey = { env = \"DEMO_KEY\" }\n").expect("valid");
        let value = &policy.config["key"];
        assert_eq!(value.expose(), "s3cret");
        assert!(!format!("{policy:?}").contains("s3cret"));
    }

    #[test]
    fn a_missing_secret_names_the_variable() {
        let error =
            parse("id = \"demo\"\n[secrets]\nkey = { env = \"NOPE\" }\n").expect_err("missing");
        assert_eq!(error.key, "secrets.key");
        assert!(error.problem.contains("NOPE"));
    }

    #[test]
    fn the_id_must_match_the_file_name() {
        let error = parse("id = \"other\"").expect_err("mismatch");
        assert_eq!(error.key, "id");
    }

    #[test]
    fn a_callback_allow_list_admits_only_its_networks() {
        let policy = parse(
            "id = \"demo\"\n[callbacks]\nallow_from = [\"196.201.214.0/24\", \"127.0.0.1\"]\n",
        )
        .expect("valid");
        let admits = |text: &str| policy.callbacks.admits(text.parse().ok());
        assert!(admits("196.201.214.200") && admits("127.0.0.1") && admits("::ffff:127.0.0.1"));
        assert!(!admits("196.201.215.1") && !admits("10.0.0.1"));
        assert!(!policy.callbacks.admits(None), "an unknown peer is refused");
        assert!(
            parse("id = \"demo\"\n")
                .expect("valid")
                .callbacks
                .admits(None)
        );
        let error = parse("id = \"demo\"\n[callbacks]\nallow_from = [\"not-an-ip\"]\n")
            .expect_err("refused");
        assert!(
            error.to_string().contains("callbacks.allow_from[0]"),
            "{error}"
        );
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        let error = parse("id = \"demo\"\n[limits]\nmemory_bytes = 5\n").expect_err("small");
        assert_eq!(error.key, "limits.memory_bytes");
    }
}
