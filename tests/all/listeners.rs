//! Listeners under hostile clients: slow heads, slow bodies, idle connections
//! and more connections than the cap, against the host's API and a sandbox
//! service. Raw sockets on loopback, so a test controls every byte and sees
//! exactly when the server closes.

use std::net::SocketAddr;
use std::time::Duration;

use corridor_host::{Host, HostConfig, ServeLimits};
use corridor_sandbox::{ListenerConfig, Profile, Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Small limits, so that the tests run in a second or two; each test
/// lengthens the ones it must not trip.
const HEADER: Duration = Duration::from_millis(200);
const IDLE: Duration = Duration::from_millis(300);
const BODY: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(30);
const CAP: usize = 20;
/// How long a test waits for something that must happen.
const EVENTUALLY: Duration = Duration::from_secs(10);
/// Between two bytes of a trickle.
const TRICKLE: Duration = Duration::from_millis(20);

fn limits(header: Duration, idle: Duration, body: Duration) -> ServeLimits {
    ServeLimits {
        header_read_timeout: header,
        idle_timeout: idle,
        body_read_timeout: body,
        max_connections: CAP,
    }
}

/// A host with no connector, whose API listens under `limits`.
async fn host(limits: ServeLimits) -> (Host, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = HostConfig::new(data.path(), "http://127.0.0.1:1");
    config.runtime = corridor_tests::runtime_config();
    config.listener = limits;
    let host = Host::start(config, Vec::new())
        .await
        .expect("the host starts");
    (host, data)
}

async fn connect(address: SocketAddr) -> TcpStream {
    TcpStream::connect(address).await.expect("connected")
}

async fn send_get(stream: &mut TcpStream, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
}

/// The status of the next response on `stream`, read whole (head and
/// `Content-Length` body), or `None` if none came within `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<u16> {
    tokio::time::timeout(within, read_whole_response(stream))
        .await
        .ok()
        .flatten()
}

async fn read_whole_response(stream: &mut TcpStream) -> Option<u16> {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        received.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while received.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        received.extend_from_slice(&chunk[..read]);
    }
    Some(status)
}

/// A GET on a fresh connection, kept open for more.
async fn answered_connection(address: SocketAddr, path: &str) -> TcpStream {
    let mut stream = connect(address).await;
    send_get(&mut stream, path).await;
    assert_eq!(read_response(&mut stream, EVENTUALLY).await, Some(200));
    stream
}

/// Whether the server closed `stream` (end of file or reset) within
/// `within`; anything it sent first is read and dropped.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0_u8; 1024];
    let closed = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, closed).await.is_ok()
}

/// Sends `head` and then an endless run of `a`, a byte at a time, until the
/// server closes the connection; whether it did within [`EVENTUALLY`].
/// `meanwhile` runs once the trickle has begun.
async fn trickle_until_closed(
    stream: &mut TcpStream,
    head: &[u8],
    meanwhile: impl Future<Output = ()>,
) -> bool {
    let ticks = EVENTUALLY.as_millis() / TRICKLE.as_millis();
    let mut bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
    let mut meanwhile = Some(meanwhile);
    for _ in 0..ticks {
        let byte = bytes.next().unwrap_or(b'a');
        if stream.write_all(&[byte]).await.is_err() {
            return true;
        }
        if let Some(meanwhile) = meanwhile.take() {
            meanwhile.await;
        }
        if closed_within(stream, TRICKLE).await {
            return true;
        }
    }
    false
}

async fn assert_health_answers(url: &str) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(EVENTUALLY)
        .build()
        .expect("client");
    let response = client
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("/health answers");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_slowloris_head_is_closed_by_the_header_read_timeout_while_health_answers() {
    let (host, _data) = host(limits(HEADER, LONG, LONG)).await;
    let mut slow = connect(host.address).await;
    let closed = trickle_until_closed(
        &mut slow,
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
        assert_health_answers(&host.url),
    )
    .await;
    assert!(
        closed,
        "the trickled head was still open after {EVENTUALLY:?}"
    );
    assert_health_answers(&host.url).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (host, _data) = host(limits(LONG, IDLE, LONG)).await;
    let mut idle = answered_connection(host.address, "/health").await;
    assert!(closed_within(&mut idle, EVENTUALLY).await);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_read_timeout() {
    let (host, _data) = host(limits(HEADER, LONG, LONG)).await;
    let mut kept = answered_connection(host.address, "/health").await;
    // Five header timeouts with nothing sent: waiting is not reading a head.
    tokio::time::sleep(HEADER * 5).await;
    send_get(&mut kept, "/health").await;
    assert_eq!(read_response(&mut kept, EVENTUALLY).await, Some(200));
}

#[tokio::test]
async fn a_body_trickled_past_the_body_read_timeout_is_refused_and_its_connection_closed() {
    let (host, _data) = host(limits(LONG, LONG, BODY)).await;
    let mut slow = connect(host.address).await;
    let head = b"POST /v1/quotes HTTP/1.1\r\nHost: localhost\r\n\
        Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
    let closed = trickle_until_closed(&mut slow, head, async {}).await;
    assert!(
        closed,
        "the trickled body was still open after {EVENTUALLY:?}"
    );
    assert_health_answers(&host.url).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_held_ones_close() {
    let (host, _data) = host(limits(LONG, LONG, LONG)).await;
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(answered_connection(host.address, "/health").await);
    }
    // The kernel completes these handshakes, but the host accepts none of
    // them while it holds its cap: their requests go unanswered.
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(host.address).await;
        send_get(&mut stream, "/health").await;
        waiting.push(stream);
    }
    for stream in &mut waiting {
        assert_eq!(
            read_response(stream, Duration::from_millis(300)).await,
            None
        );
    }
    // The held connections are alive, so it is the cap that holds them back.
    send_get(&mut held[0], "/health").await;
    assert_eq!(read_response(&mut held[0], EVENTUALLY).await, Some(200));
    drop(held);
    for stream in &mut waiting {
        assert_eq!(read_response(stream, EVENTUALLY).await, Some(200));
    }
    assert_health_answers(&host.url).await;
}

#[tokio::test]
async fn connections_at_the_cap_are_closed_when_idle_and_waiting_ones_are_then_served() {
    let (host, _data) = host(limits(LONG, IDLE, LONG)).await;
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut stream = connect(host.address).await;
        send_get(&mut stream, "/health").await;
        held.push(stream);
    }
    let mut waiting = connect(host.address).await;
    send_get(&mut waiting, "/health").await;
    assert_eq!(read_response(&mut waiting, EVENTUALLY).await, Some(200));
    for stream in &mut held {
        assert_eq!(read_response(stream, EVENTUALLY).await, Some(200));
        assert!(closed_within(stream, EVENTUALLY).await);
    }
    assert_health_answers(&host.url).await;
}

#[tokio::test]
async fn killing_the_host_closes_every_connection_it_accepted() {
    let (host, _data) = host(ServeLimits::default()).await;
    let address = host.address;
    let mut idle = answered_connection(address, "/health").await;
    let mut slow = connect(address).await;
    slow.write_all(b"GET /health HTTP/1.1\r\n")
        .await
        .expect("part of a head sent");
    host.kill().await;
    assert!(closed_within(&mut idle, EVENTUALLY).await);
    assert!(closed_within(&mut slow, EVENTUALLY).await);
}

#[tokio::test]
async fn a_sandbox_service_closes_slow_and_idle_connections_too() {
    let config = SandboxConfig {
        profile: Profile::Zero,
        listener: ListenerConfig::from(limits(HEADER, IDLE, BODY)),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let address: SocketAddr = sandbox
        .fx_url
        .trim_start_matches("http://")
        .parse()
        .expect("the FX service's address");
    let rates = "/v1/rates?base=USD";
    let mut slow = connect(address).await;
    let closed = trickle_until_closed(
        &mut slow,
        b"GET /v1/rates?base=USD HTTP/1.1\r\nX-Slow: ",
        async {},
    )
    .await;
    assert!(
        closed,
        "the trickled head was still open after {EVENTUALLY:?}"
    );
    let mut idle = answered_connection(address, rates).await;
    assert!(closed_within(&mut idle, EVENTUALLY).await);
    // And it still serves.
    answered_connection(address, rates).await;
}
