//! `corridor new-connector`: the skeleton builds, passes its own tests, and
//! loads in the host under the policy written beside it.

use std::path::Path;
use std::process::Command;

use clap::Parser;
use corridor_host::Policy;
use corridor_host::cli::{Cli, run};
use corridor_host::runtime::exports;
use corridor_host::wit::{Money, QuoteRequest};
use corridor_tests::root;

fn cargo(arguments: &[&str], manifest: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(arguments)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--offline")
        .arg("--quiet")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo {arguments:?} failed");
}

#[tokio::test]
async fn a_new_connector_builds_passes_its_own_tests_and_quotes_in_the_host() {
    let folder = tempfile::tempdir().expect("temp dir");
    let crate_dir = folder.path().join("acme-pay");
    let policies = folder.path().join("policies");
    let kit = root().join("plugin/kit");
    let path = |path: &Path| path.to_str().expect("utf-8 path").to_string();
    let arguments = [
        "corridor".to_string(),
        "--policy-dir".into(),
        path(&policies),
        "new-connector".into(),
        "acme-pay".into(),
        "--dir".into(),
        path(&crate_dir),
        "--kit".into(),
        path(&kit),
    ];
    run(Cli::parse_from(arguments)).await.expect("written");

    let manifest = crate_dir.join("Cargo.toml");
    let native = path(&root().join("target/scaffold"));
    cargo(&["test", "--target-dir", &native], &manifest);
    let wasm_dir = path(&root().join("target/wasm"));
    let build = [
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--target-dir",
        &wasm_dir,
    ];
    cargo(&build, &manifest);

    let data = tempfile::tempdir().expect("temp dir");
    let runtime = corridor_host::cli::open_runtime(data.path()).expect("runtime");
    let policy =
        Policy::load(&policies.join("acme-pay.toml")).expect("the written policy is valid");
    let component = root().join("target/wasm/wasm32-wasip2/release/acme_pay.wasm");
    let connector = runtime
        .load(&component, policy)
        .await
        .expect("loads under its policy");
    assert_eq!(connector.descriptor().id, "acme-pay");
    let request = QuoteRequest {
        send: Money {
            amount_minor: 10_000,
            currency: "USD".into(),
        },
        receive_currency: "EUR".into(),
    };
    let quote = connector
        .call::<exports::Quote>(request)
        .await
        .expect("called")
        .expect("a quote");
    assert_eq!(quote.receive.amount_minor, 9_215, "at the policy's rate");
}

#[tokio::test]
async fn a_bad_name_or_an_existing_folder_is_refused_and_writes_nothing() {
    let folder = tempfile::tempdir().expect("temp dir");
    let policies = folder.path().join("policies");
    let kit = root().join("plugin/kit");
    let attempt = |name: &str, dir: &Path| {
        let arguments = [
            "corridor",
            "--policy-dir",
            policies.to_str().expect("utf-8"),
            "new-connector",
            name,
            "--dir",
            dir.to_str().expect("utf-8"),
            "--kit",
            kit.to_str().expect("utf-8"),
        ];
        run(Cli::parse_from(arguments))
    };
    let refused = attempt("Acme_Pay", &folder.path().join("x"))
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains("not a connector name"),
        "{refused}"
    );
    assert!(!folder.path().join("x").exists());
    let taken = folder.path().join("taken");
    std::fs::create_dir(&taken).expect("a folder");
    let refused = attempt("taken", &taken).await.expect_err("refused");
    assert!(refused.to_string().contains("already exists"), "{refused}");
    assert!(!policies.join("taken.toml").exists(), "nothing written");
}
