//! open_in_layers: reading a file as the overlay of unpacked layers will show it.

use std::path::Path;

use super::*;
use crate::layer::open_in_layers;

/// Unpacks each tar into its own directory; returns them top layer first.
fn layers(tars: Vec<Vec<u8>>) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        let path = dir.path().join(format!("layer{i}"));
        std::fs::create_dir(&path).unwrap();
        unpack_tar(tar, &path, &caller_options()).unwrap();
        paths.push(path);
    }
    paths.reverse();
    (dir, paths)
}

fn read(paths: &[std::path::PathBuf], path: &str) -> Result<Option<String>, LayerError> {
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    open_in_layers(&refs, path, 1 << 20).map(|o| o.map(|v| String::from_utf8(v).unwrap()))
}

fn base() -> Vec<u8> {
    Tar::new()
        .dir("etc", 0o755)
        .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("etc/group", b"root:x:0:\n")
        .finish()
}

#[test]
fn the_top_layer_wins() {
    let (_d, l) = layers(vec![base(), Tar::new().dir("etc", 0o755).file("etc/passwd", b"upper\n").finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap().as_deref(), Some("upper\n"));
    assert_eq!(read(&l, "/etc/group").unwrap().as_deref(), Some("root:x:0:\n"), "directories merge");
    assert_eq!(read(&l, "etc/./passwd").unwrap().as_deref(), Some("upper\n"));
    assert_eq!(read(&l, "/etc/../etc/passwd").unwrap().as_deref(), Some("upper\n"));
    assert_eq!(read(&l, "/etc/shadow").unwrap(), None);
}

#[test]
fn whiteouts_and_opaque_directories_hide_what_is_below() {
    let (_d, l) = layers(vec![base(), Tar::new().file("etc/.wh.passwd", b"").finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);
    assert!(read(&l, "/etc/group").unwrap().is_some());

    let (_d, l) = layers(vec![base(), Tar::new().file(".wh.etc", b"").finish()]);
    assert_eq!(read(&l, "/etc/group").unwrap(), None, "a whiteout of a directory hides all below it");

    let (_d, l) = layers(vec![
        base(),
        Tar::new().dir("etc", 0o755).file("etc/.wh..wh..opq", b"").file("etc/group", b"new\n").finish(),
    ]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);
    assert_eq!(read(&l, "/etc/group").unwrap().as_deref(), Some("new\n"));

    // The directory removed and made again in one layer.
    let upper = Tar::new().file(".wh.etc", b"").dir("etc", 0o755).file("etc/group", b"new\n").finish();
    let (_d, l) = layers(vec![base(), upper]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);
    assert_eq!(read(&l, "/etc/group").unwrap().as_deref(), Some("new\n"));

    // A file between two directories ends the merge: the bottom layer's etc is hidden.
    let (_d, l) =
        layers(vec![base(), Tar::new().file("etc", b"a file").finish(), Tar::new().dir("etc", 0o755).finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);
    // A file where a directory is expected: nothing below it.
    let (_d, l) = layers(vec![base(), Tar::new().file("etc", b"a file").finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);
}

#[test]
fn symlinks_are_followed_inside_the_union_only() {
    let (_d, l) = layers(vec![
        Tar::new().dir("private/etc", 0o755).file("private/etc/passwd", b"private\n").finish(),
        Tar::new().symlink("etc", "/private/etc").dir("usr", 0o755).symlink("usr/up", "../../../../../..").finish(),
    ]);
    assert_eq!(
        read(&l, "/etc/passwd").unwrap().as_deref(),
        Some("private\n"),
        "a link in one layer, its target in another"
    );
    assert_eq!(read(&l, "/usr/up/private/etc/passwd").unwrap().as_deref(), Some("private\n"), ".. stops at the root");

    let sb = Sandbox::new();
    let sentinel = sb.outside().join("sentinel");
    let (_d, l) = layers(vec![Tar::new().dir("etc", 0o755).symlink("etc/passwd", sentinel.to_str().unwrap()).finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None, "an absolute target outside is looked up inside");
    let (_d, l) = layers(vec![Tar::new()
        .dir("etc", 0o755)
        .symlink("etc/passwd", "../../../../../../../../proc/self/environ")
        .finish()]);
    assert_eq!(read(&l, "/etc/passwd").unwrap(), None);

    let (_d, l) = layers(vec![Tar::new().symlink("a", "b").symlink("b", "a").finish()]);
    let e = read(&l, "/a").unwrap_err();
    assert_eq!(e.to_string(), "cannot read /a from the image's layers");
    let source = std::error::Error::source(&e).unwrap().downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(source.raw_os_error(), Some(libc::ELOOP));
}

#[test]
fn only_regular_files_of_bounded_size() {
    let (_d, l) = layers(vec![Tar::new()
        .dir("etc", 0o755)
        .node("etc/passwd", tar::EntryType::Fifo, 0, 0)
        .file("etc/group", &[b'x'; 100])
        .finish()]);
    // A FIFO is never opened (the read would block until a writer came).
    let e = read(&l, "/etc/passwd").unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.to_string().as_str()),
        ("not-regular-file", "/etc/passwd in the image is not a regular file")
    );
    assert_eq!(read(&l, "/etc").unwrap_err().code(), "not-regular-file");
    assert_eq!(read(&l, "/").unwrap_err().code(), "not-regular-file");
    let refs: Vec<&Path> = l.iter().map(|p| p.as_path()).collect();
    let e = open_in_layers(&refs, "/etc/group", 99).unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.to_string().as_str()),
        ("too-large", "/etc/group in the image is larger than 99 bytes")
    );
    assert_eq!(open_in_layers(&refs, "/etc/group", 100).unwrap().unwrap().len(), 100);
}

#[test]
fn devices_are_not_read() {
    if !is_root() {
        eprintln!("skipped: making a device node needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    nix::sys::stat::mknod(
        &dir.path().join("etc/passwd"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 5), // /dev/zero: endless, if it were read
    )
    .unwrap();
    let e = open_in_layers(&[dir.path()], "/etc/passwd", 1 << 20).unwrap_err();
    assert_eq!(e.code(), "not-regular-file");
}

#[test]
fn trusted_opaque_directories_of_root_layers() {
    if !is_root() {
        eprintln!("skipped: trusted.* attributes need root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (upper, lower) = (dir.path().join("upper"), dir.path().join("lower"));
    for (path, tar) in [(&lower, base()), (&upper, Tar::new().dir("etc", 0o755).file("etc/.wh..wh..opq", b"").finish())]
    {
        std::fs::create_dir(path).unwrap();
        let options = UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev);
        unpack_tar(&tar, path, &options).unwrap();
    }
    assert_eq!(open_in_layers(&[&upper, &lower], "/etc/passwd", 1 << 20).unwrap(), None);
    assert!(open_in_layers(&[&lower], "/etc/passwd", 1 << 20).unwrap().is_some());
}
