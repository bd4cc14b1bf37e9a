//! Wall-clock formatting the providers need: Alipay's GMT+8 timestamps. No
//! time-zone database: every offset a corridor uses is fixed, so the offset
//! is a number of hours and the civil-date arithmetic is the `time` crate's.

use time::{OffsetDateTime, UtcOffset};

/// Formats `ms` since the Unix epoch at a fixed offset as `yyyy-MM-dd HH:mm:ss`.
/// `None` past the years 1–9999 or for an offset that is not one (over 25
/// hours): no provider accepts such a timestamp, so none is made up.
pub fn format_local(ms: u64, offset_hours: i8) -> Option<String> {
    let seconds = i64::try_from(ms / 1000).ok()?;
    let offset = UtcOffset::from_hms(offset_hours, 0, 0).ok()?;
    let local = OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .checked_to_offset(offset)?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        assert_eq!(format_local(0, 8).as_deref(), Some("1970-01-01 08:00:00"));
        // 2016-05-13 01:19:50 UTC, the notification captured in the notes.
        assert_eq!(
            format_local(1_463_102_390_000, 8).as_deref(),
            Some("2016-05-13 09:19:50")
        );
        assert_eq!(
            format_local(951_782_400_000, 0).as_deref(),
            Some("2000-02-29 00:00:00")
        );
    }

    #[test]
    fn an_offset_crosses_midnight_into_the_next_day_and_year() {
        // 2023-12-31 20:00:00 UTC is already 2024 in Beijing.
        assert_eq!(
            format_local(1_704_052_800_000, 8).as_deref(),
            Some("2024-01-01 04:00:00")
        );
        // A leap day at the offset: 2024-02-28 16:00:00 UTC.
        assert_eq!(
            format_local(1_709_136_000_000, 8).as_deref(),
            Some("2024-02-29 00:00:00")
        );
    }

    #[test]
    fn a_time_no_provider_could_accept_is_refused_rather_than_made_up() {
        assert_eq!(format_local(u64::MAX, 8), None);
        assert_eq!(format_local(0, 30), None);
    }
}
