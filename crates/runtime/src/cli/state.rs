use clap::Args;

/// Print a container's state as JSON
#[derive(Debug, Args)]
pub struct State {
    /// The container id
    pub id: String,
}
