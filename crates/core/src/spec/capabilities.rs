//! Capability names a config may carry that this runtime does not know. The runtime-spec
//! says a capability that cannot be granted is a warning, not a failure, and runc ignores
//! any name outside its table (logging "ignoring unknown or unavailable capabilities").
//! `oci_spec`'s `Capability` type refuses such a name (and quietly accepts forms runc does
//! not, such as `chown` for `CAP_CHOWN`), so the names are sorted out in the JSON before it
//! becomes a typed spec: exactly the `CAP_*` names of the table stay.

use oci_spec::runtime::Capability;
use serde_json::Value;

const SETS: [&str; 5] = ["bounding", "effective", "inheritable", "permitted", "ambient"];

/// The capability `name` names, when it is spelled exactly as the runtime-spec (and runc)
/// spell one: `CAP_` and the upper-case name.
pub fn known_capability(name: &str) -> Option<Capability> {
    let rest = name.strip_prefix("CAP_")?;
    serde_json::from_value::<Capability>(Value::from(name)).ok().filter(|cap| cap.to_string() == rest)
}

fn is_known_capability(name: &str) -> bool {
    known_capability(name).is_some()
}

/// Removes from a runtime-spec `capabilities` object every name `is_known_capability`
/// refuses and returns them, sorted and once each. Anything that is not a string array is
/// left for the typed parse to report.
pub fn strip_unknown(capabilities: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    for set in SETS {
        if let Some(Value::Array(names)) = capabilities.get_mut(set) {
            names.retain(|name| match name.as_str() {
                Some(text) if !is_known_capability(text) => {
                    unknown.push(text.to_string());
                    false
                }
                _ => true,
            });
        }
    }
    unknown.sort();
    unknown.dedup();
    unknown
}

/// A process's `capabilities`, read on their own: every other field is skipped unparsed,
/// however deep (the runtime-spec makes unknown fields legal, and the typed parse skips them
/// without a recursion limit; a whole-document value would have one).
#[derive(serde::Deserialize)]
struct ProcessCapabilities {
    #[serde(default)]
    capabilities: Option<Value>,
}

#[derive(serde::Deserialize)]
struct ConfigCapabilities {
    #[serde(default)]
    process: Option<ProcessCapabilities>,
}

/// The unknown capability names of a config's process. A document this cannot read is left
/// to the typed parse to report.
pub fn unknown_in_config(text: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<ConfigCapabilities>(text) {
        Ok(ConfigCapabilities { process: Some(ProcessCapabilities { capabilities: Some(mut caps) }) }) => {
            strip_unknown(&mut caps)
        }
        _ => Vec::new(),
    }
}

/// The unknown capability names of a runtime-spec `process` object.
pub fn unknown_in_process(text: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<ProcessCapabilities>(text) {
        Ok(ProcessCapabilities { capabilities: Some(mut caps) }) => strip_unknown(&mut caps),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_spec_spelling_is_known() {
        assert!(is_known_capability("CAP_CHOWN"));
        assert!(is_known_capability("CAP_CHECKPOINT_RESTORE"));
        assert_eq!(known_capability("CAP_SYS_ADMIN"), Some(Capability::SysAdmin));
        for name in ["chown", "CHOWN", "cap_chown", "CAP_CAP_CHOWN", "CAP_FOO", "", "CAP_"] {
            assert!(!is_known_capability(name), "{name}");
        }
    }

    #[test]
    fn unknown_names_leave_every_set() {
        let mut caps = json!({
            "bounding": ["CAP_KILL", "CAP_FOO", "chown"],
            "effective": ["CAP_FOO", "CAP_KILL"],
            "ambient": ["CAP_BAR"],
            "permitted": "not an array",
        });
        assert_eq!(strip_unknown(&mut caps), vec!["CAP_BAR", "CAP_FOO", "chown"]);
        assert_eq!(
            caps,
            json!({
                "bounding": ["CAP_KILL"],
                "effective": ["CAP_KILL"],
                "ambient": [],
                "permitted": "not an array",
            })
        );
    }

    #[test]
    fn only_the_capabilities_are_read_the_rest_is_skipped_however_deep() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let config =
            format!(r#"{{"x-deep":{deep},"process":{{"capabilities":{{"bounding":["CAP_KILL","CAP_FOO"]}}}}}}"#);
        assert_eq!(unknown_in_config(config.as_bytes()), vec!["CAP_FOO"]);
        assert!(unknown_in_config(br#"{"process":"not an object"}"#).is_empty());
        assert_eq!(unknown_in_process(br#"{"capabilities":{"ambient":["cap_kill"]}}"#), vec!["cap_kill"]);
    }

    #[test]
    fn wrong_types_stay_for_the_parser() {
        let mut caps = json!({"bounding": ["CAP_KILL", 7]});
        assert!(strip_unknown(&mut caps).is_empty());
        assert_eq!(caps, json!({"bounding": ["CAP_KILL", 7]}));
    }
}
