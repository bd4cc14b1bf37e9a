//! Connector versions: install, activate (or canary), roll back, migrate,
//! retire, while transfers run.
//!
//! A **version** is a component under a policy. Its id is content-addressed:
//! the hex SHA-256 of `corridor-connector-version\n`, the component's hex
//! SHA-256, `\n`, and the policy written out as policy text
//! ([`corridor_runtime::StoredPolicy`]: every setting and limit, the secrets
//! by name but not by value). The same component under the same policy is
//! the same version on every host and after every restart; a new build or a
//! changed setting is a new one. Rotating a secret keeps the version (its
//! value is not part of the id) and reloads it with the new value.
//!
//! Each transfer is **pinned** to the version that began it
//! ([`crate::model::Transfer::version`]); every later step and callback runs
//! on that version, so a version being replaced drains, and each operation
//! is applied by exactly one code version. An operator moves transfers
//! between versions of one connector only explicitly ([`Versions::migrate`]).
//! Every trail entry names the version that ran its step.
//!
//! Every version not retired stays loaded and compiled, so activation and
//! rollback swap a pointer (the [`registry`]) after one database write.
//!
//! | module | what |
//! |---|---|
//! | `operations` | the operator's verbs, on [`Versions`] |
//! | `routing` | the engine's side: which version runs a call, the canary's watch |
//! | `registry` | loaded versions and routes in memory |
//! | `store` | the tables |
//! | [`canary`] | the split and the automatic rollback |

pub mod canary;
mod operations;
mod registry;
mod routing;
mod store;

use sha2::{Digest, Sha256};

pub use self::canary::CanaryConfig;
pub use self::operations::Versions;
pub(crate) use self::registry::{Loaded, Registry};
pub(crate) use self::store::VersionStore;
use corridor_runtime::{LoadError, PolicyError, StoreError};

/// A version's id from its component's SHA-256 and its policy text.
pub fn version_id(component_sha256: &str, policy_text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"corridor-connector-version\n");
    hasher.update(component_sha256.as_bytes());
    hasher.update(b"\n");
    hasher.update(policy_text.as_bytes());
    hex::encode(hasher.finalize())
}

/// Which version of a connector takes new work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The connector id.
    pub connector: String,
    /// The version new transfers are pinned to (outside the canary's share).
    pub active: String,
    /// The version active before it: where a rollback goes.
    pub previous: Option<String>,
    /// A canary and the percentage of new transfers it takes.
    pub canary: Option<(String, u8)>,
}

/// What a version is to its connector now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "role")]
pub enum Role {
    /// Takes new transfers (all of them, or all but the canary's share).
    Active,
    /// Takes `percent` % of new transfers.
    Canary {
        /// Its share.
        percent: u8,
    },
    /// Was active before the active one: a rollback makes it active again.
    Previous,
    /// Installed and loaded; takes new work only once activated. It may
    /// still run the transfers pinned to it.
    Standby,
    /// Retired: unloaded, runs nothing.
    Retired,
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Active => formatter.write_str("active"),
            Role::Canary { percent } => write!(formatter, "canary at {percent} %"),
            Role::Previous => formatter.write_str("previous"),
            Role::Standby => formatter.write_str("standby"),
            Role::Retired => formatter.write_str("retired"),
        }
    }
}

/// A version as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionInfo {
    /// The content-addressed id (see the module's documentation).
    pub id: String,
    /// The connector id (the policy's and `describe()`'s).
    pub connector: String,
    /// The SHA-256 of the component's bytes.
    pub component_sha256: String,
    /// The `corridor:connector` WIT version it speaks.
    pub wit_version: String,
    /// The version `describe()` names.
    pub described_version: String,
    /// When it was first installed.
    pub installed_at_ms: u64,
    /// When it was retired.
    pub retired_at_ms: Option<u64>,
    /// What it is to its connector now.
    #[serde(flatten)]
    pub role: Role,
    /// Its policy as policy text (secrets by reference only).
    pub policy_text: String,
}

/// One change of a connector's route, kept with the reason for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Activation {
    /// The connector.
    pub connector: String,
    /// The version acted on.
    pub version: String,
    /// `activate`, `canary`, `rollback`, `automatic-rollback`, `retire`.
    pub action: String,
    /// The canary's share, for `canary`.
    pub canary_percent: Option<u8>,
    /// Why: the operator's reason, or the host's when it acted alone.
    pub reason: String,
    /// When.
    pub at_ms: u64,
}

/// What to migrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateTarget {
    /// One transfer.
    Transfer(String),
    /// Every unfinished transfer pinned to a version.
    Version(String),
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// The transfers pinned to the new version now.
    pub moved: Vec<String>,
    /// Transfers that finished before they could be moved.
    pub finished: Vec<String>,
}

/// Why a version operation was refused. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// The component did not load under the policy: it does not compile,
    /// speaks another WIT version, does not fit the connector world,
    /// `describe()` names another id, or a declared setting is not granted
    /// (each a [`LoadError`] variant).
    #[error("install refused: {0}")]
    Refused(#[from] LoadError),
    /// The policy does not pass its checks.
    #[error("install refused: the policy: {0}")]
    Policy(#[from] PolicyError),
    /// No such version.
    #[error("no connector version {0:?}")]
    UnknownVersion(String),
    /// The version is retired.
    #[error("connector version {0} is retired; install it again to use it")]
    Retired(String),
    /// No version of that connector is active.
    #[error("connector {0:?} has no active version")]
    NoActiveVersion(String),
    /// The version is another connector's.
    #[error("connector version {version} is {actual}'s, not {expected}'s")]
    OtherConnector {
        /// The version.
        version: String,
        /// The connector it should be of.
        expected: String,
        /// The connector it is of.
        actual: String,
    },
    /// A canary's share must leave room for the active version.
    #[error("a canary takes 1 to 99 % of new transfers, not {0}")]
    CanaryPercent(u8),
    /// The version is active already.
    #[error("connector version {0} is active already")]
    AlreadyActive(String),
    /// Nothing to roll back to.
    #[error("connector {0}: there is no canary and no previous version to roll back to")]
    NothingToRollBack(String),
    /// Retiring a version that takes new work.
    #[error("connector version {version} is {role}; activate another version first")]
    InUse {
        /// The version.
        version: String,
        /// What it is.
        role: Role,
    },
    /// Retiring a version that still runs transfers.
    #[error(
        "connector version {version} still runs {count} unfinished transfers; migrate them or let them finish"
    )]
    Pinned {
        /// The version.
        version: String,
        /// How many.
        count: usize,
    },
    /// No such transfer.
    #[error("no transfer {0:?}")]
    TransferNotFound(String),
    /// The transfer is finished; nothing of it runs again.
    #[error("transfer {0} is finished; there is nothing to migrate")]
    TransferFinished(String),
    /// The transfer stayed mid-step for longer than a migration waits.
    #[error("transfer {0} stayed mid-step; try again")]
    Busy(String),
    /// The component could not be kept in (or read from) the data directory.
    #[error("cannot keep the component at {path}: {source}")]
    Component {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed (or a version's sealed secrets did not open).
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_id_is_its_component_and_policy_text() {
        let one = version_id("aa", "id = \"x\"\n");
        assert_eq!(one, version_id("aa", "id = \"x\"\n"));
        assert_ne!(one, version_id("ab", "id = \"x\"\n"), "another build");
        assert_ne!(one, version_id("aa", "id = \"y\"\n"), "another policy");
        assert_eq!(one.len(), 64);
    }
}
