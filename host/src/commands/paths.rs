//! The default paths that name things in the repository (`policies`, the
//! built connector) work from any folder inside it, so `corridor serve` run
//! from `host/` or `scripts/` finds what it would find from the root.
//! `--data-dir` is not one of them: data belongs where the operator is.

use std::path::{Path, PathBuf};

/// `--policy-dir`'s default.
pub const DEFAULT_POLICY_DIR: &str = "policies";
/// Where `scripts/build-wasm` puts the connectors.
pub const DEFAULT_WASM_DIR: &str = "target/wasm/wasm32-wasip2/release";
/// `--component`'s default: where `scripts/build-wasm` puts the connector.
pub const DEFAULT_COMPONENT: &str = "target/wasm/wasm32-wasip2/release/alipay_mpesa.wasm";

/// A default path found neither here nor under the repository root.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}; pass {flag} {hint}")]
pub struct PathNotFound {
    /// The path, as given.
    pub path: String,
    /// The flag that sets it.
    pub flag: &'static str,
    /// What was looked at.
    pub reason: String,
    /// What to pass instead.
    pub hint: &'static str,
}

/// The repository root at or above `start`: the nearest folder holding
/// both `policies/` and `wit/`.
pub fn repository_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|folder| folder.join("policies").is_dir() && folder.join("wit").is_dir())
        .map(Path::to_path_buf)
}

/// `path` itself if it exists or is not `default`; else `default` under the
/// repository root above `current`. An explicit path is never second-guessed.
pub fn locate(
    path: &Path,
    default: &str,
    flag: &'static str,
    hint: &'static str,
    current: &Path,
) -> Result<PathBuf, PathNotFound> {
    if path != Path::new(default) || current.join(path).exists() {
        return Ok(path.to_path_buf());
    }
    let not_found = |reason: String| PathNotFound {
        path: path.display().to_string(),
        flag,
        reason,
        hint,
    };
    let root = repository_root(current).ok_or_else(|| {
        not_found(format!(
            "not in {} and no repository root (a folder with policies/ and wit/) above it",
            current.display()
        ))
    })?;
    let found = root.join(path);
    if found.exists() {
        Ok(found)
    } else {
        Err(not_found(format!(
            "not in {} nor in the repository root {}",
            current.display(),
            root.display()
        )))
    }
}

/// [`locate`] for `--policy-dir`, from the current folder.
pub fn policy_dir(path: &Path) -> Result<PathBuf, PathNotFound> {
    locate(
        path,
        DEFAULT_POLICY_DIR,
        "--policy-dir",
        "DIR (the folder of <connector-id>.toml files)",
        &current_dir(),
    )
}

/// [`locate`] for `--component`, from the current folder.
pub fn component(path: &Path) -> Result<PathBuf, PathNotFound> {
    locate(
        path,
        DEFAULT_COMPONENT,
        "--component",
        "WASM (or build it: scripts/build-wasm)",
        &current_dir(),
    )
}

/// [`locate`] for `--wasm-dir`, from the current folder.
pub fn wasm_dir(path: &Path) -> Result<PathBuf, PathNotFound> {
    locate(
        path,
        DEFAULT_WASM_DIR,
        "--wasm-dir",
        "DIR (or build the connectors: scripts/build-wasm)",
        &current_dir(),
    )
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_path_is_found_from_a_folder_inside_the_repository() {
        let repository = tempfile::tempdir().expect("temp dir");
        for folder in ["policies", "wit", "host/src"] {
            std::fs::create_dir_all(repository.path().join(folder)).expect("mkdir");
        }
        let inside = repository.path().join("host/src");
        let found = locate(
            Path::new("policies"),
            "policies",
            "--policy-dir",
            "DIR",
            &inside,
        )
        .expect("found");
        assert_eq!(found, repository.path().join("policies"));
    }

    #[test]
    fn a_default_path_outside_any_repository_names_the_flag() {
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let error = locate(
            Path::new("policies"),
            "policies",
            "--policy-dir",
            "DIR",
            elsewhere.path(),
        )
        .expect_err("not found");
        let message = error.to_string();
        assert!(message.contains("pass --policy-dir DIR"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }

    #[test]
    fn an_explicit_path_is_taken_as_given() {
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let given = Path::new("my-policies");
        let found = locate(given, "policies", "--policy-dir", "DIR", elsewhere.path());
        assert_eq!(found.ok().as_deref(), Some(given));
    }
}
