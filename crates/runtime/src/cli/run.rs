use clap::Args;

use super::create::ContainerArgs;

/// Create and start a container, then wait for it and delete it
#[derive(Debug, Args)]
pub struct Run {
    #[command(flatten)]
    pub container: ContainerArgs,
    /// Return once the container is started instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the stopped container's state instead of deleting it
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility: this runtime does not make itself a child subreaper
    #[arg(long)]
    pub no_subreaper: bool,
}
