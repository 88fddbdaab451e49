use std::path::PathBuf;

use clap::Args;

/// What `create` and `run` both take: the container and how to set it up.
#[derive(Debug, Args)]
pub struct ContainerArgs {
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
    /// Do not use pivot_root (for a rootfs on ramfs)
    #[arg(long)]
    pub no_pivot: bool,
    /// Keep this process's session keyring instead of giving the container a new one
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many extra descriptors (3 onwards) to the container's process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
}

/// Create a container, leaving its process waiting for `start`
#[derive(Debug, Args)]
pub struct Create {
    #[command(flatten)]
    pub container: ContainerArgs,
    /// Stay as the container's parent until its process ends (after a `start` from
    /// anyone), forwarding signals and recording how it ended in its state; the
    /// container is kept until `delete`. A tscontainer extension.
    #[arg(long)]
    pub supervise: bool,
    /// With --supervise: delete the container once its process has ended
    #[arg(long, requires = "supervise")]
    pub rm: bool,
    /// With --supervise: the container's stdout and stderr go to this file, which the
    /// supervisor writes and rotates by size (created 0600; its directory must be writable by
    /// its owner alone). A tscontainer extension
    #[arg(long, requires = "supervise")]
    pub output: Option<PathBuf>,
    /// With --output: rotate the file at this size (`10m`, `512k`, bytes; default 10m)
    #[arg(long, requires = "output")]
    pub output_max_size: Option<String>,
    /// With --output: how many files to keep, the current one included (default 3; 1 empties
    /// the file instead)
    #[arg(long, requires = "output")]
    pub output_max_files: Option<String>,
}
