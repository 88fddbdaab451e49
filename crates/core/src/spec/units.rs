//! Human-friendly limit values, parsed the way Docker parses them.

use super::SpecError;

/// Docker refuses memory limits below 6 MiB: the container's init needs some memory of its
/// own before the command runs, and smaller limits only produce confusing OOM kills.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Parses a memory limit (see [`parse_size`]) that a container can live with: at least 6M.
pub fn parse_memory(value: &str) -> Result<i64, SpecError> {
    let bytes = parse_size("memory limit", value)?;
    if bytes < MIN_MEMORY {
        return Err(SpecError::option("memory limit", value, "the minimum memory limit is 6M"));
    }
    Ok(bytes)
}

/// Parses a size: plain bytes (`1048576`) or a number with a binary unit suffix
/// (`512k`, `50M`, `1g`, `1.5G`, `2GiB`, `64mb`); units are powers of 1024. `what`
/// names the value in errors.
pub fn parse_size(what: &'static str, value: &str) -> Result<i64, SpecError> {
    let bad = |reason: &str| SpecError::option(what, value, reason);
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

/// Parses a CPU count such as `0.5` or `2` into a CFS quota for the given period, refusing
/// values below 0.01 or above the number of online CPUs (as Docker does).
pub fn parse_cpus(value: &str, period: u64, online_cpus: u64) -> Result<i64, SpecError> {
    let bad = |reason: String| SpecError::option("cpus", value, reason);
    let cpus: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|c: &f64| c.is_finite())
        .ok_or_else(|| bad("expected a number of CPUs such as 0.5 or 2".into()))?;
    if cpus < 0.01 || cpus > online_cpus as f64 {
        return Err(bad(format!("the range of CPUs is from 0.01 to {online_cpus} (this machine's CPUs)")));
    }
    Ok((cpus * period as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(parse_memory("50M").unwrap(), 52_428_800);
        assert_eq!(parse_memory("50m").unwrap(), 52_428_800);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_memory("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("10485760").unwrap(), 10 << 20);
        assert_eq!(parse_memory(" 7M ").unwrap(), 7 << 20);
    }

    #[test]
    fn memory_rejects_what_it_cannot_read() {
        for bad in ["10Q", "", "M", "-5M", "1..5M", "1.M", ".5G", "5 M B x", "50MBB", "1e3"] {
            let err = parse_memory(bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid memory limit `{bad}`")), "{bad}: {err}");
        }
        assert!(parse_memory("10Q").unwrap_err().to_string().contains("unknown unit `q`"));
    }

    #[test]
    fn memory_has_a_floor() {
        assert!(parse_memory("1M").unwrap_err().to_string().contains("minimum memory limit is 6M"));
        assert!(parse_memory("6M").is_ok());
    }

    #[test]
    fn cpus_become_a_quota() {
        assert_eq!(parse_cpus("0.5", 100_000, 2).unwrap(), 50_000);
        assert_eq!(parse_cpus("2", 100_000, 2).unwrap(), 200_000);
        assert_eq!(parse_cpus("1.25", 100_000, 4).unwrap(), 125_000);
    }

    #[test]
    fn cpus_out_of_range_are_refused() {
        for bad in ["0", "0.001", "3", "abc", "", "NaN", "inf", "-1"] {
            let err = parse_cpus(bad, 100_000, 2).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid cpus `{bad}`")), "{bad}: {err}");
        }
    }
}
