//! A bearer token from a provider's token endpoint, stamped with when it
//! lapses: what Daraja's OAuth and MoMo's `/token/` both answer, and what a
//! connector caches in `storage` between calls ([`TokenCache`]: one refresh
//! at a time across instances).

use serde::{Deserialize, Serialize};

use crate::bindings::corridor::connector::types::Failure;
use crate::bindings::corridor::connector::{clock, storage};
use crate::failure::retryable;
use crate::imports::storage_failure;

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

/// How long one instance may hold a token refresh.
const TOKEN_LOCK_MS: u64 = 10_000;
/// How long an instance waits for another's refresh, in polls of 20 ms.
const TOKEN_WAIT_POLLS: u32 = 500;

/// A provider's bearer token, cached under `key`.
pub struct TokenCache<'a> {
    /// The storage key of the token; its refresh lock is `<key>-lock`.
    pub key: &'a str,
    /// How long before it lapses a token is renewed.
    pub margin_ms: u64,
}

impl TokenCache<'_> {
    fn cached(&self, now_ms: u64, rejected: Option<&str>) -> Option<Token> {
        let bytes = storage::get(self.key).ok().flatten()?;
        let token: Token = serde_json::from_slice(&bytes).ok()?;
        (token.is_fresh(now_ms, self.margin_ms) && Some(token.access_token.as_str()) != rejected)
            .then_some(token)
    }

    /// A token the provider should accept. A new token may invalidate the
    /// last (Daraja's does), so exactly one instance refreshes (a
    /// compare-and-swap lock in storage) and the others wait for it.
    /// `rejected` is a token the provider just refused.
    pub fn get(
        &self,
        rejected: Option<&str>,
        fetch: impl Fn() -> Result<Token, Failure>,
    ) -> Result<String, Failure> {
        let lock_key = format!("{}-lock", self.key);
        for _ in 0..TOKEN_WAIT_POLLS {
            let now_ms = clock::now_ms();
            if let Some(token) = self.cached(now_ms, rejected) {
                return Ok(token.access_token);
            }
            let lock = storage::get(&lock_key).map_err(storage_failure)?;
            let lock_expired = lock
                .as_deref()
                .and_then(|bytes| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok())
                .is_none_or(|until_ms| until_ms <= now_ms);
            let mine = (now_ms + TOKEN_LOCK_MS).to_string().into_bytes();
            if lock_expired
                && storage::compare_and_swap(&lock_key, lock.as_deref(), Some(&mine))
                    .map_err(storage_failure)?
            {
                let refreshed = self.refresh(rejected, &fetch);
                let _ = storage::compare_and_swap(&lock_key, Some(&mine), None);
                return refreshed;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(retryable(
            "token-busy",
            "another instance is refreshing the token",
        ))
    }

    fn refresh(
        &self,
        rejected: Option<&str>,
        fetch: &impl Fn() -> Result<Token, Failure>,
    ) -> Result<String, Failure> {
        if let Some(token) = self.cached(clock::now_ms(), rejected) {
            return Ok(token.access_token);
        }
        let token = fetch()?;
        let stored = serde_json::to_string(&token)
            .map_err(|error| retryable("storage", error.to_string()))?;
        storage::set(self.key, stored.as_bytes()).map_err(storage_failure)?;
        Ok(token.access_token)
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
