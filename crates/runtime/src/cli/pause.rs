use clap::Args;

/// Suspend every process in a container
#[derive(Debug, Args)]
pub struct Pause {
    /// The container id
    pub id: String,
}

/// Resume a paused container
#[derive(Debug, Args)]
pub struct Resume {
    /// The container id
    pub id: String,
}
