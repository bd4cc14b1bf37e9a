//! A bearer token from a provider's token endpoint, stamped with when it
//! lapses: what Daraja's OAuth and MoMo's `/token/` both answer, and what a
//! connector caches in `storage` between calls.

use serde::{Deserialize, Serialize};

use crate::bindings::corridor::connector::types::Failure;
use crate::failure::retryable;

/// A cached access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// When the provider stops accepting it, ms since the Unix epoch.
    pub expires_at_ms: u64,
}

impl Token {
    /// The token of an answer received at `now_ms`: its `access_token` and
    /// `expires_in` (seconds, as text). A malformed answer is retryable under
    /// `code`: asking for a token changes nothing at the provider.
    pub fn issued(
        access_token: String,
        expires_in: &str,
        now_ms: u64,
        code: &str,
    ) -> Result<Token, Failure> {
        let seconds: u64 = expires_in
            .trim()
            .parse()
            .map_err(|_| retryable(code, format!("expires_in {expires_in:?} is not a number")))?;
        if access_token.is_empty() {
            return Err(retryable(code, "the access token is empty"));
        }
        Ok(Token {
            access_token,
            expires_at_ms: now_ms.saturating_add(seconds.saturating_mul(1000)),
        })
    }

    /// Whether it is still good for a request sent at `now_ms`, renewing it
    /// `margin_ms` before it lapses.
    pub fn is_fresh(&self, now_ms: u64, margin_ms: u64) -> bool {
        now_ms.saturating_add(margin_ms) < self.expires_at_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lapses_after_expires_in_and_is_renewed_a_margin_early() {
        let token = Token::issued("t".into(), " 3599 ", 1_000, "oauth").expect("a token");
        assert_eq!(token.expires_at_ms, 3_600_000);
        assert!(token.is_fresh(3_540_000 - 1, 60_000));
        assert!(!token.is_fresh(3_540_000, 60_000));
        assert!(Token::issued("t".into(), "soon", 0, "oauth").is_err());
        assert!(Token::issued(String::new(), "3599", 0, "oauth").is_err());
    }
}
