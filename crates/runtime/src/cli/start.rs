use clap::Args;

/// Run the command of a created container
#[derive(Debug, Args)]
pub struct Start {
    /// The container id
    pub id: String,
}
