use std::path::PathBuf;

use clap::Args;

/// Create and start a container, then wait for it and delete it
#[derive(Debug, Args)]
pub struct Run {
    /// The container id
    pub id: String,
    /// Path to the bundle directory (holding config.json)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A unix socket that receives the pseudo-terminal's master when process.terminal is set
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Write the container process's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Return once the container is started instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the stopped container's state instead of deleting it
    #[arg(long)]
    pub keep: bool,
    /// Do not use pivot_root (for a rootfs on ramfs)
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a new session keyring (accepted; keyrings are not changed)
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many extra descriptors (3 onwards) to the container's process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
}
