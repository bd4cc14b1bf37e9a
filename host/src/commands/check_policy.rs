//! `corridor check-policy`: every problem of every file in one run, so an
//! operator fixes a policy in one pass instead of one error per try.
//!
//! [`Policy::parse`] stops at the first problem, as a loader should. To find
//! the rest, the check sets the faulty key aside (removes it, so its
//! documented default applies, or drops the faulty list entry) and parses
//! again, a bounded number of times. With `--component`, the connector is
//! loaded under the policy, and the settings it declares and the policy
//! lacks are listed too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::runtime::{Runtime, RuntimeConfig};
use crate::{LoadError, Policy, PolicyError, SqliteStore, SystemClock};

/// More problems than anyone fixes in one pass; bounds the re-parsing.
const MAX_PROBLEMS_PER_FILE: usize = 100;

/// What checking one file found.
#[derive(Debug)]
pub struct FileReport {
    /// The file.
    pub file: PathBuf,
    /// One line per problem (`file: key: problem`), empty when it is valid.
    pub problems: Vec<String>,
    /// The policy with every faulty key set aside, when that validates: what
    /// the connector's settings are checked against.
    pub policy: Option<Policy>,
}

/// One step of a key path: `http.allow[2]` is `http`, `allow`, `[2]`.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(key: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in key.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|name| !name.is_empty()) {
            steps.push(Step::Key(name.to_string()));
        }
        for index in pieces {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(index));
            }
        }
    }
    steps
}

/// Removes the value at `key` from `table`; false if there is none.
fn set_aside(table: &mut toml::Table, key: &str) -> bool {
    let steps = steps(key);
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut value = None::<&mut toml::Value>;
    for step in parents {
        let next = match (value, step) {
            (None, Step::Key(name)) => table.get_mut(name),
            (Some(toml::Value::Table(inner)), Step::Key(name)) => inner.get_mut(name),
            (Some(toml::Value::Array(items)), Step::Index(index)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        value = Some(next);
    }
    match (value, last) {
        (None, Step::Key(name)) => table.remove(name).is_some(),
        (Some(toml::Value::Table(inner)), Step::Key(name)) => inner.remove(name).is_some(),
        (Some(toml::Value::Array(items)), Step::Index(index)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// The problem's key as the file spells it: entries set aside earlier from
/// the same list shifted the later ones down.
fn original_key(key: &str, removed: &[String]) -> String {
    let Some((list, index)) = key
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .and_then(|(list, index)| Some((list, index.parse::<usize>().ok()?)))
    else {
        return key.to_string();
    };
    let before = removed.iter().filter(|earlier| *earlier == list).count();
    format!("{list}[{}]", index + before)
}

/// Every problem in the policy file at `path`.
pub fn check_file(path: &Path) -> FileReport {
    let mut report = FileReport {
        file: path.to_path_buf(),
        problems: Vec::new(),
        policy: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            report
                .problems
                .push(format!("{}: (file): cannot read: {error}", path.display()));
            return report;
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let mut table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        // Not TOML: the parser's own message says where.
        Err(_) => {
            if let Err(error) = Policy::parse(path, &text, &env) {
                report.problems.push(error.to_string());
            }
            return report;
        }
    };
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_PROBLEMS_PER_FILE {
        let current = toml::to_string(&table).unwrap_or_default();
        match Policy::parse(path, &current, &env) {
            Ok(policy) => {
                report.policy = Some(policy);
                return report;
            }
            Err(PolicyError { file, key, problem }) => {
                let shown = original_key(&key, &removed);
                report
                    .problems
                    .push(format!("{}: {shown}: {problem}", file.display()));
                if !set_aside(&mut table, &key) {
                    return report;
                }
                if let Some((list, _)) = key.rsplit_once('[') {
                    removed.push(list.to_string());
                }
            }
        }
    }
    report
}

/// The settings `component` declares that `policy` does not grant: loads the
/// connector under the policy and reads what the load refused.
pub async fn settings_problems(component: &Path, policy: Policy, data_dir: &Path) -> Vec<String> {
    let runtime = SqliteStore::in_memory()
        .map_err(|error| error.to_string())
        .and_then(|store| {
            let config = RuntimeConfig {
                cache_dir: Some(data_dir.join("cache")),
                max_instances: 4,
                ..RuntimeConfig::default()
            };
            Runtime::new(config, Arc::new(store), Arc::new(SystemClock))
                .map_err(|error| format!("{error:#}"))
        });
    let source = policy.source.display().to_string();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return vec![format!("{source}: cannot start a runtime: {error}")],
    };
    match runtime.load(component, policy).await {
        Ok(_) => Vec::new(),
        Err(LoadError::Settings { problems, .. }) => problems,
        Err(error) => vec![format!("{source}: {}: {error}", component.display())],
    }
}
