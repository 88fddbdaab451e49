//! What /proc says about a process: whether it still exists, and whether it is the same
//! process (a pid can be reused, its start time cannot).

/// The fields of `/proc/<pid>/stat` we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The one-letter state: R, S, D, Z, T, ...
    pub state: char,
    /// Start time in clock ticks since boot.
    pub start_time: u64,
}

/// Parses a stat line. The command name may contain spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the line, starttime field 22.
    Some(Stat { state: fields.first()?.chars().next()?, start_time: fields.get(19)?.parse().ok()? })
}

pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` is still the live process that started at `start_time`; a zombie has
/// finished running and counts as gone.
pub fn is_alive(pid: i32, start_time: Option<u64>) -> bool {
    match stat(pid) {
        Some(s) if s.state == 'Z' || s.state == 'X' => false,
        Some(s) => start_time.is_none_or(|t| t == s.start_time),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_survives_odd_command_names() {
        let line = "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 100";
        assert_eq!(parse_stat(line), Some(Stat { state: 'S', start_time: 98765 }));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_different_start_time_is_not() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert!(is_alive(me, Some(s.start_time)));
        assert!(!is_alive(me, Some(s.start_time + 1)));
        assert!(!is_alive(i32::MAX, None));
    }
}
