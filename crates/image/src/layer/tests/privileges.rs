//! Unpacking without root: as an ordinary user (`Ownership::Caller`), and as root of a user
//! namespace whose ids map onto subordinate ids (`Ownership::AsInTar`), as the runtime will
//! for a rootless user with /etc/subuid entries.
//!
//! Each test runs its unpack in a child process (this test binary again, asked for the one
//! test, with the job in its environment): the child becomes `nobody`, or enters a new user
//! namespace whose mapping this process, root, writes. They need root to set that up, and
//! say they are skipped without it.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tar::EntryType;

use super::*;

const NOBODY: u32 = 65534;
/// The first host id the user namespace's ids map onto (as a subordinate range would).
const SUBID_BASE: u32 = 200_000;

const CHILD_JOB: &str = "TSC_LAYER_TEST_JOB";
const CHILD_DIR: &str = "TSC_LAYER_TEST_DIR";

/// A layer using what an unprivileged unpack must handle.
fn layer() -> Vec<u8> {
    let cap: &[u8] = &[0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    Tar::new()
        .dir("etc", 0o755)
        .file_with("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644, 0, 0, 1)
        .dir("home/user", 0o700)
        .file_with("home/user/notes", b"mine", 0o600, 1000, 1000, 1)
        .file_with("nobody-file", b"x", 0o640, u64::from(NOBODY), u64::from(NOBODY), 1)
        .file_with("usr/bin/su", b"x", 0o4755, 0, 0, 1)
        .pax(&[("SCHILY.xattr.security.capability", cap), ("SCHILY.xattr.user.note", b"kept")])
        .file("usr/bin/ping", b"x")
        .node("dev/null", EntryType::Char, 1, 3)
        .node("dev/sda", EntryType::Block, 8, 0)
        .node("run/fifo", EntryType::Fifo, 0, 0)
        .dir("ro", 0o555)
        .file("ro/inside", b"written into a read-only directory")
        .file("etc/.wh.motd", b"")
        .dir("var/cache", 0o755)
        .file("var/cache/.wh..wh..opq", b"")
        .finish()
}

/// The child's side: unpack `dir/layer.tar` into `dir/dest` and write the notes beside it.
fn child(job: &str, dir: PathBuf) {
    let ownership = if job == "userns" { Ownership::AsInTar } else { Ownership::Caller };
    let options = UnpackOptions::new(ownership, WhiteoutFormat::OverlayUserXattr);
    let tar = std::fs::read(dir.join("layer.tar")).unwrap();
    let out = unpack_tar(&tar, &dir.join("dest"), &options).unwrap();
    std::fs::write(dir.join("notes"), out.notes.join("\n")).unwrap();
}

/// Runs this test again in a child process set up by `setup` (in the child, before exec).
fn run_child(test: &str, job: &str, dir: &Path, setup: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--nocapture", "--test-threads=1"]).env(CHILD_JOB, job).env(CHILD_DIR, dir);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: `setup` makes only async-signal-safe system calls in the forked child.
    unsafe { command.pre_exec(setup) };
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In the forked child: a new user namespace, whose mapping (0..65536 onto SUBID_BASE..) a
/// thread of the parent writes while the child waits, then root of it, before the exec (an
/// exec by an unmapped user would drop the namespace's capabilities).
fn enter_mapped_user_namespace() -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    let flags = nix::fcntl::OFlag::O_CLOEXEC;
    let (pid_read, pid_write) = nix::unistd::pipe2(flags).unwrap();
    let (go_read, go_write) = nix::unistd::pipe2(flags).unwrap();
    let (pid_write_fd, go_read_fd) = (pid_write.as_raw_fd(), go_read.as_raw_fd());
    std::thread::spawn(move || {
        let _keep = (pid_write, go_read); // open until the child has them
        let mut pid = [0u8; 4];
        if std::io::Read::read_exact(&mut std::fs::File::from(pid_read), &mut pid).is_err() {
            return;
        }
        let pid = i32::from_ne_bytes(pid);
        for map in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{map}"), format!("0 {SUBID_BASE} 65536\n")).unwrap();
        }
        std::fs::File::from(go_write).write_all(b"g").unwrap();
    });
    move || {
        let check = |rc: libc::c_long| if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)?;
        // SAFETY: raw system calls on descriptors and buffers that live in this process.
        unsafe {
            let pid = libc::getpid().to_ne_bytes();
            check(libc::write(pid_write_fd, pid.as_ptr().cast(), 4) as libc::c_long)?;
            let mut go = [0u8; 1];
            if libc::read(go_read_fd, go.as_mut_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::other("the parent wrote no mapping"));
            }
            check(libc::syscall(libc::SYS_setresgid, 0, 0, 0))?;
            check(libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()))?;
            check(libc::syscall(libc::SYS_setresuid, 0, 0, 0))?;
        }
        Ok(())
    }
}

fn sandbox_for(owner: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dest")).unwrap();
    std::fs::write(dir.path().join("layer.tar"), layer()).unwrap();
    for path in [dir.path().to_path_buf(), dir.path().join("dest"), dir.path().join("layer.tar")] {
        std::os::unix::fs::chown(&path, Some(owner), Some(owner)).unwrap();
    }
    dir
}

#[test]
fn an_ordinary_user_unpacks_with_ownership_caller() {
    if let (Ok(job), Ok(dir)) = (std::env::var(CHILD_JOB), std::env::var(CHILD_DIR)) {
        return child(&job, dir.into());
    }
    if !is_root() {
        eprintln!("skipped: becoming another user needs root");
        return;
    }
    let dir = sandbox_for(NOBODY);
    run_child("layer::tests::privileges::an_ordinary_user_unpacks_with_ownership_caller", "nobody", dir.path(), || {
        nix::unistd::setgroups(&[]).map_err(std::io::Error::from)?;
        nix::unistd::setresgid(NOBODY.into(), NOBODY.into(), NOBODY.into()).map_err(std::io::Error::from)?;
        nix::unistd::setresuid(NOBODY.into(), NOBODY.into(), NOBODY.into()).map_err(std::io::Error::from)
    });
    let d = dir.path().join("dest");
    let m = |p: &str| std::fs::symlink_metadata(d.join(p)).unwrap();
    for p in ["etc/passwd", "home/user/notes", "usr/bin/su", "ro", "ro/inside", "run/fifo"] {
        assert_eq!((m(p).uid(), m(p).gid()), (NOBODY, NOBODY), "{p} belongs to the caller");
    }
    assert_eq!(m("usr/bin/su").permissions().mode() & 0o7777, 0o4755);
    assert_eq!(m("ro").permissions().mode() & 0o7777, 0o555);
    assert!(m("run/fifo").file_type().is_fifo());
    assert!(!d.join("dev/null").exists() && !d.join("dev/sda").exists());
    let motd = m("etc/motd");
    assert!(motd.file_type().is_char_device() && motd.rdev() == 0, "a whiteout needs no privilege");
    assert_eq!(get_xattr(&d.join("var/cache"), "user.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert_eq!(get_xattr(&d.join("usr/bin/ping"), "user.note").as_deref(), Some(&b"kept"[..]));
    assert_eq!(get_xattr(&d.join("usr/bin/ping"), "security.capability"), None);
    let notes = std::fs::read_to_string(dir.path().join("notes")).unwrap();
    assert_eq!(
        notes,
        "1 extended attributes skipped: the caller may not set them (first: security.capability on usr/bin/ping)\n\
         2 device nodes skipped: the caller may not create them (first: dev/null)"
    );
}

#[test]
fn root_of_a_user_namespace_unpacks_into_subordinate_ids() {
    if let (Ok(job), Ok(dir)) = (std::env::var(CHILD_JOB), std::env::var(CHILD_DIR)) {
        return child(&job, dir.into());
    }
    if !is_root() {
        eprintln!("skipped: writing a user namespace's id mapping needs root");
        return;
    }
    let dir = sandbox_for(SUBID_BASE);
    run_child(
        "layer::tests::privileges::root_of_a_user_namespace_unpacks_into_subordinate_ids",
        "userns",
        dir.path(),
        enter_mapped_user_namespace(),
    );
    let d = dir.path().join("dest");
    let m = |p: &str| std::fs::symlink_metadata(d.join(p)).unwrap();
    let owner = |p: &str| (m(p).uid(), m(p).gid());
    assert_eq!(owner("etc/passwd"), (SUBID_BASE, SUBID_BASE));
    assert_eq!(owner("home/user/notes"), (SUBID_BASE + 1000, SUBID_BASE + 1000));
    assert_eq!(owner("nobody-file"), (SUBID_BASE + NOBODY, SUBID_BASE + NOBODY));
    assert_eq!(owner("usr/bin/su"), (SUBID_BASE, SUBID_BASE));
    assert_eq!(m("usr/bin/su").permissions().mode() & 0o7777, 0o4755, "setuid kept after the chown");
    assert_eq!(m("home/user").permissions().mode() & 0o7777, 0o700);
    // A file capability set by the namespace's root is stored for that root (v3, rootid).
    let cap = get_xattr(&d.join("usr/bin/ping"), "security.capability").expect("the capability is set");
    assert_eq!(cap[3], 3, "a v3 capability");
    assert_eq!(u32::from_le_bytes([cap[20], cap[21], cap[22], cap[23]]), SUBID_BASE);
    assert!(!d.join("dev/null").exists(), "no device node inside a user namespace");
    assert!(m("etc/motd").file_type().is_char_device());
    assert_eq!(get_xattr(&d.join("var/cache"), "user.overlay.opaque").as_deref(), Some(&b"y"[..]));
    let notes = std::fs::read_to_string(dir.path().join("notes")).unwrap();
    assert_eq!(notes, "2 device nodes skipped: the caller may not create them (first: dev/null)");
}
