use clap::Args;

/// Print a container's resource usage and OOM events as JSON lines
#[derive(Debug, Args)]
pub struct Events {
    /// The container id
    pub id: String,
    /// Print one stats event and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events (e.g. 5s, 500ms)
    #[arg(long, default_value = "5s")]
    pub interval: String,
}
