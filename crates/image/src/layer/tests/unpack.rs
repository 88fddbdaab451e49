//! What an honest layer becomes on disk.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use tar::EntryType;

use super::*;
use crate::layer::{sync_filesystem, Limits};

#[test]
fn files_directories_links_and_times() {
    let sb = Sandbox::new();
    let tar = Tar::new()
        .dir("etc", 0o755)
        .file_with("etc/hostname", b"box\n", 0o640, 0, 0, 1_500_000_000)
        .dir("usr/bin", 0o555) // parent usr is implied
        .file_with("usr/bin/tool", b"#!/bin/sh\n", 0o755, 0, 0, 1_500_000_001)
        .symlink("bin", "/usr/bin")
        .hard_link("usr/bin/tool2", "usr/bin/tool")
        .node("run/fifo", EntryType::Fifo, 0, 0)
        .dir("tmp", 0o1777)
        .finish();
    let out = unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    assert_eq!(out.entries, 8);
    assert_eq!(out.size, tar.len() as u64);
    assert_eq!(out.diff_id, sha256(&tar));
    let d = sb.dest();
    assert_eq!(std::fs::read(d.join("etc/hostname")).unwrap(), b"box\n");
    let meta = std::fs::metadata(d.join("etc/hostname")).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.mtime()), (0o640, 1_500_000_000));
    assert_eq!(std::fs::read_link(d.join("bin")).unwrap(), Path::new("/usr/bin"));
    let tool = std::fs::metadata(d.join("usr/bin/tool")).unwrap();
    let tool2 = std::fs::metadata(d.join("usr/bin/tool2")).unwrap();
    assert_eq!((tool.ino(), tool.nlink()), (tool2.ino(), 2));
    assert!(std::fs::symlink_metadata(d.join("run/fifo")).unwrap().file_type().is_fifo());
    assert_eq!(std::fs::metadata(d.join("usr")).unwrap().mode() & 0o7777, 0o755, "an implied directory is 0755");
    // Directories get their mode and mtime after everything inside them was written.
    let bin = std::fs::metadata(d.join("usr/bin")).unwrap();
    assert_eq!((bin.mode() & 0o7777, bin.mtime()), (0o555, 1_600_000_000));
    assert_eq!(std::fs::metadata(d.join("etc")).unwrap().mtime(), 1_600_000_000);
    assert_eq!(std::fs::metadata(d.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    sb.assert_outside_untouched();
}

#[test]
fn ownership_and_special_bits_as_in_the_tar() {
    if !is_root() {
        eprintln!("skipped: chown to the tar's owners needs root (or a user namespace: see privileges.rs)");
        return;
    }
    let sb = Sandbox::new();
    let tar = Tar::new()
        .file_with("su", b"x", 0o4755, 0, 0, 1)
        .file_with("wall", b"x", 0o2755, 0, 5, 1)
        .file_with("owned", b"x", 0o644, 1234, 5678, 1)
        .node("dev/null", EntryType::Char, 1, 3)
        .node("dev/loop0", EntryType::Block, 7, 0)
        .finish();
    let options = UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev);
    let out = unpack_tar(&tar, &sb.dest(), &options).unwrap();
    let d = sb.dest();
    let m = |p: &str| std::fs::symlink_metadata(d.join(p)).unwrap();
    assert_eq!(m("su").mode() & 0o7777, 0o4755, "setuid survives the chown");
    assert_eq!((m("wall").mode() & 0o7777, m("wall").gid()), (0o2755, 5));
    assert_eq!((m("owned").uid(), m("owned").gid()), (1234, 5678));
    assert!(m("dev/null").file_type().is_char_device());
    assert_eq!(m("dev/null").rdev(), nix::sys::stat::makedev(1, 3));
    assert!(m("dev/loop0").file_type().is_block_device());
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

#[test]
fn ownership_caller_chowns_nothing() {
    let sb = Sandbox::new();
    let tar = Tar::new().file_with("owned", b"x", 0o644, 1234, 5678, 1).finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    let meta = std::fs::metadata(sb.dest().join("owned")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()));
}

#[test]
fn extended_attributes() {
    let sb = Sandbox::new();
    // cap_net_raw+ep as a v2 capability: the value's bytes include a newline (0x0a), which
    // a reader splitting PAX records on newlines would break.
    let cap: &[u8] = &[0, 0, 0, 2, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let tar = Tar::new()
        .pax(&[("SCHILY.xattr.user.mime", b"text/plain"), ("SCHILY.xattr.security.capability", cap)])
        .file("ping", b"x")
        .pax(&[("SCHILY.xattr.trusted.overlay.redirect", b"/etc"), ("SCHILY.xattr.user.overlay.opaque", b"y")])
        .dir("d", 0o755)
        .finish();
    let root = is_root();
    let options =
        if root { UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev) } else { caller_options() };
    let out = unpack_tar(&tar, &sb.dest(), &options).unwrap();
    assert_eq!(get_xattr(&sb.dest().join("ping"), "user.mime").as_deref(), Some(&b"text/plain"[..]));
    if root {
        assert_eq!(get_xattr(&sb.dest().join("ping"), "security.capability").as_deref(), Some(cap));
    }
    assert_eq!(get_xattr(&sb.dest().join("d"), "trusted.overlay.redirect"), None);
    assert_eq!(get_xattr(&sb.dest().join("d"), "user.overlay.opaque"), None);
    assert!(out.notes.iter().any(|n| n.starts_with("2 overlayfs attributes in the tar ignored")), "{:?}", out.notes);
}

#[test]
fn caller_ownership_sets_only_user_attributes() {
    let sb = Sandbox::new();
    let tar = Tar::new()
        .pax(&[("SCHILY.xattr.security.capability", &[1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])])
        .file("ping", b"x")
        .finish();
    let out = unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    assert_eq!(get_xattr(&sb.dest().join("ping"), "security.capability"), None);
    assert_eq!(
        out.notes,
        ["1 extended attributes skipped: the caller may not set them (first: security.capability on ping)"]
    );
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let sb = Sandbox::new();
    let tar = Tar::new()
        .dir("etc", 0o755)
        .file("etc/.wh.motd", b"")
        .dir("var/cache", 0o755)
        .file("var/cache/.wh..wh..opq", b"")
        .file("var/cache/kept", b"new")
        .finish();
    let out = unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    let motd = std::fs::symlink_metadata(sb.dest().join("etc/motd")).unwrap();
    assert!(motd.file_type().is_char_device());
    assert_eq!(motd.rdev(), 0);
    assert_eq!(get_xattr(&sb.dest().join("var/cache"), "user.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert!(!sb.dest().join("var/cache/.wh..wh..opq").exists());
    assert!(!sb.dest().join("etc/.wh.motd").exists());
    assert_eq!(std::fs::read(sb.dest().join("var/cache/kept")).unwrap(), b"new");
    assert_eq!(out.entries, 5);
}

#[test]
fn opaque_directories_for_root_use_trusted_xattrs() {
    if !is_root() {
        eprintln!("skipped: trusted.* attributes need root");
        return;
    }
    let sb = Sandbox::new();
    let tar = Tar::new().dir("d", 0o755).file("d/.wh..wh..opq", b"").finish();
    let options = UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev);
    unpack_tar(&tar, &sb.dest(), &options).unwrap();
    assert_eq!(get_xattr(&sb.dest().join("d"), "trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert_eq!(get_xattr(&sb.dest().join("d"), "user.overlay.opaque"), None);
}

#[test]
fn a_whiteout_removes_what_the_same_layer_made_before() {
    let sb = Sandbox::new();
    let tar = Tar::new()
        .file("a", b"x")
        .dir("d/sub", 0o755)
        .file("d/sub/f", b"y")
        .file(".wh.a", b"")
        .file(".wh.d", b"")
        .finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    for name in ["a", "d"] {
        let meta = std::fs::symlink_metadata(sb.dest().join(name)).unwrap();
        assert!(meta.file_type().is_char_device() && meta.rdev() == 0, "{name}");
    }
}

#[test]
fn the_later_duplicate_wins() {
    let sb = Sandbox::new();
    let tar = Tar::new()
        .file("f", b"one")
        .file("f", b"two")
        .dir("d", 0o700)
        .file("d/inner", b"x")
        .dir("d", 0o751) // a directory again: merged, the later mode
        .file("x", b"file")
        .dir("x", 0o755) // a file replaced by a directory
        .dir("y", 0o755)
        .file("y/inner", b"x")
        .file("y", b"now a file") // a directory replaced by a file, with what was inside
        .symlink("s", "f")
        .file("s", b"a file, not written through the link")
        .finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    let d = sb.dest();
    assert_eq!(std::fs::read(d.join("f")).unwrap(), b"two");
    assert_eq!(std::fs::metadata(d.join("d")).unwrap().mode() & 0o7777, 0o751);
    assert!(d.join("d/inner").exists());
    assert!(std::fs::metadata(d.join("x")).unwrap().is_dir());
    assert_eq!(std::fs::read(d.join("y")).unwrap(), b"now a file");
    assert!(std::fs::symlink_metadata(d.join("s")).unwrap().is_file());
    assert_eq!(std::fs::read(d.join("f")).unwrap(), b"two");
}

#[test]
fn the_root_entry_sets_the_directory_itself() {
    let sb = Sandbox::new();
    let tar = Tar::new().dir("./", 0o711).file("./a", b"x").finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    let meta = std::fs::metadata(sb.dest()).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.mtime()), (0o711, 1_600_000_000));
    assert!(sb.dest().join("a").exists());
}

#[test]
fn long_names_through_gnu_and_pax_records() {
    let sb = Sandbox::new();
    let deep = format!("{}/file", ["component"; 40].join("/"));
    let link_target = format!("/{}", "t".repeat(200));
    let pax_name = format!("{}/pax-file", ["p"; 100].join("/"));
    let tar = Tar::new()
        .file(&deep, b"gnu")
        .symlink("link", &link_target)
        .pax(&[("path", pax_name.as_bytes()), ("mtime", b"1234.5"), ("uid", b"0")])
        .file("short-name", b"pax")
        .finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    assert_eq!(std::fs::read(sb.dest().join(&deep)).unwrap(), b"gnu");
    assert_eq!(std::fs::read_link(sb.dest().join("link")).unwrap(), Path::new(&link_target));
    let meta = std::fs::metadata(sb.dest().join(&pax_name)).unwrap();
    assert_eq!((meta.mtime(), meta.mtime_nsec()), (1234, 500_000_000));
    assert!(!sb.dest().join("short-name").exists());
}

#[test]
fn the_diff_id_covers_the_whole_stream() {
    let sb = Sandbox::new();
    let mut tar = Tar::new().file("a", b"x").finish();
    tar.extend_from_slice(&[0u8; 4096]); // padding some writers add after the end marker
    tar.extend_from_slice(b"trailing bytes");
    let compressed = gzip(&tar);
    let out = unpack(&compressed[..], Compression::Gzip, &sb.dest(), &caller_options()).unwrap();
    assert_eq!((out.diff_id.clone(), out.size), (sha256(&tar), tar.len() as u64));

    let sb = Sandbox::new();
    let mut options = caller_options();
    options.expected_diff_id = Some(sha256(b"something else"));
    let e = unpack(&compressed[..], Compression::Gzip, &sb.dest(), &options).unwrap_err();
    assert_eq!(e.code(), "digest-mismatch");
    assert_eq!(
        e.to_string(),
        format!("layer diff_id is {}, the image says {}", sha256(&tar), sha256(b"something else"))
    );
}

#[test]
fn gzip_zstd_and_plain_and_what_the_magic_says() {
    let tar = Tar::new().file("a", b"x").finish();
    let mut two_members = gzip(&tar[..512]);
    two_members.extend_from_slice(&gzip(&tar[512..]));
    let zstd = zstd::encode_all(&tar[..], 3).unwrap();
    for (blob, declared, note) in [
        (tar.clone(), Compression::None, None),
        (gzip(&tar), Compression::Gzip, None),
        (two_members, Compression::Gzip, None),
        (zstd.clone(), Compression::Zstd, None),
        (zstd, Compression::Gzip, Some("the layer is declared gzip but is zstd; read as zstd")),
        (gzip(&tar), Compression::None, Some("the layer is declared uncompressed but is gzip; read as gzip")),
    ] {
        let sb = Sandbox::new();
        let out = unpack(&blob[..], declared, &sb.dest(), &caller_options()).unwrap();
        assert_eq!(out.diff_id, sha256(&tar));
        assert_eq!(std::fs::read(sb.dest().join("a")).unwrap(), b"x");
        assert_eq!(out.notes.first().map(String::as_str), note);
    }
}

#[test]
fn sparse_files_keep_their_holes() {
    if std::process::Command::new("tar").arg("--version").output().is_err() {
        eprintln!("skipped: no GNU tar to write sparse archives");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(work.path().join("sparse")).unwrap();
    file.set_len(64 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, b"middle", 32 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, b"end", (64 << 20) - 3).unwrap();
    for format in ["gnu", "posix"] {
        let archive = work.path().join(format!("{format}.tar"));
        let status = std::process::Command::new("tar")
            .args(["--sparse", &format!("--format={format}"), "-cf"])
            .arg(&archive)
            .arg("-C")
            .arg(work.path())
            .arg("sparse")
            .status()
            .unwrap();
        assert!(status.success());
        let tar = std::fs::read(&archive).unwrap();
        assert!(tar.len() < 1 << 20, "{format}: GNU tar wrote it sparse");
        let sb = Sandbox::new();
        unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
        let out = sb.dest().join("sparse");
        let meta = std::fs::metadata(&out).unwrap();
        assert_eq!(meta.len(), 64 << 20, "{format}");
        assert!(meta.blocks() * 512 < 1 << 20, "{format}: holes kept, {} blocks", meta.blocks());
        let data = std::fs::read(&out).unwrap();
        assert_eq!(&data[32 << 20..(32 << 20) + 6], b"middle");
        assert_eq!(&data[data.len() - 3..], b"end");
        assert!(data[..32 << 20].iter().all(|b| *b == 0));
    }
}

#[test]
fn a_directory_not_empty_is_refused() {
    let sb = Sandbox::new();
    std::fs::write(sb.dest().join("already"), "x").unwrap();
    let e = unpack_tar(&Tar::new().finish(), &sb.dest(), &caller_options()).unwrap_err();
    assert!(e.to_string().starts_with("cannot unpack into layer directory"), "{e}");
}

#[test]
fn an_empty_stream_is_an_empty_layer() {
    let sb = Sandbox::new();
    let out = unpack_tar(b"", &sb.dest(), &caller_options()).unwrap();
    assert_eq!((out.entries, out.diff_id), (0, sha256(b"")));
}

#[test]
fn a_truncated_stream_is_corrupt() {
    let tar = Tar::new().file("a", &[7u8; 5000]).finish();
    for cut in [100, 512 + 100, 2048] {
        let sb = Sandbox::new();
        let e = unpack_tar(&tar[..cut], &sb.dest(), &caller_options()).unwrap_err();
        assert_eq!(e.code(), "corrupt-layer", "{cut}: {e}");
    }
    let sb = Sandbox::new();
    let mut bad = tar.clone();
    bad[10] ^= 1; // the header's checksum no longer matches
    assert_eq!(unpack_tar(&bad, &sb.dest(), &caller_options()).unwrap_err().code(), "corrupt-layer");
}

#[test]
fn a_failing_source_is_an_io_error() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "registry went away"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'a');
            self.0 -= n;
            Ok(n)
        }
    }
    let sb = Sandbox::new();
    let e = unpack(Failing(100), Compression::None, &sb.dest(), &caller_options()).unwrap_err();
    assert!(matches!(&e, LayerError::Read(s) if s.to_string() == "registry went away"), "{e:?}");
    assert_eq!(e.code(), "io");
}

#[test]
fn limits_on_entries() {
    let sb = Sandbox::new();
    let mut tar = Tar::new();
    for i in 0..50 {
        tar = tar.file(&format!("f{i}"), b"");
    }
    let mut options = caller_options();
    options.limits = Limits { max_entries: 20, ..Limits::default() };
    let e = unpack_tar(&tar.finish(), &sb.dest(), &options).unwrap_err();
    assert_eq!((e.code().as_str(), e.to_string().as_str()), ("too-large", "layer exceeds the limit of 20 entries"));
}

#[test]
fn sync_filesystem_syncs() {
    let sb = Sandbox::new();
    sync_filesystem(&sb.dest()).unwrap();
    let e = sync_filesystem(&sb.dir.path().join("missing")).unwrap_err();
    assert_eq!(e.to_string(), format!("cannot open layer directory {}", sb.dir.path().join("missing").display()));
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    // The umask is per process: a child that sets 077 and unpacks would be cleaner, but the
    // modes asserted here are set explicitly (fchmod), so the test process's umask is enough.
    let sb = Sandbox::new();
    let tar = Tar::new().file_with("a/b/c", b"x", 0o666, 0, 0, 1).finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    let perms = |p: &str| std::fs::metadata(sb.dest().join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!((perms("a"), perms("a/b"), perms("a/b/c")), (0o755, 0o755, 0o666));
}

#[test]
fn limits_on_directory_names_held_to_the_end() {
    let sb = Sandbox::new();
    let mut tar = Tar::new();
    for i in 0..100 {
        tar = tar.dir(&format!("{}{i}", "d".repeat(100)), 0o755);
    }
    let mut options = caller_options();
    options.limits = Limits { max_directory_bytes: 5000, ..Limits::default() };
    let e = unpack_tar(&tar.finish(), &sb.dest(), &options).unwrap_err();
    assert_eq!(e.to_string(), "layer exceeds the limit of 5000 bytes of directory names");
}

#[test]
fn a_directory_named_twice_gets_the_later_owner() {
    if !is_root() {
        eprintln!("skipped: chown to the tar's owners needs root");
        return;
    }
    let sb = Sandbox::new();
    let mut tar = Tar::new().pax(&[("uid", b"1000"), ("gid", b"1000")]).dir("d", 0o755);
    tar = tar.dir("d", 0o755).dir("./", 0o755);
    let options = UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev);
    std::os::unix::fs::chown(sb.dest(), Some(4321), Some(4321)).unwrap();
    unpack_tar(&tar.finish(), &sb.dest(), &options).unwrap();
    let owner = |p: &Path| std::fs::metadata(p).map(|m| (m.uid(), m.gid())).unwrap();
    assert_eq!(owner(&sb.dest().join("d")), (0, 0));
    assert_eq!(owner(&sb.dest()), (0, 0), "the root entry's owner, whoever made the directory");
}

#[test]
fn a_directory_made_where_the_layer_has_a_whiteout_is_opaque() {
    let sb = Sandbox::new();
    // What `rm -rf z && mkdir z && touch z/new` can become: the old z goes, a new one comes.
    let tar =
        Tar::new().file(".wh.z", b"").dir("z", 0o755).file("z/new", b"").file(".wh.f", b"").file("f", b"x").finish();
    unpack_tar(&tar, &sb.dest(), &caller_options()).unwrap();
    assert_eq!(get_xattr(&sb.dest().join("z"), "user.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert!(sb.dest().join("z/new").exists());
    assert!(std::fs::symlink_metadata(sb.dest().join("f")).unwrap().is_file());
}

#[test]
fn the_compressed_stream_is_read_to_its_end() {
    struct Counting<'a>(&'a [u8], std::rc::Rc<std::cell::Cell<usize>>);
    impl std::io::Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = std::io::Read::read(&mut self.0, buf)?;
            self.1.set(self.1.get() + n);
            Ok(n)
        }
    }
    let tar = Tar::new().file("a", &[1u8; 100_000]).finish();
    for (blob, compression) in [
        (gzip(&tar), Compression::Gzip),
        (zstd::encode_all(&tar[..], 3).unwrap(), Compression::Zstd),
        (tar.clone(), Compression::None),
    ] {
        let sb = Sandbox::new();
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        unpack(Counting(&blob, read.clone()), compression, &sb.dest(), &caller_options()).unwrap();
        assert_eq!(read.get(), blob.len(), "{compression:?}");
    }
}
