//! Hostile layers: each shape is unpacked into `dest` of a sandbox whose `outside` holds a
//! sentinel, with both resolutions (openat2, and the walk used where openat2 is missing);
//! each is either refused with one sentence naming the entry or kept inside `dest`, and
//! nothing outside `dest` changes. Links point at the sandbox, never at the host's own
//! files, so that a regression cannot damage the machine running the tests.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tar::EntryType;

use super::*;
use crate::layer::fs::FORCE_WALK;
use crate::layer::Limits;

enum Expect {
    /// Refused: the error's code, and text its message contains.
    Refused(&'static str, &'static str),
    /// Unpacked, and then this holds of `dest`.
    Inside(fn(&Sandbox)),
}

struct Case {
    name: &'static str,
    tar: fn(&Sandbox) -> Vec<u8>,
    expect: Expect,
    limits: Option<Limits>,
}

fn outside(sb: &Sandbox) -> String {
    sb.outside().to_str().unwrap().to_string()
}

/// `dest` joined with an absolute path of the sandbox (where an absolute name lands).
fn in_dest(sb: &Sandbox, absolute: &str) -> std::path::PathBuf {
    sb.dest().join(absolute.trim_start_matches('/'))
}

fn read(path: impl AsRef<std::path::Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn cases() -> Vec<Case> {
    let case = |name, tar, expect| Case { name, tar, expect, limits: None };
    vec![
        case(
            "a name climbing out with ..",
            |_| Tar::new().raw(b'0', b"../outside/sentinel", b"", b"pwned").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry ../outside/sentinel: its name contains `..`"),
        ),
        case(
            "a name with .. inside it",
            |_| Tar::new().raw(b'0', b"a/../../outside/sentinel", b"", b"pwned").finish(),
            Expect::Refused("hostile-layer", "a/../../outside/sentinel"),
        ),
        case(
            "a symlink named with ..",
            |_| Tar::new().raw(b'2', b"../outside/link", b"/", b"").finish(),
            Expect::Refused("hostile-layer", "../outside/link"),
        ),
        case(
            "an absolute name",
            |sb| {
                Tar::new().pax(&[("path", format!("{}/sentinel", outside(sb)).as_bytes())]).file("x", b"pwned").finish()
            },
            Expect::Inside(|sb| assert_eq!(read(in_dest(sb, &format!("{}/sentinel", outside(sb)))), "pwned")),
        ),
        case(
            "a write through a symlink to an absolute directory that is not in the layer",
            |sb| Tar::new().symlink("a", &outside(sb)).file("a/sentinel", b"pwned").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry a/sentinel: a directory on its path is a dangling symlink",
            ),
        ),
        case(
            "a write through a symlink to an absolute directory (followed inside the layer)",
            |sb| {
                Tar::new()
                    .pax(&[("path", outside(sb).as_bytes())])
                    .dir("x", 0o755)
                    .symlink("a", &outside(sb))
                    .file("a/sentinel", b"pwned")
                    .finish()
            },
            Expect::Inside(|sb| {
                assert_eq!(read(in_dest(sb, &format!("{}/sentinel", outside(sb)))), "pwned");
                assert!(std::fs::symlink_metadata(sb.dest().join("a")).unwrap().is_symlink());
            }),
        ),
        case(
            "a write through a symlink to ..",
            |_| Tar::new().symlink("up", "..").file("up/outside/sentinel", b"pwned").finish(),
            Expect::Inside(|sb| assert_eq!(read(sb.dest().join("outside/sentinel")), "pwned")),
        ),
        case(
            "a write through a chain of symlinks climbing out",
            |_| {
                Tar::new()
                    .dir("a/b", 0o755)
                    .symlink("a/b/up", "../../../..")
                    .symlink("hop", "a/b/up")
                    .file("hop/outside/sentinel", b"pwned")
                    .finish()
            },
            Expect::Inside(|sb| assert_eq!(read(sb.dest().join("outside/sentinel")), "pwned")),
        ),
        case(
            "a file over a symlink to a file outside",
            |sb| Tar::new().symlink("s", &format!("{}/sentinel", outside(sb))).file("s", b"pwned").finish(),
            Expect::Inside(|sb| {
                assert!(std::fs::symlink_metadata(sb.dest().join("s")).unwrap().is_file());
                assert_eq!(read(sb.dest().join("s")), "pwned");
            }),
        ),
        case(
            "a hard link climbing out with ..",
            |_| Tar::new().raw(b'1', b"h", b"../outside/sentinel", b"").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry h: its hard link target is outside the layer"),
        ),
        case(
            "a hard link to an absolute path outside",
            |sb| {
                let target = format!("{}/sentinel", outside(sb));
                Tar::new().pax(&[("linkpath", target.as_bytes())]).raw(b'1', b"h", b"x", b"").finish()
            },
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry h: a directory on its path does not exist in this layer",
            ),
        ),
        case(
            "a hard link to a name the layer does not have",
            |_| Tar::new().dir("etc", 0o755).hard_link("h", "etc/shadow").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry h: its hard link target does not exist in this layer",
            ),
        ),
        case(
            "a hard link through a symlinked directory pointing outside",
            |sb| Tar::new().symlink("d", &outside(sb)).hard_link("h", "d/sentinel").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry h: a directory on its path does not exist in this layer",
            ),
        ),
        case(
            "a hard link through a symlink to ..",
            |_| Tar::new().symlink("d", "..").hard_link("h", "d/outside/sentinel").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry h: a directory on its path does not exist in this layer",
            ),
        ),
        case(
            "a hard link to a symlink pointing outside, then a write to the link",
            |sb| {
                Tar::new()
                    .symlink("s", &format!("{}/sentinel", outside(sb)))
                    .hard_link("h", "s")
                    .hard_link("h2", "s")
                    .file("h2", b"pwned")
                    .finish()
            },
            Expect::Inside(|sb| {
                let s = std::fs::symlink_metadata(sb.dest().join("s")).unwrap();
                let h = std::fs::symlink_metadata(sb.dest().join("h")).unwrap();
                assert!(h.is_symlink() && h.ino() == s.ino(), "a second name of the symlink itself");
                assert_eq!(read(sb.dest().join("h2")), "pwned");
                assert!(std::fs::symlink_metadata(sb.dest().join("h2")).unwrap().is_file());
            }),
        ),
        case(
            "a hard link to a directory",
            |_| Tar::new().dir("d", 0o755).hard_link("h", "d").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry h: it is a hard link to a directory"),
        ),
        case(
            "a directory replaced by a symlink, then written into",
            |sb| {
                Tar::new()
                    .pax(&[("path", outside(sb).as_bytes())])
                    .dir("x", 0o755)
                    .dir("d", 0o755)
                    .file("d/x", b"x")
                    .symlink("d", &outside(sb))
                    .file("d/sentinel", b"pwned")
                    .finish()
            },
            Expect::Inside(|sb| {
                assert!(std::fs::symlink_metadata(sb.dest().join("d")).unwrap().is_symlink());
                assert_eq!(read(in_dest(sb, &format!("{}/sentinel", outside(sb)))), "pwned");
            }),
        ),
        case(
            "a directory replaced by a symlink to .., then written into",
            |_| Tar::new().dir("d", 0o755).symlink("d", "..").file("d/outside/sentinel", b"pwned").finish(),
            Expect::Inside(|sb| assert_eq!(read(sb.dest().join("outside/sentinel")), "pwned")),
        ),
        case(
            "duplicates: a file, a symlink outside, a file again",
            |sb| {
                Tar::new()
                    .file("f", b"one")
                    .symlink("f", &format!("{}/sentinel", outside(sb)))
                    .file("f", b"pwned")
                    .finish()
            },
            Expect::Inside(|sb| assert_eq!(read(sb.dest().join("f")), "pwned")),
        ),
        case(
            "a whiteout through a symlink to ..",
            |_| Tar::new().symlink("up", "..").file("up/outside/.wh.sentinel", b"").finish(),
            Expect::Inside(|sb| {
                let w = std::fs::symlink_metadata(sb.dest().join("outside/sentinel")).unwrap();
                assert!(w.file_type().is_char_device() && w.rdev() == 0);
            }),
        ),
        case(
            "an opaque marker through a symlink to ..",
            |_| Tar::new().symlink("up", "..").file("up/outside/.wh..wh..opq", b"").finish(),
            Expect::Inside(|sb| {
                assert_eq!(get_xattr(&sb.dest().join("outside"), "user.overlay.opaque").as_deref(), Some(&b"y"[..]))
            }),
        ),
        case(
            "a whiteout of no name",
            |_| Tar::new().raw(b'0', b"etc/.wh..", b"", b"").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry etc/.wh..: it is a whiteout of no name"),
        ),
        case(
            "symlinks that loop",
            |_| Tar::new().symlink("l1", "l2").symlink("l2", "l1").file("l1/x", b"x").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry l1/x: its path loops through symlinks"),
        ),
        case(
            "a file under a file",
            |_| Tar::new().file("f", b"x").file("f/x", b"x").finish(),
            Expect::Refused("io", "cannot resolve the directory of layer entry f/x"),
        ),
        case(
            "the root as a file",
            |_| Tar::new().raw(b'0', b".", b"", b"pwned").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry .: it names the layer's root but is not a directory",
            ),
        ),
        case(
            "a name with a NUL byte",
            |_| Tar::new().pax(&[("path", b"etc/pass\0wd")]).file("x", b"").finish(),
            Expect::Refused("hostile-layer", "its name holds a NUL byte"),
        ),
        case(
            "a link target with a NUL byte",
            |_| Tar::new().pax(&[("linkpath", b"/etc\0")]).raw(b'2', b"s", b"x", b"").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry s: its link target holds a NUL byte"),
        ),
        case(
            "a name that drives the terminal",
            |_| Tar::new().raw(b'0', b"\x1b[2J\n/../x", b"", b"").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry \\u{1b}[2J\\n/../x: its name contains `..`"),
        ),
        case(
            "an owner out of range",
            |_| Tar::new().pax(&[("uid", b"4294967295")]).file("x", b"").finish(),
            Expect::Refused("hostile-layer", "refusing layer entry x: its owner is out of range"),
        ),
        case(
            "an entry type no layer holds",
            |_| Tar::new().raw(b'V', b"volume", b"", b"").finish(),
            Expect::Refused(
                "hostile-layer",
                "refusing layer entry volume: its tar entry type 'V' is not one a layer holds",
            ),
        ),
        case(
            "a GNU dumpdir entry",
            |_| Tar::new().raw(b'D', b"dir", b"", b"").finish(),
            Expect::Refused("hostile-layer", "its tar entry type 'D'"),
        ),
        case(
            "a huge GNU long name",
            |_| Tar::new().raw(b'L', b"././@LongLink", b"", &vec![b'n'; 1 << 20]).file("x", b"").finish(),
            Expect::Refused("hostile-layer", "its name is longer than 4096 bytes"),
        ),
        case(
            "a huge PAX path",
            |_| Tar::new().pax(&[("path", "p/".repeat(3000).as_bytes())]).file("x", b"").finish(),
            Expect::Refused("hostile-layer", "its name is longer than 4096 bytes"),
        ),
        case(
            "a huge PAX header",
            |_| Tar::new().pax(&[("SCHILY.xattr.user.big", &vec![b'v'; 2 << 20])]).file("x", b"").finish(),
            Expect::Refused("too-large", "layer exceeds the limit of 1048576 bytes in one PAX header"),
        ),
        case(
            "a symlink whose size field hides a header (read as Go reads it: no data)",
            |_| {
                let hidden = Tar::new().raw(b'0', b"../outside/sentinel", b"", b"pwned").finish();
                Tar::new().raw(b'2', b"s", b"t", &hidden).finish()
            },
            Expect::Refused("hostile-layer", "refusing layer entry ../outside/sentinel"),
        ),
        case(
            "a zero block, then a header",
            |_| {
                let mut tar = vec![0u8; 512];
                tar.extend(Tar::new().raw(b'0', b"../outside/sentinel", b"", b"pwned").finish());
                tar
            },
            Expect::Refused("corrupt-layer", "a zero block followed by a header"),
        ),
        Case {
            name: "a decompression bomb",
            tar: |_| {
                // 64 MiB of zeros in one file: about 64 KiB compressed.
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(EntryType::Regular);
                h.set_size(64 << 20);
                h.set_path("bomb").unwrap();
                h.set_mode(0o644);
                h.set_cksum();
                gz.write_all(h.as_bytes()).unwrap();
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..64 {
                    gz.write_all(&zeros).unwrap();
                }
                gz.write_all(&[0u8; 1024]).unwrap();
                gz.finish().unwrap()
            },
            expect: Expect::Refused("too-large", "layer exceeds the limit of 4194304 uncompressed bytes"),
            limits: Some(Limits { max_total_bytes: 4 << 20, ..Limits::default() }),
        },
        Case {
            name: "an entry bomb",
            tar: |_| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                for i in 0..5_000 {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(EntryType::Regular);
                    h.set_size(0);
                    h.set_path(format!("f{i}")).unwrap();
                    h.set_cksum();
                    gz.write_all(h.as_bytes()).unwrap();
                }
                gz.finish().unwrap()
            },
            expect: Expect::Refused("too-large", "layer exceeds the limit of 1000 entries"),
            limits: Some(Limits { max_entries: 1000, ..Limits::default() }),
        },
    ]
}

fn run_all(walk: bool) {
    FORCE_WALK.with(|f| f.set(walk));
    let mut failures = Vec::new();
    for case in cases() {
        let sb = Sandbox::new();
        let tar = (case.tar)(&sb);
        let mut options = caller_options();
        if let Some(limits) = case.limits {
            options.limits = limits;
        }
        let result = unpack(&tar[..], Compression::Gzip, &sb.dest(), &options);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            match (&case.expect, &result) {
                (Expect::Refused(code, text), Err(e)) => {
                    assert_eq!(e.code(), *code, "{e}");
                    assert!(e.to_string().contains(text), "message {:?} lacks {:?}", e.to_string(), text);
                }
                (Expect::Inside(check), Ok(_)) => check(&sb),
                (_, other) => panic!("unexpected outcome {other:?}"),
            }
            sb.assert_outside_untouched();
        }));
        if outcome.is_err() {
            failures.push(case.name);
        }
        if case.name == "a decompression bomb" {
            let written = std::fs::metadata(sb.dest().join("bomb")).map(|m| m.len()).unwrap_or(0);
            assert!(written <= 4 << 20, "the bomb stopped at the limit ({written} bytes written)");
        }
    }
    FORCE_WALK.with(|f| f.set(false));
    assert!(
        failures.is_empty(),
        "hostile layers not stopped ({}): {failures:?}",
        if walk { "walk" } else { "openat2" }
    );
}

#[test]
fn hostile_layers_with_openat2() {
    run_all(false);
}

#[test]
fn hostile_layers_with_the_walk_for_kernels_without_openat2() {
    run_all(true);
}

/// The sandbox itself notices a write outside `dest`: without that, every check above
/// would pass vacuously.
#[test]
fn the_sandbox_notices_an_escape() {
    let sb = Sandbox::new();
    std::fs::write(sb.outside().join("sentinel"), "pwned").unwrap();
    assert!(std::panic::catch_unwind(|| sb.assert_outside_untouched()).is_err());
    let sb = Sandbox::new();
    std::fs::hard_link(sb.outside().join("sentinel"), sb.dest().join("h")).unwrap();
    assert!(std::panic::catch_unwind(|| sb.assert_outside_untouched()).is_err());
    let sb = Sandbox::new();
    std::fs::write(sb.dir.path().join("new"), "x").unwrap();
    assert!(std::panic::catch_unwind(|| sb.assert_outside_untouched()).is_err());
}
