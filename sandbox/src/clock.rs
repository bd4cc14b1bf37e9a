//! Provider time formats. Daraja speaks East Africa Time (UTC+3), Alipay
//! GMT+8; neither sends a zone.

/// Civil date from days since the Unix epoch (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * month_index + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    })
    .unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats `ms` since the epoch at UTC+`offset_hours` in one of the providers'
/// patterns: `dd.MM.yyyy HH:mm:ss`, `yyyy-MM-dd HH:mm:ss` or `yyyyMMddHHmmss`.
pub fn local_time(ms: u64, offset_hours: i64, pattern: &str) -> String {
    let seconds = i64::try_from(ms / 1000).unwrap_or(0) + offset_hours * 3600;
    let (year, month, day) = civil(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    match pattern {
        "dd.MM.yyyy HH:mm:ss" => {
            format!("{day:02}.{month:02}.{year:04} {hour:02}:{minute:02}:{second:02}")
        }
        "yyyy-MM-dd HH:mm:ss" => {
            format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
        }
        "yyyyMMddHHmmss" => format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}"),
        other => unreachable!("no provider uses the time pattern {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_in_each_providers_zone_and_pattern() {
        // 2024-07-06 19:48:52 UTC.
        let ms = 1_720_295_332_000;
        assert_eq!(
            local_time(ms, 3, "dd.MM.yyyy HH:mm:ss"),
            "06.07.2024 22:48:52"
        );
        assert_eq!(local_time(ms, 3, "yyyyMMddHHmmss"), "20240706224852");
        assert_eq!(
            local_time(ms, 8, "yyyy-MM-dd HH:mm:ss"),
            "2024-07-07 03:48:52"
        );
    }
}
