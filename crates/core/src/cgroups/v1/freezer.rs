//! freezer (v1): `freezer.state`, which passes through FREEZING on the way to FROZEN.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::{read_value, write_value, CgroupError, FreezerState};

fn word(state: FreezerState) -> &'static str {
    match state {
        FreezerState::Frozen => "FROZEN",
        FreezerState::Thawed => "THAWED",
    }
}

pub(super) fn set(dir: &Path, state: FreezerState) -> Result<(), CgroupError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        write_value(dir, "freezer.state", word(state))?;
        if get(dir)? == state {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(CgroupError::Unsupported {
                what: format!("reaching freezer state {}", word(state)),
                version: "v1 (timed out)",
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub(super) fn get(dir: &Path) -> Result<FreezerState, CgroupError> {
    let text = read_value(dir, "freezer.state")?;
    Ok(if text.trim() == "FROZEN" { FreezerState::Frozen } else { FreezerState::Thawed })
}
