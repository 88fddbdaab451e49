use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

/// List the containers in the state root
#[derive(Debug, Args)]
pub struct List {
    /// Print only the ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}
