use clap::Args;

/// Send a signal to a container's process (SIGTERM by default)
#[derive(Debug, Args)]
pub struct Kill {
    /// The container id
    pub id: String,
    /// The signal: a name (KILL, SIGKILL) or a number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Send it to every process in the container
    #[arg(short, long)]
    pub all: bool,
}
