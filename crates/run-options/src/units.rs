//! Limits as people write them, parsed the way Docker parses them.

use tscontainer_core::spec::parse_size;

use crate::OptionError;

/// Docker refuses memory limits below 6 MiB: the container's init needs some memory of its
/// own before the command runs, and smaller limits only produce confusing OOM kills.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Parses a memory limit (a size, see `parse_size`) that a container can live with: at least 6M.
pub fn parse_memory(value: &str) -> Result<i64, OptionError> {
    let bytes = parse_size("memory limit", value).map_err(|e| OptionError::invalid("memory limit", value, e.reason))?;
    if bytes < MIN_MEMORY {
        return Err(OptionError::invalid("memory limit", value, "the minimum memory limit is 6M"));
    }
    Ok(bytes)
}

/// Parses a CPU count such as `0.5` or `2` into a CFS quota for the given period, refusing
/// values below 0.01 or above the number of online CPUs (as Docker does).
pub fn parse_cpus(value: &str, period: u64, online_cpus: u64) -> Result<i64, OptionError> {
    let bad = |reason: String| OptionError::invalid("cpus", value, reason);
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
        assert_eq!(parse_memory("1.5G").unwrap(), 3 << 29);
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
