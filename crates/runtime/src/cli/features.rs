use clap::Args;

/// Print what this runtime supports, as JSON (runc's `features` shape)
#[derive(Debug, Args)]
pub struct Features {}
