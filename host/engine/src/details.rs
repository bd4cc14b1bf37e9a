//! Provider fields for people (`details` in the WIT): what a leg shows under
//! `pay_in.details` and `pay_out.details`. The host never acts on one; it only
//! bounds them, so a connector cannot grow a stored transfer without limit.

use std::collections::BTreeMap;

/// The most details a leg keeps.
pub const MAX_PER_LEG: usize = 16;
/// The longest key, in characters of `a-z 0-9 _`.
pub const MAX_KEY_CHARS: usize = 40;
/// The longest value, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

/// A leg's details.
pub type Details = BTreeMap<String, String>;

/// Why one incoming detail was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// The key is empty, too long, or has a character outside `a-z 0-9 _`.
    BadKey(String),
    /// The value is longer than [`MAX_VALUE_CHARS`].
    LongValue(String),
    /// The leg holds [`MAX_PER_LEG`] details already.
    Full(String),
}

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.len())
        && key
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

/// Merges `incoming` into `details` in order: a later detail with the same
/// key replaces the earlier one; invalid ones, and new keys past the limit,
/// are dropped and returned (a dropped key is shortened, for a log line).
pub fn merge(details: &mut Details, incoming: &[(String, String)]) -> Vec<Dropped> {
    let mut dropped = Vec::new();
    for (key, value) in incoming {
        let shown: String = key.chars().take(MAX_KEY_CHARS).collect();
        if !valid_key(key) {
            dropped.push(Dropped::BadKey(shown));
        } else if value.chars().count() > MAX_VALUE_CHARS {
            dropped.push(Dropped::LongValue(shown));
        } else if details.len() >= MAX_PER_LEG && !details.contains_key(key) {
            dropped.push(Dropped::Full(shown));
        } else {
            details.insert(key.clone(), value.clone());
        }
    }
    dropped
}

/// [`merge`], logging what was dropped under the transfer and leg.
pub fn apply(transfer_id: &str, leg: &str, details: &mut Details, incoming: &[(String, String)]) {
    for dropped in merge(details, incoming) {
        tracing::warn!(transfer = %transfer_id, leg, ?dropped, "a connector's detail was dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn a_later_detail_replaces_an_earlier_one_with_the_same_key() {
        let mut details = Details::new();
        let dropped = merge(
            &mut details,
            &[
                detail("receipt_no", "1"),
                detail("order_no", "A"),
                detail("receipt_no", "2"),
            ],
        );
        assert!(dropped.is_empty());
        assert_eq!(details.get("receipt_no").map(String::as_str), Some("2"));
        assert_eq!(details.len(), 2);
    }

    #[test]
    fn bad_keys_and_long_values_are_dropped_and_said() {
        let mut details = Details::new();
        let long_key = "k".repeat(MAX_KEY_CHARS + 1);
        let dropped = merge(
            &mut details,
            &[
                detail("", "x"),
                detail("Receipt_No", "x"),
                detail("trade-no", "x"),
                detail(&long_key, "x"),
                detail("note", &"é".repeat(MAX_VALUE_CHARS + 1)),
                detail("fits", &"é".repeat(MAX_VALUE_CHARS)),
                detail(&"k".repeat(MAX_KEY_CHARS), ""),
            ],
        );
        assert_eq!(
            dropped,
            vec![
                Dropped::BadKey(String::new()),
                Dropped::BadKey("Receipt_No".into()),
                Dropped::BadKey("trade-no".into()),
                Dropped::BadKey("k".repeat(MAX_KEY_CHARS)),
                Dropped::LongValue("note".into()),
            ]
        );
        assert_eq!(details.len(), 2, "the valid ones are kept");
    }

    #[test]
    fn a_full_leg_takes_replacements_but_no_new_keys() {
        let mut details = Details::new();
        let many: Vec<_> = (0..MAX_PER_LEG)
            .map(|index| detail(&format!("key_{index}"), "v"))
            .collect();
        assert!(merge(&mut details, &many).is_empty());
        let dropped = merge(
            &mut details,
            &[detail("key_0", "new"), detail("one_more", "v")],
        );
        assert_eq!(dropped, vec![Dropped::Full("one_more".into())]);
        assert_eq!(details.len(), MAX_PER_LEG);
        assert_eq!(details.get("key_0").map(String::as_str), Some("new"));
    }
}
