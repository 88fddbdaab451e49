use clap::Args;

/// Delete a stopped container and everything the runtime made for it
#[derive(Debug, Args)]
pub struct Delete {
    /// The container id
    pub id: String,
    /// Kill the container first if it is still running; an unknown id is not an error
    #[arg(short, long)]
    pub force: bool,
}
