//! A policy written back out as policy text, so a connector version can keep
//! the policy it was installed with and load it again after a restart.
//!
//! The text is what `Policy::parse` reads, so a stored policy goes through
//! every check a policy file does when it is loaded again. Its `[secrets]`
//! are references (`{ env = "…" }`) resolved from [`StoredPolicy::secrets`],
//! which the caller keeps sealed: the text itself holds no secret and can be
//! shown, hashed and compared.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ConfigValue, Policy, PolicyError};

/// The prefix of the environment names a stored policy's secrets are read
/// from: never the process's environment, only [`StoredPolicy::secrets`].
const SECRET_REFERENCE: &str = "CORRIDOR_STORED_SECRET_";

/// A policy as policy text plus its secret values.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// Policy text without secret values: the same policy gives the same text.
    pub text: String,
    /// The secrets' values by key (keep these sealed).
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for StoredPolicy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoredPolicy")
            .field("text", &self.text)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Policy {
    /// This policy as text (keys in a fixed order) and its secrets apart.
    pub fn to_stored(&self) -> StoredPolicy {
        let limits = &self.limits;
        let http = &self.http;
        let mut text = format!("id = {}\n\n[limits]\n", quoted(&self.id));
        text += &format!(
            "deadline_ms = {}\nmemory_bytes = {}\nmax_concurrent = {}\nlog_messages = {}\nlog_message_bytes = {}\noutput_bytes = {}\n\n",
            limits.deadline.as_millis(),
            limits.memory_bytes,
            limits.max_concurrent,
            limits.log_messages,
            limits.log_message_bytes,
            limits.output_bytes
        );
        let allow: Vec<String> = http
            .allow
            .iter()
            .map(|pattern| quoted(&pattern.to_string()))
            .collect();
        text += &format!(
            "[http]\nallow = [{}]\nconnect_timeout_ms = {}\ntotal_timeout_ms = {}\nmax_request_bytes = {}\nmax_response_bytes = {}\n\n",
            allow.join(", "),
            http.connect_timeout.as_millis(),
            http.total_timeout.as_millis(),
            http.max_request_bytes,
            http.max_response_bytes
        );
        text += &format!(
            "[storage]\nmax_keys = {}\nmax_value_bytes = {}\n\n",
            self.storage.max_keys, self.storage.max_value_bytes
        );
        let sources: Vec<String> = self
            .callbacks
            .allow_from
            .iter()
            .map(|network| quoted(&network.to_string()))
            .collect();
        text += &format!(
            "[callbacks]\nallow_from = [{}]\n\n[config]\n",
            sources.join(", ")
        );
        let mut secrets = BTreeMap::new();
        for (key, value) in &self.config {
            if let ConfigValue::Plain(value) = value {
                text += &format!("{key} = {}\n", quoted(value));
            }
        }
        text += "\n[secrets]\n";
        for (key, value) in &self.config {
            if let ConfigValue::Secret(secret) = value {
                text += &format!(
                    "{key} = {{ env = {} }}\n",
                    quoted(&format!("{SECRET_REFERENCE}{key}"))
                );
                secrets.insert(key.clone(), secret.expose().to_string());
            }
        }
        StoredPolicy { text, secrets }
    }

    /// The policy `stored` holds, checked as a policy file is; `source`
    /// names it in errors, and its file stem must be the policy's id.
    pub fn from_stored(source: &Path, stored: &StoredPolicy) -> Result<Policy, PolicyError> {
        let lookup = |name: &str| {
            let key = name.strip_prefix(SECRET_REFERENCE)?;
            stored.secrets.get(key).cloned()
        };
        Policy::parse(source, &stored.text, &lookup)
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
id = "stored-test"
[limits]
deadline_ms = 1234
[http]
allow = ["http://127.0.0.1:*", "https://api.example.com"]
[callbacks]
allow_from = ["10.0.0.0/8"]
[config]
greeting = "say \"hi\"\nthen go"
[secrets]
token = { env = "STORED_TEST_TOKEN" }
"#;

    fn policy() -> Policy {
        Policy::parse(Path::new("stored-test.toml"), TEXT, &|name| {
            (name == "STORED_TEST_TOKEN").then(|| "s3cret".to_string())
        })
        .expect("valid")
    }

    #[test]
    fn a_stored_policy_loads_back_as_the_same_policy() {
        let original = policy();
        let stored = original.to_stored();
        let loaded =
            Policy::from_stored(Path::new("stored/stored-test.toml"), &stored).expect("loads");
        assert_eq!(loaded.limits, original.limits);
        assert_eq!(loaded.http, original.http);
        assert_eq!(loaded.storage, original.storage);
        assert_eq!(loaded.callbacks, original.callbacks);
        assert_eq!(loaded.config, original.config);
        assert_eq!(loaded.to_stored(), stored);
    }

    #[test]
    fn a_stored_policys_text_holds_no_secret() {
        let stored = policy().to_stored();
        assert!(!stored.text.contains("s3cret"), "{}", stored.text);
        assert_eq!(stored.secrets["token"], "s3cret");
        assert!(!format!("{stored:?}").contains("s3cret"));
    }

    #[test]
    fn a_stored_policy_without_its_secret_does_not_load() {
        let mut stored = policy().to_stored();
        stored.secrets.clear();
        let error = Policy::from_stored(Path::new("stored/stored-test.toml"), &stored)
            .expect_err("refused");
        assert_eq!(error.key, "secrets.token");
    }
}
