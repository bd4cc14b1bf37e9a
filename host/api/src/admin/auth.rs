//! Who may use the admin API: bearer tokens with a role, from a file and the
//! environment.
//!
//! The file has one token a line, `role name token` (`#` starts a comment):
//!
//! ```text
//! # role    name   token
//! read      grafana 3q8Zr…
//! operate   alice   Vb71…
//! ```
//!
//! `CORRIDOR_ADMIN_TOKEN`, when set, is one more `operate` token named `env`.
//! `operate` implies `read`. Tokens are compared in constant time (their
//! SHA-256 digests, so the length of a token leaks nothing either).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// List and look.
    Read,
    /// Also change: retry, resolve, and everything else an operator does.
    Operate,
}

impl Role {
    fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "operate" => Some(Role::Operate),
            _ => None,
        }
    }
}

/// The caller a token names: in the request's extensions once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, for the audit log.
    pub name: String,
    /// Its role.
    pub role: Role,
}

struct Token {
    caller: Caller,
    digest: [u8; 32],
}

/// The admin tokens the host accepts.
#[derive(Clone, Default)]
pub struct AdminTokens(Arc<Vec<Token>>);

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|token| token.caller.name.as_str())
            .collect();
        write!(formatter, "AdminTokens({names:?})")
    }
}

/// A tokens file that cannot be used, and where.
#[derive(Debug, thiserror::Error)]
#[error("admin tokens, line {line}: {problem}")]
pub struct TokensError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl AdminTokens {
    /// No tokens: the admin API is off.
    pub fn none() -> AdminTokens {
        AdminTokens::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// From a tokens file's text, and `env_token` (`CORRIDOR_ADMIN_TOKEN`) as
    /// the `operate` token `env`.
    pub fn parse(text: &str, env_token: Option<&str>) -> Result<AdminTokens, TokensError> {
        let mut tokens = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let problem = |problem: &str| TokensError {
                line: index + 1,
                problem: problem.to_string(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [role, name, secret] = fields.as_slice() else {
                return Err(problem("expected `role name token`"));
            };
            let role = Role::parse(role).ok_or_else(|| problem("the role is read or operate"))?;
            if secret.len() < 16 {
                return Err(problem("a token has at least 16 characters"));
            }
            tokens.push(Token {
                caller: Caller {
                    name: name.to_string(),
                    role,
                },
                digest: digest(secret),
            });
        }
        if let Some(secret) = env_token.filter(|secret| !secret.is_empty()) {
            tokens.push(Token {
                caller: Caller {
                    name: "env".into(),
                    role: Role::Operate,
                },
                digest: digest(secret),
            });
        }
        Ok(AdminTokens(Arc::new(tokens)))
    }

    /// The caller `secret` names. Every token is compared, so the time taken
    /// does not tell which one matched, or whether one did.
    pub fn caller(&self, secret: &str) -> Option<Caller> {
        let presented = digest(secret);
        let mut found = None;
        for token in self.0.iter() {
            if bool::from(token.digest.ct_eq(&presented)) {
                found = Some(token.caller.clone());
            }
        }
        found
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError {
        status: 401,
        code: "unauthorized",
        message: message.into(),
    }
    .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"corridor-admin\""),
    );
    response
}

/// Lets a request through when its bearer token has at least `needed`'s role.
pub async fn require(
    State((tokens, needed)): State<(AdminTokens, Role)>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return unauthorized("send an admin token: Authorization: Bearer <token>");
    };
    let Some(caller) = tokens.caller(presented) else {
        return unauthorized("the host knows no such admin token");
    };
    if caller.role < needed {
        return ApiError {
            status: 403,
            code: "forbidden",
            message: format!("token {:?} may read, not operate", caller.name),
        }
        .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}
