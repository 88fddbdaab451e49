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

/// Reports the error that ends this invocation, its whole chain (each cause once): as an
/// `error` entry carrying the error's `code` (and, for a command that could not be run, the
/// older `execFailure`), and, as runc does, as one line on stderr. The entry goes to the log
/// file, or without one, in the JSON format, to stderr before that line (runc logs to stderr
/// without `--log`): a front end reads the code there from a short command's stderr. In the
/// text format stderr has the one line only.
pub fn fatal(error: &anyhow::Error) {
    let message = format!("{error:#}");
    let code = crate::errors::code_of(error);
    let mut fields: Vec<(&str, Value)> = vec![("code", code.as_str().into())];
    if let Some(kind) = code.exec_failure() {
        fields.push(("execFailure", if kind.exit_code() == 127 { "not-found" } else { "not-executable" }.into()));
    }
    if let Some(logger) = LOGGER.get() {
        match &logger.file {
            Some(_) => log(Level::Error, &message, &fields),
            None if logger.format == LogFormat::Json => {
                let _ =
                    std::io::stderr().write_all(render(LogFormat::Json, Level::Error, &message, &fields).as_bytes());
            }
            None => {}
        }
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
