//! Compiling a profile with libseccomp (the `seccomp` feature: the runtime's build only).

use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall};

use super::{check, Filter, SeccompError};

const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1;
const SECCOMP_FILTER_FLAG_LOG: u32 = 2;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 4;

fn lib(action: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    let action = action.into();
    move |source| SeccompError::Library { action, source }
}

/// The spec's names (`SCMP_ACT_ERRNO`, `SCMP_ARCH_X86_64`, ...) are exactly libseccomp's.
fn spec_name<T: serde::Serialize + std::fmt::Debug>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{value:?}"))
}

/// `SCMP_ACT_NOTIFY` is refused by `check` before any action is made.
fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, SeccompError> {
    let value = errno.map_or(libc::EPERM, |e| e as i32);
    ScmpAction::from_str(&spec_name(&a), Some(value)).map_err(lib(format!("use action {a:?}")))
}

fn operator(op: LinuxSeccompOperator, value_two: u64) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value_two),
    }
}

/// The comparisons of one rule. Comparisons on distinct arguments must all hold (one
/// libseccomp rule); several on the same argument are alternatives (one rule each), the
/// way runc reads a profile.
fn condition_sets(rule: &LinuxSyscall) -> Vec<Vec<ScmpArgCompare>> {
    let args = rule.args().as_deref().unwrap_or_default();
    let compare = |a: &oci_spec::runtime::LinuxSeccompArg| {
        // For MASKED_EQ the spec's `value` is the mask and `valueTwo` the datum.
        match a.op() {
            LinuxSeccompOperator::ScmpCmpMaskedEq => {
                ScmpArgCompare::new(a.index() as u32, operator(a.op(), a.value()), a.value_two().unwrap_or(0))
            }
            op => ScmpArgCompare::new(a.index() as u32, operator(op, 0), a.value()),
        }
    };
    let mut indices: Vec<usize> = args.iter().map(|a| a.index()).collect();
    indices.sort_unstable();
    indices.dedup();
    if indices.len() == args.len() {
        vec![args.iter().map(compare).collect()]
    } else {
        args.iter().map(|a| vec![compare(a)]).collect()
    }
}

/// Compiles the spec's profile. Syscall names this architecture does not have are
/// skipped, as runc does, so one profile serves every architecture.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    check(profile)?;
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("create a filter"))?;
    // no_new_privs is the spec's business (process.noNewPrivileges), not the filter's.
    ctx.set_ctl_nnp(false).map_err(lib("leave no_new_privs alone"))?;
    for arch in profile.architectures().as_deref().unwrap_or_default() {
        let name = spec_name(arch);
        let arch = ScmpArch::from_str(&name).map_err(lib(format!("use architecture {name}")))?;
        if !ctx.is_arch_present(arch).unwrap_or(false) {
            ctx.add_arch(arch).map_err(lib(format!("add architecture {name}")))?;
        }
    }
    // Flags go to seccomp(2) when the program is loaded (see `Filter::load`).
    let mut flags = 0;
    for flag in profile.flags().as_deref().unwrap_or_default() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            // Only meaningful with a notification listener, which is refused above.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    for rule in profile.syscalls().as_deref().unwrap_or_default() {
        let act = action(rule.action(), rule.errno_ret())?;
        // libseccomp refuses rules that repeat the default action; they change nothing.
        if act == default {
            continue;
        }
        let conditions = condition_sets(rule);
        for name in rule.names() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else { continue };
            for set in &conditions {
                let added = if set.is_empty() {
                    ctx.add_rule(act, syscall)
                } else {
                    ctx.add_rule_conditional(act, syscall, set)
                };
                added.map_err(lib(format!("add a rule for {name}")))?;
            }
        }
    }
    let memfd = nix::sys::memfd::memfd_create("seccomp-bpf", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map(std::fs::File::from)
        .map_err(|e| SeccompError::Unsupported { what: format!("a memfd for the compiled filter ({e})") })?;
    ctx.export_bpf(&memfd).map_err(lib("export the filter"))?;
    let mut program = Vec::new();
    std::io::Seek::rewind(&mut &memfd)
        .and_then(|()| std::io::Read::read_to_end(&mut &memfd, &mut program))
        .map_err(|e| SeccompError::Unsupported { what: format!("reading the compiled filter ({e})") })?;
    Ok(Filter { program, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_profile_compiles_to_bpf() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
                "syscalls":[{"names":["read","write","no_such_syscall_anywhere"],"action":"SCMP_ACT_ALLOW"},
                            {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[
                                {"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                            {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[
                                {"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
                            {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
        );
        let filter = compile(&p).unwrap();
        assert!(filter.instructions() > 10);
        assert_eq!(Filter::from_bytes(&filter.to_bytes()), Some(filter));
    }

    #[test]
    fn same_argument_comparisons_are_alternatives() {
        let rule: LinuxSyscall = serde_json::from_str(
            r#"{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"},{"index":1,"value":3,"op":"SCMP_CMP_EQ"}]}"#,
        )
        .unwrap();
        assert_eq!(condition_sets(&rule).len(), 3);
        let rule: LinuxSyscall = serde_json::from_str(
            r#"{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":3,"op":"SCMP_CMP_EQ"}]}"#,
        )
        .unwrap();
        assert_eq!(condition_sets(&rule).iter().map(Vec::len).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn notify_is_refused_with_a_reason() {
        let p = profile(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
        assert_eq!(
            compile(&p).unwrap_err().to_string(),
            "seccomp: SCMP_ACT_NOTIFY (a seccomp listener) is not supported"
        );
    }
}
