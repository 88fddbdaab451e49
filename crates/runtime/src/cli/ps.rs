use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PsFormat {
    #[default]
    Table,
    Json,
}

/// Show the processes running in a container
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct Ps {
    /// The container id
    pub id: String,
    /// Options passed to ps(1) for the table format (default: -ef)
    #[arg(allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
    /// Output format: a ps(1) table, or a JSON array of pids
    #[arg(short, long, value_enum, default_value_t = PsFormat::Table)]
    pub format: PsFormat,
}
