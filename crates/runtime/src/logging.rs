//! runc-style logging: logrus text (`time="..." level=error msg="..."`) or one JSON object
//! per line (`{"level":"error","msg":"...","time":"..."}`), which containerd's shim reads
//! back from `--log`. Written synchronously: the runtime must not start a logging thread.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::cli::LogFormat;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    file: Option<File>,
    format: LogFormat,
    min: Level,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The name this program was invoked as, so errors read `tscontainer: ...` when the
/// Node front end runs us under that name.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tscontainer-runtime".into())
}

pub fn init(path: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open log file {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let min = if debug { Level::Debug } else { Level::Info };
    let _ = LOGGER.set(Logger { file, format, min });
    Ok(())
}

fn render(format: LogFormat, level: Level, msg: &str, fields: &[(&str, Value)]) -> String {
    let time = tscontainer_core::state::rfc3339(std::time::SystemTime::now());
    match format {
        LogFormat::Json => {
            let mut map = Map::new();
            map.insert("level".into(), level.name().into());
            map.insert("msg".into(), msg.into());
            map.insert("time".into(), time.into());
            for (k, v) in fields {
                map.insert((*k).into(), v.clone());
            }
            format!("{}\n", Value::Object(map))
        }
        LogFormat::Text => {
            let mut line = format!("time={time:?} level={} msg={msg:?}", level.name());
            for (k, v) in fields {
                line.push_str(&format!(" {k}={v}"));
            }
            line.push('\n');
            line
        }
    }
}

/// Writes an entry to the log file; without `--log`, warnings and errors go to stderr.
pub fn log(level: Level, msg: &str, fields: &[(&str, Value)]) {
    let Some(logger) = LOGGER.get() else { return };
    if level < logger.min {
        return;
    }
    let line = render(logger.format, level, msg, fields);
    match &logger.file {
        Some(f) => {
            let _ = (&*f).write_all(line.as_bytes());
        }
        None if level >= Level::Warning => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        None => {}
    }
}

pub fn warn(msg: &str) {
    log(Level::Warning, msg, &[]);
}

pub fn warn_all(msgs: &[String]) {
    for m in msgs {
        warn(m);
    }
}

/// Reports the error that ends this invocation: to the log (with a machine-readable
/// `execFailure` when the command could not be run) and, as runc does, to stderr.
pub fn fatal(error: &anyhow::Error) {
    let message = tscontainer_core::error::chain(error.as_ref());
    let exec = error.downcast_ref::<tscontainer_core::Error>().and_then(|e| e.exec_failure());
    let fields: Vec<(&str, Value)> = exec
        .map(|k| vec![("execFailure", Value::from(if k.exit_code() == 127 { "not-found" } else { "not-executable" }))])
        .unwrap_or_default();
    if LOGGER.get().is_some_and(|l| l.file.is_some()) {
        log(Level::Error, &message, &fields);
    }
    eprintln!("{}: {message}", program_name());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_level_msg_time_and_fields() {
        let line = render(LogFormat::Json, Level::Error, "boom \"x\"", &[("exitCode", 3.into())]);
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "boom \"x\"");
        assert_eq!(v["exitCode"], 3);
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn text_lines_look_like_logrus() {
        let line = render(LogFormat::Text, Level::Warning, "careful", &[]);
        assert!(line.contains(r#"level=warning msg="careful""#), "{line}");
        assert!(line.starts_with("time=\""));
    }
}
