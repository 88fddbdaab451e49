//! Hostile `config.json` bytes through everything the runtime does with a config before it
//! creates anything: parse, validate, resolve the seccomp profile and the device rules into
//! the programs the kernel would get, and the value parsers the CLI flags use. Any panic,
//! overflow (checks are on) or abort is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tscontainer_core::{cgroups, seccomp, spec, state};
use tscontainer_run_options::{parse_cpus, parse_memory};

fuzz_target!(|data: &[u8]| {
    // The flag parsers and the id check take text a user typed.
    if let Ok(text) = std::str::from_utf8(data) {
        if text.len() < 256 {
            let _ = parse_memory(text);
            let _ = parse_cpus(text, 100_000, 4);
            let _ = state::validate_id(text);
        }
    }
    let Ok(config) = spec::parse(data) else { return };
    if spec::validate(&config).is_err() {
        return;
    }
    // A valid config round-trips through JSON: what is saved in state.json loads again.
    let saved = serde_json::to_vec(&config).expect("a parsed config serializes");
    spec::parse(&saved).expect("a saved config parses again");
    let linux = config.linux().as_ref();
    if let Some(profile) = linux.and_then(|l| l.seccomp().as_ref()) {
        let _ = seccomp::compile(profile);
    }
    let rules = linux.and_then(|l| l.resources().as_ref()).and_then(|r| r.devices().clone()).unwrap_or_default();
    let devices = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
    let effective = cgroups::effective_device_rules(&rules, &devices);
    let program = cgroups::v2::device_program(&effective);
    assert_eq!(program.len() % 8, 0, "whole eBPF instructions");
});
