//! POSIX rlimits from the spec.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use super::ProcessError;
use crate::syscall::Syscall;

fn resource(t: PosixRlimitType) -> libc::c_int {
    (match t {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }) as libc::c_int
}

pub fn apply_rlimits(rlimits: &[PosixRlimit], sys: &dyn Syscall) -> Result<(), ProcessError> {
    for r in rlimits {
        sys.setrlimit(resource(r.typ()), r.soft(), r.hard())
            .map_err(|source| ProcessError::Rlimit { name: r.typ().to_string(), source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};

    #[test]
    fn each_rlimit_is_set() {
        let rl: Vec<PosixRlimit> =
            serde_json::from_str(r#"[{"type":"RLIMIT_NOFILE","soft":1024,"hard":4096}]"#).unwrap();
        let fake = FakeSyscall::new();
        apply_rlimits(&rl, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![Call::Setrlimit { resource: libc::RLIMIT_NOFILE as i32, soft: 1024, hard: 4096 }]
        );
    }
}
