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
    fn wrong_types_stay_for_the_parser() {
        let mut caps = json!({"bounding": ["CAP_KILL", 7]});
        assert!(strip_unknown(&mut caps).is_empty());
        assert_eq!(caps, json!({"bounding": ["CAP_KILL", 7]}));
    }
}
