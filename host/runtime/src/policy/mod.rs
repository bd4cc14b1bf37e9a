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

mod file;
mod host_pattern;
mod stored;

pub use self::host_pattern::{HostMatch, HostPattern, PortMatch};
pub use self::stored::StoredPolicy;

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
