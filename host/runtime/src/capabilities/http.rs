//! The `http` import: requests executed by the host under the policy.
//!
//! Deny by default. The allow-list is checked at exactly one point,
//! [`Egress::authorize`], before any connection is attempted; a denial is a
//! value for the guest, never a trap, and names the policy line to add.

use std::time::Duration;

use super::InvocationState;
use crate::policy::{HostPattern, HttpPolicy, Policy};
use crate::redact::Scrubber;
use crate::runtime::bindings::corridor::connector::http::{
    Host, HttpError, Method, Request, Response,
};

/// Headers the host sets itself; a guest's values for them are ignored.
const HOST_OWNED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// One connector's outbound HTTP: its allow-list and a pooled client.
pub(crate) struct Egress {
    policy: HttpPolicy,
    policy_file: String,
    client: reqwest::Client,
}

impl Egress {
    pub fn new(policy: &Policy) -> Egress {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.http.connect_timeout)
            .timeout(policy.http.total_timeout)
            // A redirect is returned to the guest; following it here would skip
            // the allow-list check for the new destination.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            // Building fails only when no TLS provider is installed, which
            // `crate::init_tls` does at start-up.
            .unwrap_or_else(|error| panic!("the HTTP client cannot be built: {error}"));
        Egress {
            policy: policy.http.clone(),
            policy_file: policy.source.display().to_string(),
            client,
        }
    }

    /// Parses the URL and checks it against the allow-list. The only place a
    /// destination is authorised.
    pub fn authorize(&self, url: &str) -> Result<url::Url, HttpError> {
        let parsed = url::Url::parse(url)
            .map_err(|error| HttpError::InvalidRequest(format!("bad URL {url:?}: {error}")))?;
        let scheme = parsed.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(HttpError::InvalidRequest(format!(
                "scheme {scheme:?} is not http or https"
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(HttpError::InvalidRequest(
                "credentials in the URL are not allowed".into(),
            ));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| HttpError::InvalidRequest(format!("URL {url:?} has no host")))?
            .to_ascii_lowercase();
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| HttpError::InvalidRequest(format!("URL {url:?} has no port")))?;
        if self
            .policy
            .allow
            .iter()
            .any(|pattern: &HostPattern| pattern.allows(scheme, &host, port))
        {
            Ok(parsed)
        } else {
            Err(HttpError::Denied(format!(
                "{scheme}://{host}:{port} is not allowed by {}; to allow it, add \"{scheme}://{host}:{port}\" to [http] allow",
                self.policy_file
            )))
        }
    }

    /// Sends a request that [`Egress::authorize`] allowed.
    pub async fn send(&self, url: url::Url, request: Request) -> Result<Response, HttpError> {
        if request.body.len() as u64 > self.policy.max_request_bytes {
            return Err(HttpError::RequestTooLarge(self.policy.max_request_bytes));
        }
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
            Method::Head => reqwest::Method::HEAD,
        };
        let timeout = request.timeout_ms.map_or(self.policy.total_timeout, |ms| {
            Duration::from_millis(ms.into()).min(self.policy.total_timeout)
        });
        let mut builder = self.client.request(method, url).timeout(timeout);
        for (name, value) in &request.headers {
            if HOST_OWNED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut response = builder
            .body(request.body)
            .send()
            .await
            .map_err(map_send_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.policy.max_response_bytes;
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(HttpError::ResponseTooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(map_send_error)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(HttpError::ResponseTooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// Classifies a client error by whether the request can have reached the server.
fn map_send_error(error: reqwest::Error) -> HttpError {
    if error.is_connect() {
        HttpError::ConnectFailed(error.to_string())
    } else if error.is_timeout() {
        HttpError::Timeout
    } else if error.is_builder() {
        HttpError::InvalidRequest(error.to_string())
    } else {
        HttpError::Transport(error.to_string())
    }
}

/// The error with every message scrubbed of the connector's secrets: messages
/// quote the guest's URL (a denial, a bad URL, a client error), and a guest may
/// put a secret in one, hoping the host logs it or returns it in an error.
fn scrubbed(error: HttpError, scrubber: &Scrubber) -> HttpError {
    match error {
        HttpError::Denied(message) => HttpError::Denied(scrubber.scrub(&message)),
        HttpError::InvalidRequest(message) => HttpError::InvalidRequest(scrubber.scrub(&message)),
        HttpError::ConnectFailed(message) => HttpError::ConnectFailed(scrubber.scrub(&message)),
        HttpError::Transport(message) => HttpError::Transport(scrubber.scrub(&message)),
        HttpError::Timeout => HttpError::Timeout,
        HttpError::RequestTooLarge(bytes) => HttpError::RequestTooLarge(bytes),
        HttpError::ResponseTooLarge(bytes) => HttpError::ResponseTooLarge(bytes),
    }
}

/// An error's short name, for the egress metric.
fn error_label(error: &HttpError) -> &'static str {
    match error {
        HttpError::Denied(_) => "denied",
        HttpError::InvalidRequest(_) => "invalid-request",
        HttpError::RequestTooLarge(_) => "request-too-large",
        HttpError::ConnectFailed(_) => "connect-failed",
        HttpError::Timeout => "timeout",
        HttpError::ResponseTooLarge(_) => "response-too-large",
        HttpError::Transport(_) => "transport",
    }
}

impl Host for InvocationState {
    async fn send(&mut self, request: Request) -> Result<Response, HttpError> {
        let grants = self.grants.clone();
        let url = match grants.egress.authorize(&request.url) {
            Ok(url) => url,
            Err(error) => {
                crate::runtime::measure::egress(
                    grants.connector_id(),
                    "refused".into(),
                    "denied".into(),
                );
                let error = scrubbed(error, &grants.scrubber);
                if let HttpError::Denied(message) = &error {
                    tracing::warn!(
                        connector = grants.connector_id(),
                        call = self.call,
                        "egress denied: {message}"
                    );
                    self.denials.push(message.clone());
                }
                return Err(error);
            }
        };
        let destination = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let result = grants.egress.send(url, request).await;
        let status = match &result {
            Ok(response) => response.status.to_string(),
            Err(error) => error_label(error).to_string(),
        };
        crate::runtime::measure::egress(grants.connector_id(), destination, status);
        result.map_err(|error| scrubbed(error, &grants.scrubber))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn egress(allow: &str) -> Egress {
        crate::init_tls();
        let text = format!("id = \"demo\"\n[http]\nallow = [{allow}]\n");
        let policy =
            Policy::parse(Path::new("policies/demo.toml"), &text, &|_| None).expect("valid policy");
        Egress::new(&policy)
    }

    #[test]
    fn only_listed_destinations_are_authorised() {
        let egress = egress("\"http://127.0.0.1:8080\"");
        assert!(egress.authorize("http://127.0.0.1:8080/x?y=1").is_ok());
        for denied in [
            "http://127.0.0.1:8081/",
            "https://127.0.0.1:8080/",
            "http://localhost:8080/",
        ] {
            match egress.authorize(denied) {
                Err(HttpError::Denied(message)) => {
                    assert!(message.contains("[http] allow"), "{message}")
                }
                other => panic!("{denied} should be denied, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_urls_and_credentials_are_invalid_not_denied() {
        let egress = egress("\"http://127.0.0.1:8080\"");
        assert!(matches!(
            egress.authorize("not a url"),
            Err(HttpError::InvalidRequest(_))
        ));
        assert!(matches!(
            egress.authorize("ftp://127.0.0.1:8080/"),
            Err(HttpError::InvalidRequest(_))
        ));
        assert!(matches!(
            egress.authorize("http://u:p@127.0.0.1:8080/"),
            Err(HttpError::InvalidRequest(_))
        ));
    }
}
