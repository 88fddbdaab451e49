use tscontainer_core::features;

pub fn run() -> anyhow::Result<i32> {
    println!("{}", serde_json::to_string_pretty(&features::features())?);
    Ok(0)
}
