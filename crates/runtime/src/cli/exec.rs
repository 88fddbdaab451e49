use std::path::PathBuf;

use clap::Args;

/// Run another process in a running container
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct Exec {
    /// The container id
    pub id: String,
    /// The command and its arguments (unless --process is given)
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A JSON file with the full process spec (runtime-spec `process`)
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// A unix socket that receives the pseudo-terminal's master with --tty
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE), on top of the container's
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Give the process a terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Run as uid[:gid]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra supplementary groups
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Return once the process is started instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability (CAP_NAME) to the process's sets
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Pass this many extra descriptors (3 onwards) to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// Run the process in an existing cgroup below the container's: PATH, relative to it, in
    /// every hierarchy (runc's `[CONTROLLER:]PATH` with a controller is not supported)
    #[arg(long = "cgroup", value_name = "PATH")]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container (the process waits, frozen, for a resume)
    #[arg(long)]
    pub ignore_paused: bool,
    /// The SELinux label for the process (recorded; this runtime applies no SELinux labels)
    #[arg(long)]
    pub process_label: Option<String>,
    /// The AppArmor profile for the process (applied where AppArmor is enabled)
    #[arg(long)]
    pub apparmor: Option<String>,
}
