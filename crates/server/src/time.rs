//! Days and instants in a store's timezone.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;

pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("unknown timezone '{name}' (use an IANA name such as Europe/Berlin)"))
}

/// The instant a local day starts (local midnight, or the first instant after a gap).
pub fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// `[from, to)`: either end may be open.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `from`/`to` query values: `YYYY-MM-DD` (the store's local day; both ends inclusive) or
/// RFC 3339 instants (`from` inclusive, `to` exclusive). Returns `[from, to)`.
pub fn range(from: Option<&str>, to: Option<&str>, tz: Tz) -> Result<Range, ApiError> {
    let from = from.map(|v| parse_bound(v, tz, false, "from")).transpose()?;
    let to = to.map(|v| parse_bound(v, tz, true, "to")).transpose()?;
    // `to` at or before `from` is an empty range: nothing in it (not an error, so that any two
    // values the document allows make a request the server answers).
    Ok((from, to))
}

fn parse_bound(v: &str, tz: Tz, is_end: bool, field: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let date =
            if is_end { date.succ_opt().ok_or_else(|| ApiError::invalid(field, "date out of range"))? } else { date };
        return Ok(day_start(date, tz));
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid(field, "use YYYY-MM-DD (a local day) or an RFC 3339 instant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_follow_daylight_saving() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks go forward, the day has 23 hours.
        let (f, t) = range(Some("2026-03-29"), Some("2026-03-29"), tz).unwrap();
        assert_eq!((t.unwrap() - f.unwrap()).num_hours(), 23);
        assert_eq!(f.unwrap().to_rfc3339(), "2026-03-28T23:00:00+00:00");
        // 2026-10-25: clocks go back, 25 hours.
        let (f, t) = range(Some("2026-10-25"), Some("2026-10-25"), tz).unwrap();
        assert_eq!((t.unwrap() - f.unwrap()).num_hours(), 25);
    }

    #[test]
    fn instants_and_errors() {
        let (f, _) = range(Some("2026-11-25T09:30:00Z"), None, Tz::UTC).unwrap();
        assert_eq!(f.unwrap().to_rfc3339(), "2026-11-25T09:30:00+00:00");
        assert!(range(Some("yesterday"), None, Tz::UTC).is_err());
        let (f, t) = range(Some("2026-11-26"), Some("2026-11-25"), Tz::UTC).unwrap();
        assert!(f.unwrap() >= t.unwrap(), "an empty range");
    }
}
