//! devices (v2): cgroup v2 has no devices controller; the kernel asks an eBPF program of
//! type `BPF_PROG_TYPE_CGROUP_DEVICE`, attached to the cgroup, whether each open or mknod
//! of a device node may proceed. The program is assembled here from the spec's rules (as
//! runc and crun do), loaded with bpf(2) and attached to the container's cgroup directory;
//! programs attached before it (an earlier `apply`) are detached once it is in place.
//!
//! Semantics match the v1 controller as the rules are written: the last rule that matches
//! a request decides, and a request no rule matches is denied. An allow rule matches when
//! it grants every access asked for; a deny rule when it forbids any of them.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::cgroups::CgroupError;

/// One `struct bpf_insn`: opcode, registers (dst in the low nibble), offset, immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

// Opcodes (classes, sizes, modes and operations combined, from linux/bpf_common.h and bpf.h).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// Registers: R1 holds the context on entry; the prelude spreads it over R2..R5.
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
const DEV_BLOCK: i32 = 1; // BPF_DEVCG_DEV_BLOCK
const DEV_CHAR: i32 = 2; // BPF_DEVCG_DEV_CHAR
const ACC_MKNOD: i32 = 1; // BPF_DEVCG_ACC_MKNOD
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, dst, src, off, imm }
}

/// The device type a rule names, `None` for every type (`a`).
fn device_type(rule: &LinuxDeviceCgroup) -> Option<i32> {
    match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => None,
        LinuxDeviceType::B => Some(DEV_BLOCK),
        LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
        // FIFOs are not device nodes: the kernel never asks about them.
        LinuxDeviceType::P => Some(-1),
    }
}

fn access_bits(rule: &LinuxDeviceCgroup) -> i32 {
    let access = rule.access().as_deref().filter(|a| !a.is_empty()).unwrap_or("rwm");
    access.chars().fold(0, |bits, c| match c {
        'r' => bits | ACC_READ,
        'w' => bits | ACC_WRITE,
        'm' => bits | ACC_MKNOD,
        _ => bits,
    })
}

/// A number a rule pins, `None` for a wildcard (absent or negative, as `*`).
fn pinned(n: Option<i64>) -> Option<i32> {
    n.filter(|n| *n >= 0).and_then(|n| i32::try_from(n).ok())
}

/// The instructions that decide one rule: jumps to the block's end when the rule does not
/// match, otherwise returns its verdict.
fn rule_block(rule: &LinuxDeviceCgroup) -> Vec<Insn> {
    let mut block = Vec::new();
    if let Some(typ) = device_type(rule) {
        block.push(insn(JNE_K, TYPE, 0, 0, typ));
    }
    let access = access_bits(rule);
    block.push(insn(MOV32_X, R1, ACCESS, 0, 0));
    block.push(insn(AND32_K, R1, 0, 0, access));
    if rule.allow() {
        // Every access asked for must be granted: (asked & granted) == asked.
        block.push(insn(JNE_X, R1, ACCESS, 0, 0));
    } else {
        // Any access asked for that is forbidden: (asked & forbidden) != 0.
        block.push(insn(JEQ_K, R1, 0, 0, 0));
    }
    if let Some(major) = pinned(rule.major()) {
        block.push(insn(JNE_K, MAJOR, 0, 0, major));
    }
    if let Some(minor) = pinned(rule.minor()) {
        block.push(insn(JNE_K, MINOR, 0, 0, minor));
    }
    block.push(insn(MOV32_K, R0, 0, 0, i32::from(rule.allow())));
    block.push(insn(EXIT, 0, 0, 0, 0));
    // Every jump so far goes to the first instruction after the block.
    let len = block.len();
    for (i, ins) in block.iter_mut().enumerate() {
        if matches!(ins.code, JNE_K | JNE_X | JEQ_K) {
            ins.off = (len - i - 1) as i16;
        }
    }
    block
}

/// Assembles the program for `rules`: the last matching rule decides, nothing matching
/// means deny.
pub(crate) fn assemble(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
    let mut program = vec![
        insn(LDX_W, TYPE, R1, 0, 0),
        insn(AND32_K, TYPE, 0, 0, 0xffff),
        insn(LDX_W, ACCESS, R1, 0, 0),
        insn(RSH32_K, ACCESS, 0, 0, 16),
        insn(LDX_W, MAJOR, R1, 4, 0),
        insn(LDX_W, MINOR, R1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        program.extend(rule_block(rule));
    }
    program.push(insn(MOV32_K, R0, 0, 0, 0));
    program.push(insn(EXIT, 0, 0, 0, 0));
    program
}

/// The program for `rules` as the kernel takes it (`struct bpf_insn` array).
pub fn program(rules: &[LinuxDeviceCgroup]) -> Vec<u8> {
    encode(&assemble(rules))
}

fn encode(program: &[Insn]) -> Vec<u8> {
    program
        .iter()
        .flat_map(|i| {
            let mut bytes = [0u8; 8];
            bytes[0] = i.code;
            bytes[1] = (i.dst & 0x0f) | (i.src << 4);
            bytes[2..4].copy_from_slice(&i.off.to_le_bytes());
            bytes[4..8].copy_from_slice(&i.imm.to_le_bytes());
            bytes
        })
        .collect()
}

// bpf(2) commands, program and attach types, flags (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs on one cgroup, all of which must allow: nested containers can restrict
/// their own cgroups further, and ours can be replaced without a window of no program.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `union bpf_attr` member of BPF_PROG_LOAD, up to the fields we set.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The member of BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The member of BPF_PROG_QUERY.
#[repr(C)]
#[derive(Default)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The member of BPF_PROG_GET_FD_BY_ID.
#[repr(C)]
#[derive(Default)]
struct GetFdById {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, properly sized `union bpf_attr` member for `cmd`; the kernel
    // reads (and for queries writes) at most size_of::<T>() bytes of it, and any pointers in
    // it point at buffers that outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn to_fd(rc: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(rc as i32) }
}

fn load(program: &[Insn]) -> Result<OwnedFd, String> {
    let code = encode(program);
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        ..ProgLoad::default()
    };
    attr.prog_name[..11].copy_from_slice(b"tsc_devices");
    bpf(BPF_PROG_LOAD, &mut attr).map(to_fd).map_err(|e| {
        let verifier = String::from_utf8_lossy(&log[..log.iter().position(|b| *b == 0).unwrap_or(0)]).to_string();
        if verifier.trim().is_empty() {
            format!("load the device program: {e}")
        } else {
            format!("load the device program: {e} (verifier: {})", verifier.trim())
        }
    })
}

/// The programs attached to the cgroup now, by descriptor.
fn attached(cgroup: &OwnedFd) -> Vec<OwnedFd> {
    let mut ids = vec![0u32; 64];
    let mut query = ProgQuery {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..ProgQuery::default()
    };
    if bpf(BPF_PROG_QUERY, &mut query).is_err() {
        return Vec::new();
    }
    ids.truncate(query.prog_cnt as usize);
    ids.into_iter()
        .filter_map(|prog_id| bpf(BPF_PROG_GET_FD_BY_ID, &mut GetFdById { prog_id, ..GetFdById::default() }).ok())
        .map(to_fd)
        .collect()
}

/// Loads the program for `rules` and attaches it to the cgroup at `dir`, replacing any
/// device program an earlier call attached.
pub(super) fn apply(rules: &[LinuxDeviceCgroup], dir: &Path) -> Result<(), CgroupError> {
    let fail = |reason: String| CgroupError::DeviceProgram { path: dir.to_path_buf(), reason };
    let cgroup = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| fail(format!("open the cgroup: {e}")))?;
    let previous = attached(&cgroup);
    let program = load(&assemble(rules)).map_err(fail)?;
    let mut attach = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttach::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attach).map_err(|e| fail(format!("attach the device program: {e}")))?;
    for old in previous {
        let mut detach = ProgAttach {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: old.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..ProgAttach::default()
        };
        bpf(BPF_PROG_DETACH, &mut detach).map_err(|e| fail(format!("detach the previous device program: {e}")))?;
    }
    // The attachment holds the program; our descriptor may go.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `program` the way the kernel would for one request, over the subset of eBPF
    /// the assembler emits.
    fn run(program: &[Insn], typ: i32, access: i32, major: u32, minor: u32) -> u64 {
        let mut r = [0u64; 11];
        let ctx = [((access as u32) << 16) | typ as u32, major, minor];
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            let imm = i.imm as i64 as u64;
            pc += 1;
            let jump = |cond: bool, pc: &mut usize| {
                if cond {
                    *pc = (*pc as i64 + i64::from(i.off)) as usize;
                }
            };
            match i.code {
                LDX_W => r[d] = u64::from(ctx[i.off as usize / 4]),
                AND32_K => r[d] = (r[d] as u32 & imm as u32) as u64,
                RSH32_K => r[d] = ((r[d] as u32) >> imm) as u64,
                MOV32_K => r[d] = imm as u32 as u64,
                MOV32_X => r[d] = r[s] as u32 as u64,
                JEQ_K => jump(r[d] == imm, &mut pc),
                JNE_K => jump(r[d] != imm, &mut pc),
                JNE_X => jump(r[d] != r[s], &mut pc),
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    const R: i32 = ACC_READ;
    const W: i32 = ACC_WRITE;
    const M: i32 = ACC_MKNOD;

    #[test]
    fn the_default_allowlist_allows_null_and_denies_disks() {
        let p = assemble(&crate::spec::default_device_rules());
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 1, "/dev/null");
        assert_eq!(run(&p, DEV_CHAR, R | W, 136, 7), 1, "a pty");
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 0, "a disk");
        assert_eq!(run(&p, DEV_CHAR, R, 1, 1), 0, "/dev/mem");
        assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 1, "mknod of anything is allowed, as with runc");
    }

    #[test]
    fn the_last_matching_rule_wins_and_unmatched_is_denied() {
        let p = assemble(&rules(
            r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        ));
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1, "reading is still allowed");
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 0, "asking to write is denied");
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 0), 1, "everything else is allowed");
        assert_eq!(run(&assemble(&[]), DEV_CHAR, R, 1, 3), 0, "no rule, no access");
    }

    #[test]
    fn an_allow_rule_must_grant_every_access_asked_for() {
        let p = assemble(&rules(r#"[{"allow":true,"type":"c","major":10,"access":"r"}]"#));
        assert_eq!(run(&p, DEV_CHAR, R, 10, 200), 1);
        assert_eq!(run(&p, DEV_CHAR, R | W, 10, 200), 0);
        assert_eq!(run(&p, DEV_BLOCK, R, 10, 200), 0, "the type must match");
    }

    #[test]
    fn instructions_encode_little_endian() {
        let bytes = encode(&[insn(JNE_K, MAJOR, 0, 3, 10), insn(MOV32_X, R1, ACCESS, 0, 0)]);
        assert_eq!(bytes, [0x55, 0x04, 3, 0, 10, 0, 0, 0, 0xbc, 0x31, 0, 0, 0, 0, 0, 0]);
    }
}
