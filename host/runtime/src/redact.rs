//! What the host's logs and errors may show.
//!
//! Personal data: a recipient's account is masked to its last three
//! characters, enough to tell two recipients apart in an incident and nothing
//! more. Secrets: every string a connector produces (log messages, stdout and
//! stderr, URLs in egress denials and HTTP errors, trap messages, failure
//! messages) passes through its [`Scrubber`] before a log or an error shows it.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The lines of a multi-line secret (a PEM key) shorter than this are not
/// scrubbed on their own: `-----END` or a base64 tail of a few characters would
/// redact innocent text, and a line this short reveals little of the key.
const MIN_SECRET_LINE_BYTES: usize = 16;

/// Replaces a connector's secret values wherever they appear in a text. Built
/// once per loaded connector from its policy; the one place guest text is
/// cleaned, so every path to a log or an error uses the same list.
///
/// Matching ignores ASCII case, because a URL parser lowercases a host, and
/// also looks for each secret percent-encoded, as it appears inside a URL.
pub struct Scrubber {
    matcher: Option<AhoCorasick>,
    longest_bytes: usize,
}

impl Scrubber {
    /// A scrubber for these secret values; empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut patterns: Vec<String> = Vec::new();
        for secret in secrets.into_iter().filter(|secret| !secret.is_empty()) {
            patterns.push(secret.to_string());
            let encoded = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            patterns.push(encoded);
            patterns.extend(
                secret
                    .lines()
                    .map(str::trim)
                    // PEM armour (`-----BEGIN …`) is the same in every key.
                    .filter(|line| {
                        line.len() >= MIN_SECRET_LINE_BYTES && !line.starts_with("-----")
                    })
                    .map(str::to_string),
            );
        }
        patterns.sort();
        patterns.dedup();
        let longest_bytes = patterns.iter().map(String::len).max().unwrap_or(0);
        let matcher = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                // Building fails only past the automaton's size limits, far
                // beyond a policy's handful of secrets.
                .unwrap_or_else(|error| panic!("cannot build the secret scrubber: {error}"))
        });
        Scrubber {
            matcher,
            longest_bytes,
        }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        match &self.matcher {
            Some(matcher) => matcher.replace_all(text, &vec![REDACTED; matcher.patterns_len()]),
            None => text.to_string(),
        }
    }

    /// The longest text a secret can occupy: a cut made this far past a cap
    /// cannot leave part of a secret before the cap.
    pub fn longest_secret_bytes(&self) -> usize {
        self.longest_bytes
    }
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Scrubber([redacted])")
    }
}

/// A recipient's account with all but its last 3 characters masked:
/// `"254708374149"` → `"*********149"`. Anything of 6 characters or fewer is
/// masked whole, so a short value never leaks either. The host knows no
/// account format, so it keeps only what tells two recipients apart.
pub fn account(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    if characters.len() <= 6 {
        return "*".repeat(characters.len());
    }
    let tail = characters.len() - 3;
    characters
        .iter()
        .enumerate()
        .map(|(index, character)| if index < tail { '*' } else { *character })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_keeps_only_its_last_three_characters() {
        assert_eq!(account("254708374149"), "*********149");
        assert_eq!(account("DE89370400"), "*******400");
        assert_eq!(account("12345"), "*****");
        assert_eq!(account(""), "");
    }

    #[test]
    fn a_secret_is_scrubbed_in_any_case_percent_encoded_and_line_by_line() {
        let pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX\n-----END KEY-----";
        let scrubber = Scrubber::new(["Hunter2-Secret", "a b&c", "", pem]);
        assert_eq!(
            scrubber.scrub("host hunter2-secret, HUNTER2-SECRET"),
            "host [redacted], [redacted]"
        );
        assert_eq!(scrubber.scrub("q=a+b%26c"), "q=[redacted]");
        assert_eq!(
            scrubber.scrub("line MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX end"),
            "line [redacted] end"
        );
        assert_eq!(scrubber.scrub("-----END KEY-----"), "-----END KEY-----");
        assert_eq!(
            Scrubber::new([""]).scrub("nothing to hide"),
            "nothing to hide"
        );
    }
}
