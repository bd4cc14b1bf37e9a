//! The policy file's format and its validation into [`Policy`].

use super::*;

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
