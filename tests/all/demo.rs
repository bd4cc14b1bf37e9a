//! `corridor demo` end to end on a few transfers: each corridor's validity
//! check (every provider id paired with one transfer, the balances moved by
//! exactly the quoted amounts) must pass for each protocol, so a change that
//! breaks what the demo reads fails here and not first in `scripts/demo`.

use corridor_host::demo::{DemoArgs, run};
use corridor_tests::{plugin_wasm, root};

fn args(corridor: &str) -> DemoArgs {
    DemoArgs {
        transfers: 4,
        concurrency: 2,
        profile: "zero".into(),
        corridor: corridor.into(),
        amount: None,
        recipient: None,
        pay_out: "daraja-v3".into(),
        pay_in: "express".into(),
        wasm_dir: plugin_wasm()
            .parent()
            .expect("the wasm folder")
            .to_path_buf(),
        host: None,
        sandbox_port_base: None,
        host_pid: None,
    }
}

async fn passes(args: DemoArgs, what: &str) {
    let data = tempfile::tempdir().expect("temp dir");
    run(args, &root().join("policies"), data.path())
        .await
        .unwrap_or_else(|error| panic!("{what}: the validity check fails: {error:#}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alipay_mpesa_demo_passes_with_each_mpesa_pay_out_protocol() {
    for pay_out in ["daraja-v3", "daraja-v1", "broker"] {
        let args = DemoArgs {
            pay_out: pay_out.into(),
            ..args("alipay-mpesa")
        };
        passes(args, pay_out).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mpesa_momo_demo_passes_with_each_mpesa_pay_in_protocol() {
    for pay_in in ["express", "checkout", "paybill"] {
        let args = DemoArgs {
            pay_in: pay_in.into(),
            ..args("mpesa-momo")
        };
        passes(args, pay_in).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_corridors_run_at_once_through_one_host_and_each_passes_its_checks() {
    passes(args("all"), "all").await;
}

#[tokio::test]
async fn an_amount_for_one_corridor_is_refused_when_both_run() {
    let args = DemoArgs {
        amount: Some("10.00".into()),
        ..args("all")
    };
    let data = tempfile::tempdir().expect("temp dir");
    let refused = run(args, &root().join("policies"), data.path())
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("--corridor all"), "{refused}");
}
