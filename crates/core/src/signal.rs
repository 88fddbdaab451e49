//! Signal names as runc accepts them: `KILL`, `SIGKILL`, `sigkill` or `9`.

use nix::sys::signal::Signal;

#[derive(Debug, thiserror::Error)]
#[error("invalid signal `{0}`")]
pub struct InvalidSignal(pub String);

/// Parses a signal name or number into its number. Real-time signals are accepted as
/// numbers (`34`) and as `RTMIN+n` / `RTMAX-n`.
pub fn parse_signal(text: &str) -> Result<i32, InvalidSignal> {
    let bad = || InvalidSignal(text.to_string());
    if let Ok(n) = text.parse::<i32>() {
        // 0 sends nothing and only checks that the process exists, as kill(2) and runc read it.
        return if (0..=libc::SIGRTMAX()).contains(&n) { Ok(n) } else { Err(bad()) };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(offset) = name.strip_prefix("RTMIN+") {
        let n = libc::SIGRTMIN() + offset.parse::<i32>().map_err(|_| bad())?;
        return if n <= libc::SIGRTMAX() { Ok(n) } else { Err(bad()) };
    }
    if let Some(offset) = name.strip_prefix("RTMAX-") {
        let n = libc::SIGRTMAX() - offset.parse::<i32>().map_err(|_| bad())?;
        return if n >= libc::SIGRTMIN() { Ok(n) } else { Err(bad()) };
    }
    format!("SIG{name}").parse::<Signal>().map(|s| s as i32).map_err(|_| bad())
}

/// The conventional name of a signal number (`SIGKILL`), or `SIG<n>` for others.
pub fn signal_name(n: i32) -> String {
    Signal::try_from(n).map(|s| s.as_str().to_string()).unwrap_or_else(|_| format!("SIG{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for s in ["KILL", "SIGKILL", "sigkill", "kill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), 9, "{s}");
        }
        assert_eq!(parse_signal("TERM").unwrap(), 15);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert_eq!(parse_signal("0").unwrap(), 0);
        for s in ["", "-1", "99", "FLY", "SIG", "RTMIN+99"] {
            assert!(parse_signal(s).is_err(), "{s}");
        }
        assert_eq!(signal_name(15), "SIGTERM");
    }
}
