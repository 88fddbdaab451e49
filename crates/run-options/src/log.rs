//! `--log-opt`: Docker's json-file options for a detached container's output.

use tscontainer_core::output::Limits;

use crate::OptionError;

/// Docker's `--log-opt` entries (`max-size=10m`, `max-file=3`), each key once or the last
/// one wins; a missing one keeps its default. The values are read as the runtime reads its
/// `--output-max-size` and `--output-max-files`.
pub fn log_options(entries: &[String]) -> Result<Limits, OptionError> {
    let (mut max_size, mut max_files) = (None, None);
    for entry in entries {
        match entry.split_once('=') {
            Some(("max-size", value)) => max_size = Some(value),
            Some(("max-file", value)) => max_files = Some(value),
            _ => return Err(OptionError::invalid("log option", entry, "expected max-size=SIZE or max-file=N")),
        }
    }
    Ok(Limits::parse(max_size, max_files)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dockers_entries_set_the_limits() {
        let limits = log_options(&entries(&["max-size=1m", "max-file=5"])).unwrap();
        assert_eq!((limits.max_size, limits.max_files), (1 << 20, 5));
        assert_eq!(log_options(&[]).unwrap(), Limits::default());
    }

    #[test]
    fn bad_entries_name_themselves() {
        let err = |list: &[&str]| log_options(&entries(list)).unwrap_err().to_string();
        assert_eq!(
            err(&["mode=non-blocking"]),
            "invalid log option `mode=non-blocking`: expected max-size=SIZE or max-file=N"
        );
        assert_eq!(
            err(&["max-size=lots"]),
            "invalid log option max-size `lots`: expected a size such as 512k, 50M or 1g"
        );
        assert!(err(&["max-file=x"]).starts_with("invalid log option max-file `x`"));
    }
}
