//! Sizes as people write them (`50M`, `1g`), parsed the way Docker and runc parse them: for
//! the runtime's `update` and output limits here, and for the run options beside this crate.

/// A size that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct SizeError {
    pub what: &'static str,
    pub value: String,
    pub reason: String,
}

impl SizeError {
    pub fn code(&self) -> crate::error::Code {
        crate::error::Code::InvalidOption
    }
}

/// Parses a size: plain bytes (`1048576`) or a number with a binary unit suffix
/// (`512k`, `50M`, `1g`, `1.5G`, `2GiB`, `64mb`); units are powers of 1024. `what`
/// names the value in errors.
pub fn parse_size(what: &'static str, value: &str) -> Result<i64, SizeError> {
    let bad = |reason: &str| SizeError { what, value: value.to_string(), reason: reason.to_string() };
    let text = value.trim();
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') || number.matches('.').count() > 1 {
        return Err(bad("expected a size such as 512k, 50M or 1g"));
    }
    let suffix = suffix.trim_start().to_ascii_lowercase();
    let unit = suffix.strip_suffix('b').unwrap_or(&suffix);
    let unit = unit.strip_suffix('i').filter(|u| !u.is_empty()).unwrap_or(unit);
    let multiplier: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad(&format!("unknown unit `{suffix}` (use b, k, m, g, t or p)"))),
    };
    let n: f64 = number.parse().map_err(|_| bad("expected a size such as 512k, 50M or 1g"))?;
    let bytes = (n * multiplier).floor();
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(bad("is too large"));
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_binary() {
        let size = |v| parse_size("size", v).unwrap();
        assert_eq!(size("50M"), 52_428_800);
        assert_eq!(size("50m"), 52_428_800);
        assert_eq!(size("1g"), 1 << 30);
        assert_eq!(size("1.5G"), 3 << 29);
        assert_eq!(size("2GiB"), 2 << 30);
        assert_eq!(size("64mb"), 64 << 20);
        assert_eq!(size("8192k"), 8 << 20);
        assert_eq!(size("10485760"), 10 << 20);
        assert_eq!(size(" 7M "), 7 << 20);
    }

    #[test]
    fn what_cannot_be_read_is_refused() {
        for bad in ["10Q", "", "M", "-5M", "1..5M", "1.M", ".5G", "5 M B x", "50MBB", "1e3"] {
            let err = parse_size("memory limit", bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid memory limit `{bad}`")), "{bad}: {err}");
        }
        assert!(parse_size("size", "10Q").unwrap_err().to_string().contains("unknown unit `q`"));
    }
}
