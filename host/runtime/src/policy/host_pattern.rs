//! Egress destinations as the policy grants them: `scheme://host[:port]`,
//! parsed once at load and matched at the one point egress is checked.

use std::fmt;

/// One allowed destination: `scheme://host[:port]`.
///
/// `host` is a DNS name, an IPv4 address, a bracketed IPv6 address, or
/// `*.suffix` for any name below `suffix` (not `suffix` itself). `port` is a
/// number or `*`; left out, it is the scheme's default (80, 443).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lower case.
    pub host: HostMatch,
    /// The port.
    pub port: PortMatch,
}

/// How a [`HostPattern`] matches a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// This host exactly.
    Exact(String),
    /// Any host ending in `.suffix`.
    Subdomains(String),
}

/// How a [`HostPattern`] matches a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMatch {
    /// This port.
    Exact(u16),
    /// Any port.
    Any,
}

impl HostPattern {
    /// Parses `scheme://host[:port]`, saying what is wrong when it is malformed.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not of the form scheme://host[:port]"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "{text:?}: scheme must be http or https, not {scheme:?}"
            ));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{text:?}: only scheme://host[:port] is allowed, no path, query or user"
            ));
        }
        let (host_text, port_text) =
            split_host_port(rest).ok_or_else(|| format!("{text:?}: malformed host or port"))?;
        let port = match port_text {
            None => PortMatch::Exact(if scheme == "https" { 443 } else { 80 }),
            Some("*") => PortMatch::Any,
            Some(digits) => match digits.parse::<u16>() {
                Ok(port) if port > 0 => PortMatch::Exact(port),
                _ => {
                    return Err(format!(
                        "{text:?}: port {digits:?} is not a number from 1 to 65535 or *"
                    ));
                }
            },
        };
        let host_lower = host_text.to_ascii_lowercase();
        let host = if let Some(suffix) = host_lower.strip_prefix("*.") {
            check_dns_name(suffix).map_err(|problem| format!("{text:?}: {problem}"))?;
            HostMatch::Subdomains(suffix.to_string())
        } else if host_lower.starts_with('[') {
            let inner = host_lower.trim_start_matches('[').trim_end_matches(']');
            inner
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("{text:?}: {host_text:?} is not an IPv6 address"))?;
            HostMatch::Exact(host_lower.clone())
        } else {
            check_dns_name(&host_lower).map_err(|problem| format!("{text:?}: {problem}"))?;
            HostMatch::Exact(host_lower)
        };
        Ok(HostPattern {
            scheme: scheme.to_string(),
            host,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this pattern.
    /// `host` must be lower case, IPv6 in brackets, as [`url::Url`] gives it.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host_ok = match &self.host {
            HostMatch::Exact(exact) => exact == host,
            HostMatch::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        };
        let port_ok = match self.port {
            PortMatch::Exact(exact) => exact == port,
            PortMatch::Any => true,
        };
        self.scheme == scheme && host_ok && port_ok
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostMatch::Exact(host) => host.clone(),
            HostMatch::Subdomains(suffix) => format!("*.{suffix}"),
        };
        match self.port {
            PortMatch::Exact(port) => write!(formatter, "{}://{host}:{port}", self.scheme),
            PortMatch::Any => write!(formatter, "{}://{host}:*", self.scheme),
        }
    }
}

fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        let (host, after) = rest.split_at(close + 1);
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match rest.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((rest, None)),
    }
}

fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("host {name:?} must be 1 to 253 characters"));
    }
    if name.contains('*') {
        return Err(format!(
            "host {name:?}: a wildcard may only be a leading \"*.\""
        ));
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!("host {name:?} has an invalid label {label:?}"));
        }
    }
    Ok(())
}
