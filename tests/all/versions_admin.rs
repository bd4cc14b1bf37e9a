//! Connector versions through the operators' API and CLI: install from an
//! upload, canary, roll back, retire, each audited, and refusals that change
//! nothing.

use base64::Engine as _;
use clap::Parser;
use corridor_host::cli::{Cli, run};
use corridor_tests::{ADMIN_OPERATE_TOKEN, ADMIN_READ_TOKEN, Corridor, Setup, root};
use serde_json::{Value, json};

/// The shipped policy as an operator would upload it: file secrets by
/// absolute path, the providers' URLs pointed at this test's sandbox.
fn uploadable_policy(corridor: &Corridor) -> String {
    let policies = root().join("policies");
    let text = std::fs::read_to_string(policies.join("alipay-mpesa.toml")).expect("the policy");
    let folder = policies.display().to_string();
    text.replace("{ file = \"", &format!("{{ file = \"{folder}/"))
        .replace(
            "http://127.0.0.1:18080/gateway.do",
            &format!("{}/gateway.do", corridor.sandbox.alipay_url),
        )
        .replace("http://127.0.0.1:18081", &corridor.sandbox.mpesa_url)
        .replace(
            "http://127.0.0.1:18083/v1/rates",
            &format!("{}/v1/rates", corridor.sandbox.fx_url),
        )
}

async fn call(corridor: &Corridor, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("{}{path}", corridor.admin_url());
    let request = match body {
        Some(body) => http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string()),
        None => http.get(url),
    };
    let response = request.bearer_auth(token).send().await.expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn role_of(list: &Value, id: &str) -> String {
    list["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|version| version["id"] == id)
        .map(|version| version["role"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_version_canaries_rolls_back_and_retires_each_audited() {
    let corridor = Corridor::start(Setup::default()).await;
    let component =
        base64::engine::general_purpose::STANDARD.encode(crate::versions::build("admin"));
    let upload = json!({
        "component_base64": component,
        "policy": uploadable_policy(&corridor),
        "reason": "the December build",
    });
    let (status, _) = call(
        &corridor,
        ADMIN_READ_TOKEN,
        "/admin/v1/versions",
        Some(upload.clone()),
    )
    .await;
    assert_eq!(status, 403, "installing takes an operate token");
    let garbage = json!({ "component_base64": "AAEC", "policy": uploadable_policy(&corridor), "reason": "oops" });
    let (status, refused) = call(
        &corridor,
        ADMIN_OPERATE_TOKEN,
        "/admin/v1/versions",
        Some(garbage),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("install-refused")),
        "{refused}"
    );

    for (path, body) in [
        ("/admin/v1/versions/any/activate", json!({ "reason": " " })),
        (
            "/admin/v1/versions/any/migrate",
            json!({ "reason": "neither what nor whence" }),
        ),
        (
            "/admin/v1/versions/any/retire",
            json!({ "reason": "x", "force": true }),
        ),
    ] {
        let (status, refused) = call(&corridor, ADMIN_OPERATE_TOKEN, path, Some(body)).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("invalid-request")),
            "{path}: {refused}"
        );
    }
    let (status, installed) = call(
        &corridor,
        ADMIN_OPERATE_TOKEN,
        "/admin/v1/versions",
        Some(upload),
    )
    .await;
    assert_eq!(status, 200, "{installed}");
    let id = installed["id"].as_str().expect("an id").to_string();
    let (_, list) = call(&corridor, ADMIN_READ_TOKEN, "/admin/v1/versions", None).await;
    assert_eq!(role_of(&list, &id), "standby", "{list}");

    let canary = json!({ "canary_percent": 30, "reason": "try it on 30 %" });
    let path = format!("/admin/v1/versions/{id}/activate");
    let (status, body) = call(&corridor, ADMIN_OPERATE_TOKEN, &path, Some(canary)).await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = call(&corridor, ADMIN_READ_TOKEN, "/admin/v1/versions", None).await;
    assert_eq!(role_of(&list, &id), "canary", "{list}");

    let rollback = json!({ "reason": "the error rate doubled" });
    let path = "/admin/v1/connectors/alipay-mpesa/rollback";
    let (status, body) = call(&corridor, ADMIN_OPERATE_TOKEN, path, Some(rollback)).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/admin/v1/versions/{id}/retire");
    let (status, body) = call(
        &corridor,
        ADMIN_OPERATE_TOKEN,
        &path,
        Some(json!({ "reason": "abandoned" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = call(&corridor, ADMIN_READ_TOKEN, "/admin/v1/versions", None).await;
    assert_eq!(role_of(&list, &id), "retired", "{list}");

    let (_, audit) = call(&corridor, ADMIN_READ_TOKEN, "/admin/v1/audit", None).await;
    let operations: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let outcome = entry["outcome"].as_str().unwrap_or_default();
            (
                entry["operation"].as_str().unwrap_or_default(),
                if outcome.starts_with("done") {
                    "done"
                } else {
                    "refused"
                },
            )
        })
        .collect();
    assert_eq!(
        operations,
        [
            ("version.retire", "done"),
            ("connector.rollback", "done"),
            ("version.canary", "done"),
            ("version.install", "done"),
            ("version.install", "refused"),
        ],
        "newest first: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connectors_cli_lists_versions_and_a_refusal_is_an_error() {
    let corridor = Corridor::start(Setup::default()).await;
    let admin = corridor.admin_url();
    let cli = |verb: &[&str], token: &str| {
        let mut arguments = vec!["corridor"];
        arguments.extend_from_slice(verb);
        arguments.extend(["--admin-url", admin.as_str(), "--token", token]);
        Cli::parse_from(arguments)
    };
    run(cli(&["connectors", "list"], ADMIN_READ_TOKEN))
        .await
        .expect("list");
    let refused = run(cli(
        &[
            "connectors",
            "rollback",
            "alipay-mpesa",
            "--reason",
            "nothing to go back to",
        ],
        ADMIN_OPERATE_TOKEN,
    ))
    .await
    .expect_err("no previous version");
    assert!(refused.to_string().contains("refused"), "{refused}");
    let refused = run(cli(
        &[
            "connectors",
            "activate",
            "no-such-version",
            "--reason",
            "typo",
        ],
        ADMIN_OPERATE_TOKEN,
    ))
    .await
    .expect_err("unknown");
    assert!(
        refused.to_string().contains("version-not-found"),
        "{refused}"
    );
}
