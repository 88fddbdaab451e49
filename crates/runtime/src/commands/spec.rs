use std::io::Write;

use tscontainer_core::spec;

use crate::cli::SpecCmd;
use crate::errors::CommandError;

pub fn run(args: SpecCmd) -> anyhow::Result<i32> {
    let path = args.bundle.join("config.json");
    let spec = if args.rootless { spec::default_rootless_spec()? } else { spec::default_spec()? };
    let text = serde_json::to_string_pretty(&spec)?;
    let write_error = |source| CommandError::Write { path: path.clone(), source };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(write_error)?;
    file.write_all(text.as_bytes()).map_err(write_error)?;
    Ok(0)
}
