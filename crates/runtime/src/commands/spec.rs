use std::io::Write;

use anyhow::Context as _;
use tscontainer_core::spec;

use crate::cli::SpecCmd;

pub fn run(args: SpecCmd) -> anyhow::Result<i32> {
    let path = args.bundle.join("config.json");
    let spec = if args.rootless { spec::default_rootless_spec()? } else { spec::default_spec()? };
    let text = serde_json::to_string_pretty(&spec)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(0)
}
