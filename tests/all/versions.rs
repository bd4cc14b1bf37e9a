//! Connector versions on a running corridor: install and its refusals,
//! activation, pinning, canary and its automatic rollback, rollback,
//! migration, retirement, a restart between install and activate, and a hot
//! swap under load.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corridor_host::LoadError;
use corridor_host::api::RateLimit;
use corridor_host::api::view::TransferView;
use corridor_host::engine::model::TransferState;
use corridor_host::engine::versions::canary::takes_canary;
use corridor_host::engine::versions::{
    CanaryConfig, MigrateTarget, Role, VersionError, VersionInfo, Versions,
};
use corridor_tests::{Corridor, RECIPIENT, Setup, plugin_wasm};

/// The connector's component with a custom section appended: the same code,
/// another build (another SHA-256, so another version).
pub(crate) fn build(tag: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(plugin_wasm()).expect("the component is built");
    let name = b"corridor-test-build";
    let mut payload = vec![u8::try_from(name.len()).expect("short")];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    bytes.push(0);
    leb128(&mut bytes, payload.len());
    bytes.extend_from_slice(&payload);
    bytes
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = u8::try_from(value & 0x7f).expect("seven bits");
        value >>= 7;
        if value == 0 {
            return out.push(byte);
        }
        out.push(byte | 0x80);
    }
}

fn versions(corridor: &Corridor) -> Versions {
    corridor.host.as_ref().expect("a running host").versions()
}

/// The version the host was started with.
async fn started(corridor: &Corridor) -> VersionInfo {
    let all = versions(corridor)
        .list(Some("alipay-mpesa"))
        .await
        .expect("list");
    all.into_iter()
        .find(|version| version.role == Role::Active)
        .expect("an active version")
}

async fn install(corridor: &Corridor, tag: &str) -> VersionInfo {
    versions(corridor)
        .install(build(tag), corridor.policy())
        .await
        .expect("the build installs")
}

async fn paid_to_completion(corridor: &Corridor, transfer: &TransferView) -> TransferView {
    assert_eq!(corridor.pay(transfer).await, "9000");
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await
}

#[tokio::test]
async fn install_refuses_what_cannot_run_and_names_why() {
    let corridor = Corridor::start(Setup::default()).await;
    let versions = versions(&corridor);
    let not_wasm = versions
        .install(b"not wasm".to_vec(), corridor.policy())
        .await;
    assert!(
        matches!(
            not_wasm,
            Err(VersionError::Refused(LoadError::Compile { .. }))
        ),
        "{not_wasm:?}"
    );
    let mut other_id = corridor.policy();
    other_id.id = "someone-else".into();
    let mismatch = versions.install(build("a"), other_id).await;
    assert!(
        matches!(
            mismatch,
            Err(VersionError::Refused(LoadError::IdMismatch { .. }))
        ),
        "{mismatch:?}"
    );
    let mut ungranted = corridor.policy();
    ungranted.config.remove("mpesa_shortcode");
    let settings = versions.install(build("a"), ungranted).await;
    assert!(
        matches!(
            settings,
            Err(VersionError::Refused(LoadError::Settings { .. }))
        ),
        "{settings:?}"
    );
    let listed = versions.list(None).await.expect("list");
    assert_eq!(
        listed.len(),
        1,
        "nothing refused was installed: {listed:#?}"
    );
}

#[tokio::test]
async fn the_same_component_and_policy_is_the_same_version_after_a_restart() {
    let mut corridor = Corridor::start(Setup::default()).await;
    let before = started(&corridor).await;
    assert_eq!(before.wit_version, corridor_host::WIT_VERSION);
    corridor.kill_host().await;
    corridor.start_host().await;
    let after = versions(&corridor).list(None).await.expect("list");
    assert_eq!(after, vec![before], "a restart installs nothing new");
}

#[tokio::test]
async fn a_version_installed_before_a_restart_is_there_after_it_and_activates() {
    let mut corridor = Corridor::start(Setup::default()).await;
    let first = started(&corridor).await;
    let second = install(&corridor, "second").await;
    assert_eq!(second.role, Role::Standby);
    corridor.kill_host().await;
    corridor.start_host().await;
    let second = versions(&corridor)
        .info(&second.id)
        .await
        .expect("still installed");
    assert_eq!(second.role, Role::Standby, "installing does not activate");
    versions(&corridor)
        .activate(&second.id, None, "test")
        .await
        .expect("activates");
    let transfer = corridor.send("10.00", RECIPIENT).await;
    assert_eq!(transfer.version, second.id);
    corridor.kill_host().await;
    corridor.start_host().await;
    assert_eq!(
        started(&corridor).await.id,
        second.id,
        "the active one stays active"
    );
    let first = versions(&corridor).info(&first.id).await.expect("first");
    assert_eq!(first.role, Role::Previous);
}

#[tokio::test]
async fn pinned_transfers_finish_on_their_version_after_a_new_one_is_activated() {
    let corridor = Corridor::start(Setup::default()).await;
    let first = started(&corridor).await;
    let old = corridor.send("10.00", RECIPIENT).await;
    let second = install(&corridor, "second").await;
    versions(&corridor)
        .activate(&second.id, None, "test")
        .await
        .expect("activates");
    let new = corridor.send("10.00", RECIPIENT).await;
    let old = paid_to_completion(&corridor, &old).await;
    let new = paid_to_completion(&corridor, &new).await;
    assert_eq!(old.version, first.id);
    assert!(
        old.events.iter().all(|event| event.version == first.id),
        "{:#?}",
        old.events
    );
    assert_eq!(new.version, second.id);
    assert!(
        new.events.iter().all(|event| event.version == second.id),
        "{:#?}",
        new.events
    );
    assert_eq!(corridor.b2c_requests(), 2);
}

#[tokio::test]
async fn rollback_makes_the_previous_version_active_again_at_once() {
    let corridor = Corridor::start(Setup::default()).await;
    let versions = versions(&corridor);
    let first = started(&corridor).await;
    let second = install(&corridor, "second").await;
    versions
        .activate(&second.id, None, "test")
        .await
        .expect("activates");
    let again = versions.activate(&second.id, None, "test").await;
    assert!(
        matches!(again, Err(VersionError::AlreadyActive(_))),
        "{again:?}"
    );
    let active = versions
        .rollback("alipay-mpesa", "it misbehaves")
        .await
        .expect("rolls back");
    assert_eq!(active.id, first.id);
    assert_eq!(corridor.send("10.00", RECIPIENT).await.version, first.id);
    let nothing = versions.rollback("alipay-mpesa", "again").await;
    assert!(
        matches!(nothing, Err(VersionError::NothingToRollBack(_))),
        "{nothing:?}"
    );
    let history = versions.activations("alipay-mpesa").await.expect("history");
    let last = history.last().expect("an entry");
    assert_eq!(
        (
            last.action.as_str(),
            last.reason.as_str(),
            last.version.as_str()
        ),
        ("rollback", "it misbehaves", second.id.as_str())
    );
}

#[tokio::test]
async fn a_migrated_transfer_runs_its_next_steps_on_the_new_version() {
    let corridor = Corridor::start(Setup::default()).await;
    let first = started(&corridor).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let second = install(&corridor, "second").await;
    let migrated = versions(&corridor)
        .migrate(MigrateTarget::Transfer(transfer.id.clone()), &second.id)
        .await
        .expect("migrates");
    assert_eq!(migrated.moved, vec![transfer.id.clone()]);
    let done = paid_to_completion(&corridor, &transfer).await;
    assert_eq!(done.version, second.id);
    let moved_at = done
        .events
        .iter()
        .position(|event| event.detail.contains("migrated from connector version"))
        .expect("a migration entry");
    assert!(
        done.events[..moved_at]
            .iter()
            .all(|event| event.version == first.id)
    );
    assert!(
        done.events[moved_at..]
            .iter()
            .all(|event| event.version == second.id),
        "{:#?}",
        done.events
    );
    let finished = versions(&corridor)
        .migrate(MigrateTarget::Transfer(transfer.id.clone()), &first.id)
        .await;
    assert!(
        matches!(finished, Err(VersionError::TransferFinished(_))),
        "{finished:?}"
    );
    let unknown = versions(&corridor)
        .migrate(MigrateTarget::Transfer("tr_none".into()), &first.id)
        .await;
    assert!(
        matches!(unknown, Err(VersionError::TransferNotFound(_))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn retire_refuses_a_version_in_use_or_running_transfers() {
    let corridor = Corridor::start(Setup::default()).await;
    let versions = versions(&corridor);
    let first = started(&corridor).await;
    let pending = corridor.send("10.00", RECIPIENT).await;
    let active = versions.retire(&first.id, "test").await;
    assert!(
        matches!(
            active,
            Err(VersionError::InUse {
                role: Role::Active,
                ..
            })
        ),
        "{active:?}"
    );
    let second = install(&corridor, "second").await;
    versions
        .activate(&second.id, None, "test")
        .await
        .expect("activates");
    let pinned = versions.retire(&first.id, "test").await;
    assert!(
        matches!(pinned, Err(VersionError::Pinned { count: 1, .. })),
        "{pinned:?}"
    );
    versions
        .migrate(MigrateTarget::Version(first.id.clone()), &second.id)
        .await
        .expect("migrates");
    versions
        .retire(&first.id, "drained")
        .await
        .expect("retires");
    assert_eq!(
        versions.info(&first.id).await.expect("kept").role,
        Role::Retired
    );
    let gone = versions.activate(&first.id, None, "test").await;
    assert!(matches!(gone, Err(VersionError::Retired(_))), "{gone:?}");
    let unknown = versions.retire("0000", "test").await;
    assert!(
        matches!(unknown, Err(VersionError::UnknownVersion(_))),
        "{unknown:?}"
    );
    paid_to_completion(&corridor, &pending).await;
}

#[tokio::test]
async fn a_canary_takes_its_share_of_new_transfers_by_transfer_id() {
    let corridor = Corridor::start(Setup::default()).await;
    let versions = versions(&corridor);
    let first = started(&corridor).await;
    let second = install(&corridor, "second").await;
    for refused in [0, 100] {
        let outcome = versions.activate(&second.id, Some(refused), "test").await;
        assert!(
            matches!(outcome, Err(VersionError::CanaryPercent(_))),
            "{outcome:?}"
        );
    }
    let canary = versions
        .activate(&second.id, Some(50), "test")
        .await
        .expect("canary");
    assert_eq!(canary.role, Role::Canary { percent: 50 });
    let mut on_canary = 0;
    for _ in 0..24 {
        let transfer = corridor.send("10.00", RECIPIENT).await;
        let expected = if takes_canary(&transfer.id, 50) {
            &second.id
        } else {
            &first.id
        };
        assert_eq!(&transfer.version, expected);
        on_canary += usize::from(transfer.version == second.id);
    }
    assert!(
        (1..24).contains(&on_canary),
        "both versions take transfers: {on_canary} of 24"
    );
    let promoted = versions
        .activate(&second.id, None, "it is good")
        .await
        .expect("promotes");
    assert_eq!(promoted.role, Role::Active);
    assert_eq!(
        versions.info(&first.id).await.expect("first").role,
        Role::Previous
    );
}

/// A port nothing listens on.
async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("address").port()
}

#[tokio::test]
async fn a_failing_canary_is_rolled_back_by_the_host_and_its_transfers_finish_after_migration() {
    let mut setup = Setup::default();
    setup.engine.canary = CanaryConfig {
        failure_percent: 20,
        window: Duration::from_secs(60),
        min_calls: 6,
    };
    let corridor = Corridor::start(setup).await;
    let versions = versions(&corridor);
    let first = started(&corridor).await;
    let dead = format!("http://127.0.0.1:{}", dead_port().await);
    let broken = versions
        .install(
            build("broken"),
            corridor.policy().with_setting("mpesa_base_url", &dead),
        )
        .await
        .expect("installs: nothing checks the endpoint before it is used");
    versions
        .activate(&broken.id, Some(99), "try it")
        .await
        .expect("canary");
    let mut on_canary = Vec::new();
    while on_canary.len() < 3 {
        let transfer = corridor.send("10.00", RECIPIENT).await;
        if transfer.version == broken.id {
            assert_eq!(corridor.pay(&transfer).await, "9000");
            on_canary.push(transfer);
        }
    }
    let deadline = tokio::time::Instant::now() + corridor_tests::PATIENCE;
    while versions.info(&broken.id).await.expect("info").role != Role::Standby {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the canary was never rolled back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let history = versions.activations("alipay-mpesa").await.expect("history");
    let last = history.last().expect("an entry");
    assert_eq!(last.action, "automatic-rollback");
    assert!(
        last.reason
            .contains("connector calls failed or were refused"),
        "{}",
        last.reason
    );
    assert_eq!(
        corridor.send("10.00", RECIPIENT).await.version,
        first.id,
        "new work is off the canary"
    );
    versions
        .migrate(MigrateTarget::Version(broken.id.clone()), &first.id)
        .await
        .expect("migrates");
    for transfer in &on_canary {
        corridor
            .wait_for_state(&transfer.id, TransferState::Completed)
            .await;
    }
    assert_eq!(
        corridor.b2c_requests(),
        on_canary.len(),
        "one B2C each, all from the good version"
    );
}

/// How many transfers the hot swap runs, and at once.
const UNDER_LOAD: usize = 300;
const AT_ONCE: usize = 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hot_swap_under_load_fails_duplicates_and_strands_nothing() {
    let mut setup = Setup::default();
    // One test client creates every transfer: lift the per-client limit.
    setup.api.creation_rate = RateLimit {
        replenish_every: Duration::from_micros(100),
        burst: NonZeroU32::new(1_000).expect("not zero"),
    };
    let corridor = Arc::new(Corridor::start(setup).await);
    let versions = versions(&corridor);
    let first = started(&corridor).await;
    let second = install(&corridor, "second").await;
    let third = install(&corridor, "third").await;
    let created = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(run_load(corridor.clone(), created.clone()));
    let at = |count: usize| {
        let created = created.clone();
        async move {
            let deadline = tokio::time::Instant::now() + corridor_tests::PATIENCE;
            while created.load(Ordering::SeqCst) < count {
                assert!(tokio::time::Instant::now() < deadline, "the load stalled");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    at(UNDER_LOAD / 5).await;
    versions
        .activate(&second.id, None, "swap")
        .await
        .expect("activates");
    at(2 * UNDER_LOAD / 5).await;
    versions
        .activate(&third.id, Some(30), "canary")
        .await
        .expect("canary");
    at(3 * UNDER_LOAD / 5).await;
    versions
        .rollback("alipay-mpesa", "end the canary")
        .await
        .expect("ends the canary");
    versions
        .migrate(MigrateTarget::Version(third.id.clone()), &second.id)
        .await
        .expect("migrates");
    at(4 * UNDER_LOAD / 5).await;
    versions
        .rollback("alipay-mpesa", "back to the first")
        .await
        .expect("rolls back");
    versions
        .migrate(MigrateTarget::Version(second.id.clone()), &first.id)
        .await
        .expect("migrates");
    let ids = load.await.expect("the load ran");
    for id in &ids {
        let done = corridor.wait_for_state(id, TransferState::Completed).await;
        assert!(done.events.iter().all(|event| !event.version.is_empty()));
    }
    assert_eq!(ids.len(), UNDER_LOAD);
    assert_eq!(
        corridor.b2c_requests(),
        UNDER_LOAD,
        "exactly one B2C per transfer"
    );
    let ran: std::collections::BTreeSet<String> = futures_versions(&corridor, &ids).await;
    assert!(
        ran.contains(&third.id),
        "the canary took transfers: {ran:?}"
    );
}

/// Every version that ran a step of `ids`.
async fn futures_versions(
    corridor: &Corridor,
    ids: &[String],
) -> std::collections::BTreeSet<String> {
    let mut ran = std::collections::BTreeSet::new();
    for id in ids {
        let transfer = corridor.client.get(id).await.expect("the transfer");
        ran.extend(transfer.events.into_iter().map(|event| event.version));
    }
    ran
}

/// Sends and pays `UNDER_LOAD` transfers, `AT_ONCE` at a time, counting
/// each created; returns their ids.
async fn run_load(corridor: Arc<Corridor>, created: Arc<AtomicUsize>) -> Vec<String> {
    let slots = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..UNDER_LOAD {
        let permit = slots.clone().acquire_owned().await.expect("open");
        let (corridor, created) = (corridor.clone(), created.clone());
        running.spawn(async move {
            let transfer = corridor.send("10.00", RECIPIENT).await;
            created.fetch_add(1, Ordering::SeqCst);
            assert_eq!(corridor.pay(&transfer).await, "9000");
            drop(permit);
            transfer.id
        });
    }
    running.join_all().await
}
