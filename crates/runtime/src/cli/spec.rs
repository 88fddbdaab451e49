use std::path::PathBuf;

use clap::Args;

/// Write a starter config.json (a shell in ./rootfs with production defaults)
#[derive(Debug, Args)]
pub struct SpecCmd {
    /// Directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A spec for the calling unprivileged user (a user namespace with its ids mapped)
    #[arg(long = "rootless", id = "spec_rootless")]
    pub rootless: bool,
}
