//! Wall-clock formatting the providers need: Alipay's GMT+8 timestamps. No
//! time-zone database: both offsets the corridor uses are fixed.

/// Formats `ms` since the Unix epoch at a fixed offset as `yyyy-MM-dd HH:mm:ss`.
pub fn format_local(ms: u64, offset_hours: i64) -> String {
    let seconds = i64::try_from(ms / 1000).unwrap_or(i64::MAX) + offset_hours * 3600;
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        assert_eq!(format_local(0, 8), "1970-01-01 08:00:00");
        // 2016-05-13 01:19:50 UTC, the notification captured in the notes.
        assert_eq!(format_local(1_463_102_390_000, 8), "2016-05-13 09:19:50");
        assert_eq!(format_local(951_782_400_000, 0), "2000-02-29 00:00:00");
    }
}
