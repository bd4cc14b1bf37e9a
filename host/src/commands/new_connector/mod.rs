//! `corridor new-connector NAME`: a connector skeleton for the next corridor's
//! author, which builds for `wasm32-wasip2`, loads under the policy written
//! beside it, and passes its own tests as written.
//!
//! It writes the crate (`plugin/NAME` by default: `Cargo.toml`, `src/lib.rs`,
//! `src/quote.rs`, `src/plan.rs`, `src/component.rs`) and `policies/NAME.toml`,
//! granting every setting the skeleton reads. It never overwrites a file.

use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("lib.rs.tmpl");
const QUOTE_RS: &str = include_str!("quote.rs.tmpl");
const PLAN_RS: &str = include_str!("plan.rs.tmpl");
const COMPONENT_RS: &str = include_str!("component.rs.tmpl");
const POLICY_TOML: &str = include_str!("policy.toml.tmpl");

/// Why no skeleton was written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a connector id.
    #[error(
        "{0:?} is not a connector name: use 2 to 40 characters of a-z, 0-9 and -, starting with a letter"
    )]
    BadName(String),
    /// Something is already there.
    #[error("{0} already exists; choose another name or remove it")]
    Exists(PathBuf),
    /// The connector kit the skeleton depends on is not where it should be.
    #[error("no connector kit at {0}; run this inside the Corridor repository or pass --kit")]
    NoKit(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The crate's folder.
    pub crate_dir: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
}

/// Whether `name` can be a connector id (and so a crate, a policy file name
/// and a callback path segment).
pub fn valid_name(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Writes the skeleton of connector `name` into `crate_dir` and its policy
/// into `policy_dir`, depending on the kit at `kit_dir`. Writes nothing if
/// either target exists.
pub fn write(
    name: &str,
    crate_dir: &Path,
    policy_dir: &Path,
    kit_dir: &Path,
) -> Result<Written, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    if !kit_dir.join("Cargo.toml").is_file() {
        return Err(ScaffoldError::NoKit(kit_dir.to_path_buf()));
    }
    let policy = policy_dir.join(format!("{name}.toml"));
    for target in [crate_dir, policy.as_path()] {
        if target.exists() {
            return Err(ScaffoldError::Exists(target.to_path_buf()));
        }
    }
    let kit = kit_path(crate_dir, kit_dir);
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{kit_path}}", &kit)
            .replace("{{crate_dir}}", &crate_dir.display().to_string())
    };
    let files = [
        (crate_dir.join("Cargo.toml"), fill(CARGO_TOML)),
        (crate_dir.join("src/lib.rs"), fill(LIB_RS)),
        (crate_dir.join("src/quote.rs"), fill(QUOTE_RS)),
        (crate_dir.join("src/plan.rs"), fill(PLAN_RS)),
        (crate_dir.join("src/component.rs"), fill(COMPONENT_RS)),
        (policy.clone(), fill(POLICY_TOML)),
    ];
    for (path, text) in files {
        write_file(&path, &text)?;
    }
    // The workspace's lock file pins the kit's dependencies to the versions
    // Corridor is built and tested with; cargo drops the entries not needed.
    if let Some(lock) = kit_dir
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join("Cargo.lock"))
        && let Ok(text) = std::fs::read_to_string(lock)
    {
        write_file(&crate_dir.join("Cargo.lock"), &text)?;
    }
    Ok(Written {
        crate_dir: crate_dir.to_path_buf(),
        policy,
    })
}

/// The kit as the crate's `Cargo.toml` names it: `../kit` beside it under
/// `plugin/`, else its absolute path.
fn kit_path(crate_dir: &Path, kit_dir: &Path) -> String {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let (crate_dir, kit_dir) = (absolute(crate_dir), absolute(kit_dir));
    if crate_dir.parent() == kit_dir.parent() {
        "../kit".into()
    } else {
        kit_dir.display().to_string().replace('\\', "/")
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let failed = |source| ScaffoldError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    std::fs::write(path, text).map_err(failed)
}

/// `corridor new-connector`: the skeleton, and what to run next.
pub fn run(
    name: &str,
    dir: Option<PathBuf>,
    kit: Option<PathBuf>,
    policy_dir: &Path,
) -> anyhow::Result<()> {
    let current = std::env::current_dir()?;
    let root = crate::commands::paths::repository_root(&current);
    let in_repository = |path: &str| {
        root.as_ref().map(|root| root.join(path)).ok_or_else(|| {
            anyhow::anyhow!("not inside the Corridor repository: pass --dir and --kit")
        })
    };
    let crate_dir = match dir {
        Some(dir) => dir,
        None => in_repository(&format!("plugin/{name}"))?,
    };
    let kit = match kit {
        Some(kit) => kit,
        None => in_repository("plugin/kit")?,
    };
    let policy_dir = crate::commands::paths::policy_dir(policy_dir)?;
    let written = crate::commands::new_connector::write(name, &crate_dir, &policy_dir, &kit)?;
    let manifest = written.crate_dir.join("Cargo.toml");
    println!(
        "wrote {} (the connector) and {} (its policy)",
        written.crate_dir.display(),
        written.policy.display()
    );
    println!("next: cargo test --manifest-path {}", manifest.display());
    println!(
        "      cargo build --release --target wasm32-wasip2 --manifest-path {}",
        manifest.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_a_connector_id() {
        for good in ["acme-pay", "acme-to-beta", "x2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "9pay",
            "acme_pay",
            "acme-",
            "../x",
            &"a".repeat(41),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn nothing_is_overwritten_and_a_bad_name_writes_nothing() {
        let folder = tempfile::tempdir().expect("temp dir");
        let kit = folder.path().join("kit");
        write_file(&kit.join("Cargo.toml"), "[package]").expect("a kit");
        let crate_dir = folder.path().join("acme-pay");
        let policies = folder.path().join("policies");
        let written = write("acme-pay", &crate_dir, &policies, &kit).expect("written");
        assert!(written.policy.is_file());
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("manifest");
        assert!(manifest.contains("path = \"../kit\""), "{manifest}");
        assert!(matches!(
            write("acme-pay", &crate_dir, &policies, &kit),
            Err(ScaffoldError::Exists(_))
        ));
        let other = folder.path().join("Bad_Name");
        assert!(matches!(
            write("Bad_Name", &other, &policies, &kit),
            Err(ScaffoldError::BadName(_))
        ));
        assert!(!other.exists());
    }
}
