//! What the host's logs may show of personal data: a recipient's MSISDN is
//! masked to its country prefix and last two digits, enough to tell two
//! recipients apart in an incident and nothing more.

/// `"254708374149"` → `"2547******49"`. Anything of 6 characters or fewer is
/// masked whole, so a short or malformed value never leaks either.
pub fn msisdn(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    if characters.len() <= 6 {
        return "*".repeat(characters.len());
    }
    let (head, tail) = (4, 2);
    characters
        .iter()
        .enumerate()
        .map(|(index, character)| {
            if index < head || index >= characters.len() - tail {
                *character
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_msisdn_keeps_its_prefix_and_last_two_digits() {
        assert_eq!(msisdn("254708374149"), "2547******49");
        assert_eq!(msisdn("0708374149"), "0708****49");
        assert_eq!(msisdn("12345"), "*****");
        assert_eq!(msisdn(""), "");
    }
}
