//! The secrets in callback paths: one per transfer and per route.
//!
//! Each transfer has one random 128-bit root (`callback_token`, never shown to
//! anyone). Each route's secret is `HMAC-SHA256(root, route)`, cut to 128 bits.
//! Knowing one route's secret — the payer sees the pay-in's `notify_url` inside
//! the payment URL — tells nothing of another's (HMAC is a pseudo-random
//! function), so only the pay-out provider, which alone is given the pay-out
//! routes, can reach them. Secrets are derived, not stored, so an old
//! transfer's routes keep working and the store holds one value per transfer.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Hex characters of a route secret: 128 bits.
const SECRET_HEX_CHARS: usize = 32;

/// The secret of `route` for the transfer whose root is `root`.
pub fn route_secret(root: &str, route: &str) -> String {
    assert!(!root.is_empty(), "a transfer without a callback root");
    let mut mac = Hmac::<Sha256>::new_from_slice(root.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(route.as_bytes());
    let mut secret = hex::encode(mac.finalize().into_bytes());
    secret.truncate(SECRET_HEX_CHARS);
    secret
}

/// Compares without stopping at the first difference, so the time taken
/// tells an attacker nothing about how much of a guess was right.
pub fn constant_time_eq(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_has_its_own_secret_and_none_is_the_root() {
        let root = "0123456789abcdef0123456789abcdef";
        let pay_in = route_secret(root, "pay-in");
        let pay_out = route_secret(root, "pay-out");
        assert_ne!(pay_in, pay_out);
        assert_ne!(pay_in, root);
        assert_eq!(pay_in.len(), SECRET_HEX_CHARS);
        assert_eq!(pay_in, route_secret(root, "pay-in"), "derived, so stable");
        assert_ne!(pay_in, route_secret("another root", "pay-in"));
    }

    #[test]
    fn comparison_needs_every_character() {
        assert!(constant_time_eq("abcd", "abcd"));
        assert!(!constant_time_eq("abcd", "abce"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
