//! A container root that is an overlay of image layers with an upper directory of its own
//! (DESIGN.md, "Images and storage"). The config says so with its first mount:
//!
//! ```json
//! {"destination": "/", "type": "overlay", "source": "overlay",
//!  "options": ["lowerdir=/layers/top:/layers/base", "upperdir=/c/upper", "workdir=/c/work"]}
//! ```
//!
//! `root.path` stays an ordinary (empty) directory, bound onto the staging mount point as
//! for any bundle; the overlay goes on top of it inside the container's own mount namespace,
//! so the host's mount table never holds it and it ends with the namespace, whatever
//! happens to the runtime. runc up to 1.2.7/1.3.2 and crun from 1.22 run the same bundle.
//!
//! The kernel takes the layers one by one (`lowerdir+`, Linux 6.8) through the mount API,
//! so their number and length are not bounded by mount(2)'s one page of options. Older
//! kernels get mount(2) with the first form of the options that fits in a page: the layers
//! as given; else relative to their common parent, which the init makes its working
//! directory for the call (short names under one parent, as containers/storage lays them
//! out with its `l/` links); else as `/proc/self/fd/N` of descriptors the init holds (about
//! 20 bytes a layer, whatever the layout).
//!
//! In a user namespace overlayfs cannot use `trusted.overlay.*` xattrs (they need
//! CAP_SYS_ADMIN in the initial namespace), so the mount always gets `userxattr` there: it
//! then reads opaque directories from `user.overlay.opaque`, as the image library writes
//! them for ordinary users, and records its own metadata in `user.*` of the upper directory.
//!
//! Where the kernel refuses overlayfs in the user namespace (EPERM before Linux 5.11; EPERM
//! or EINVAL over a filesystem it cannot stack there), the same layers go through
//! fuse-overlayfs when the runtime found it, and the error names both when it did not; a
//! config can ask for fuse-overlayfs outright (see `fuse`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use super::secure::fd_path;
use super::{fuse, open_dir, MountOptions, RootfsError, RootfsPlan};
use crate::spec::SpecError;
use crate::syscall::{FsParam, Syscall, MOUNT_ATTR_RDONLY};

/// Where the first mount must be to be the root overlay, for error messages.
const FIELD: &str = "mounts[0]";

/// The first kernel whose overlayfs takes `lowerdir+`.
const LOWERDIR_ADD_SINCE: (u32, u32) = (6, 8);

/// The most lower layers overlayfs stacks (`OVL_MAX_STACK`).
const MAX_LAYERS: usize = 500;

/// The longest value `fsconfig(2)` copies (its `strndup_user(value, 256)`).
const FSCONFIG_VALUE_MAX: usize = 255;

/// Generic options that the mount API sets on the superblock, as fsconfig flags.
const SUPERBLOCK_FLAGS: [(MsFlags, &str); 4] = [
    (MsFlags::MS_SYNCHRONOUS, "sync"),
    (MsFlags::MS_DIRSYNC, "dirsync"),
    (MsFlags::MS_LAZYTIME, "lazytime"),
    (MsFlags::MS_MANDLOCK, "mand"),
];

/// Options of the spec mount that make no sense for the container's root.
const REFUSED_OPTIONS: &[&str] = &[
    "bind",
    "rbind",
    "remount",
    "tmpcopyup",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
    "lowerdir+",
    "datadir+",
];

/// Whether a mount's destination is the container's `/` (`/`, `//`, `/.`).
pub fn is_on_root(m: &Mount) -> bool {
    m.destination().components().all(|c| matches!(c, Component::RootDir | Component::CurDir))
}

/// The root overlay entry of `mounts`, if it has one, and the mounts that go on top of it.
pub fn split(mounts: &[Mount]) -> (Option<&Mount>, &[Mount]) {
    match mounts.split_first() {
        Some((first, rest)) if is_on_root(first) => (Some(first), rest),
        _ => (None, mounts),
    }
}

/// The root overlay a config asks for, with its directories and options sorted out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootOverlay {
    /// The layers, uppermost first, as `lowerdir` lists them.
    pub lowers: Vec<PathBuf>,
    /// The container's own writable layer and overlayfs's work directory; without them the
    /// overlay is read-only.
    pub upper: Option<PathBuf>,
    pub work: Option<PathBuf>,
    /// The other overlayfs options, as given (`userxattr`, `volatile`, `index=off`, ...).
    pub options: Vec<String>,
    /// Generic mount flags among the options (`ro`, `nosuid`, `nodev`, `noexec`, atime).
    pub flags: MsFlags,
    /// What mountinfo shows as the mount's source (`overlay` unless the config says).
    pub source: String,
}

fn invalid(reason: impl Into<String>) -> SpecError {
    SpecError::invalid(FIELD, reason)
}

/// Checks one directory path of the overlay's options.
fn check_path(option: &str, path: &str) -> Result<PathBuf, SpecError> {
    if path.is_empty() {
        return Err(invalid(format!("{option} names an empty path")));
    }
    if !path.starts_with('/') {
        return Err(invalid(format!("{option} `{path}` is not an absolute path")));
    }
    // mount(2)'s option string cannot carry these, nor can overlayfs's own path lists.
    if let Some(c) = path.chars().find(|c| matches!(c, ',' | ':' | '\\') || c.is_control()) {
        return Err(invalid(format!("{option} `{path}` contains {c:?}, which overlayfs options cannot carry")));
    }
    Ok(PathBuf::from(path))
}

impl RootOverlay {
    /// Reads the root overlay from its spec mount; every error names the option at fault.
    pub fn parse(m: &Mount) -> Result<Self, SpecError> {
        let typ = m.typ().as_deref().unwrap_or_default();
        if typ != "overlay" {
            let shown =
                if typ.is_empty() { "a mount without a type".to_string() } else { format!("a mount of type `{typ}`") };
            return Err(invalid(format!("only an overlay can be mounted on `/`, not {shown}")));
        }
        let given = m.options().as_deref().unwrap_or_default();
        let (mut lowers, mut upper, mut work) = (None, None, None);
        let mut options = Vec::new();
        let mut generic = Vec::new();
        for option in given {
            let (key, value) = option.split_once('=').map_or((option.as_str(), None), |(k, v)| (k, Some(v)));
            if REFUSED_OPTIONS.contains(&key) {
                return Err(invalid(format!("option `{key}` does not apply to the container's root overlay")));
            }
            let slot = match key {
                "lowerdir" => &mut lowers,
                "upperdir" => &mut upper,
                "workdir" => &mut work,
                _ => {
                    if MountOptions::parse(&[option]).data.is_empty() {
                        generic.push(option.as_str());
                    } else {
                        options.push(option.clone());
                    }
                    continue;
                }
            };
            if slot.is_some() {
                return Err(invalid(format!("{key} is given twice")));
            }
            *slot = Some(value.unwrap_or_default());
        }
        let lowers = lowers.ok_or_else(|| invalid("an overlay root needs lowerdir, its layers"))?;
        let lowers = lowers.split(':').map(|p| check_path("lowerdir", p)).collect::<Result<Vec<_>, _>>()?;
        if lowers.len() > MAX_LAYERS {
            return Err(invalid(format!(
                "lowerdir names {} layers; overlayfs stacks at most {MAX_LAYERS}",
                lowers.len()
            )));
        }
        let (upper, work) = match (upper, work) {
            (Some(u), Some(w)) => (Some(check_path("upperdir", u)?), Some(check_path("workdir", w)?)),
            (None, None) => (None, None),
            (Some(_), None) => return Err(invalid("upperdir needs a workdir on the same filesystem")),
            (None, Some(_)) => return Err(invalid("workdir is only used with an upperdir")),
        };
        // Only a name for mountinfo; one fsconfig value at most.
        let source = m
            .source()
            .as_deref()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty() && s.len() <= FSCONFIG_VALUE_MAX && !s.contains(|c: char| c.is_control()))
            .unwrap_or_else(|| "overlay".into());
        Ok(RootOverlay { lowers, upper, work, options, flags: MountOptions::parse(&generic).flags, source })
    }

    /// Checks on the host what the config names, before anything is created: every
    /// directory exists (symlinks followed, as for bind sources), and the upper and work
    /// directories share a filesystem without one holding the other, the work directory
    /// without the marker a volatile mount leaves (overlayfs refuses those three with a bare
    /// EINVAL, its reason only in the kernel log).
    pub fn check_directories(&self) -> Result<(), SpecError> {
        let dir = |option: &str, path: &Path| match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Ok(meta),
            Ok(_) => Err(invalid(format!("{option} `{}` is not a directory", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(invalid(format!("{option} `{}` does not exist", path.display())))
            }
            Err(e) => Err(invalid(format!("{option} `{}`: {e}", path.display()))),
        };
        for lower in &self.lowers {
            dir("lowerdir", lower)?;
        }
        if let (Some(upper), Some(work)) = (&self.upper, &self.work) {
            let (u, w) = (dir("upperdir", upper)?, dir("workdir", work)?);
            if u.dev() != w.dev() {
                return Err(invalid(format!(
                    "upperdir `{}` and workdir `{}` are on different filesystems; overlayfs needs them on one",
                    upper.display(),
                    work.display()
                )));
            }
            // A volatile mount leaves this behind; overlayfs then refuses the workdir (EINVAL).
            let marker = work.join("work/incompat/volatile");
            if marker.exists() {
                return Err(invalid(format!(
                    "workdir `{}` still holds {} from an earlier volatile mount; overlayfs takes it only once that is removed",
                    work.display(),
                    marker.strip_prefix(work).unwrap_or(&marker).display()
                )));
            }
            let (u, w) = (std::fs::canonicalize(upper), std::fs::canonicalize(work));
            if let (Ok(u), Ok(w)) = (u, w) {
                if u.starts_with(&w) || w.starts_with(&u) {
                    return Err(invalid(format!(
                        "upperdir `{}` and workdir `{}` must be separate directories, neither inside the other",
                        upper.display(),
                        work.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The `MOUNT_ATTR_*` bits for the generic flags among the options that belong to the
    /// mount (the superblock's go to fsconfig; `silent` and `iversion` mean nothing here).
    fn mount_attrs(&self) -> u64 {
        const NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);
        [
            (MsFlags::MS_RDONLY, MOUNT_ATTR_RDONLY),
            (MsFlags::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
            (MsFlags::MS_NODEV, libc::MOUNT_ATTR_NODEV),
            (MsFlags::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
            (MsFlags::MS_NOATIME, libc::MOUNT_ATTR_NOATIME),
            (MsFlags::MS_STRICTATIME, libc::MOUNT_ATTR_STRICTATIME),
            (MsFlags::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME),
            (NOSYMFOLLOW, libc::MOUNT_ATTR_NOSYMFOLLOW),
        ]
        .into_iter()
        .filter(|(flag, _)| self.flags.contains(*flag))
        .fold(0, |attrs, (_, attr)| attrs | attr)
    }

    /// The options other than the layers, `userxattr` added when the mount needs it.
    fn other_options(&self, userxattr: bool) -> Vec<String> {
        let mut options = self.options.clone();
        if userxattr && !options.iter().any(|o| o == "userxattr") {
            options.insert(0, "userxattr".into());
        }
        options
    }

    /// The mount API's parameters: the source, the options, each layer with `lowerdir+`,
    /// then the upper and work directories. None when a path is longer than `fsconfig` takes.
    fn fs_params(&self, userxattr: bool) -> Option<Vec<FsParam>> {
        let source = FsParam::String("source".into(), self.source.clone());
        let superblock = SUPERBLOCK_FLAGS.iter().filter(|(flag, _)| self.flags.contains(*flag));
        let mut params: Vec<FsParam> = std::iter::once(source)
            .chain(superblock.map(|(_, name)| FsParam::Flag((*name).into())))
            .chain(self.other_options(userxattr).into_iter().map(|o| match o.split_once('=') {
                Some((key, value)) => FsParam::String(key.into(), value.into()),
                None => FsParam::Flag(o),
            }))
            .collect();
        let layers = self.lowers.iter().map(|l| ("lowerdir+", l));
        let writable = [("upperdir", &self.upper), ("workdir", &self.work)];
        for (key, path) in layers.chain(writable.iter().filter_map(|(k, p)| p.as_ref().map(|p| (*k, p)))) {
            let path = path.to_str()?;
            if path.len() > FSCONFIG_VALUE_MAX {
                return None;
            }
            params.push(FsParam::String(key.into(), path.into()));
        }
        Some(params)
    }

    /// mount(2)'s option string, with the layers under the given names.
    fn mount_data(&self, userxattr: bool, lowers: &[String]) -> String {
        let mut data = vec![format!("lowerdir={}", lowers.join(":"))];
        if let (Some(upper), Some(work)) = (&self.upper, &self.work) {
            data.push(format!("upperdir={}", upper.display()));
            data.push(format!("workdir={}", work.display()));
        }
        data.extend(self.other_options(userxattr));
        data.join(",")
    }

    /// The deepest directory that holds every layer.
    fn common_parent(&self) -> PathBuf {
        let mut parent = self.lowers.first().and_then(|l| l.parent()).unwrap_or(Path::new("/")).to_path_buf();
        while !self.lowers.iter().all(|l| l.starts_with(&parent) && l != &parent) {
            if !parent.pop() {
                break;
            }
        }
        parent
    }
}

/// Checks the config's mounts on `/`: only the first may be there, as an overlay, and only
/// in a mount namespace of the container's own.
pub fn validate(mounts: &[Mount], mount_namespace: bool) -> Result<(), SpecError> {
    if let Some(i) = mounts.iter().skip(1).position(is_on_root) {
        return Err(SpecError::invalid(
            format!("mounts[{}]", i + 1),
            "only the first mount may have destination `/` (the container's root overlay)",
        ));
    }
    if let (Some(m), _) = split(mounts) {
        RootOverlay::parse(m)?;
        if !mount_namespace {
            return Err(invalid("an overlay root needs a mount namespace of the container's own"));
        }
    }
    Ok(())
}

/// The root overlay of a spec, parsed, when it has one.
pub fn from_spec(spec: &oci_spec::runtime::Spec) -> Result<Option<RootOverlay>, SpecError> {
    split(spec.mounts().as_deref().unwrap_or_default()).0.map(RootOverlay::parse).transpose()
}

/// How the overlay reaches the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    /// The mount API, a `lowerdir+` per layer.
    MountApi(Vec<FsParam>),
    Legacy(Legacy),
}

/// The forms of mount(2)'s options, tried in this order: the first that fits in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Legacy {
    /// The layers as given.
    Absolute(String),
    /// The layers relative to `base`, the init's working directory for the call (short
    /// names under one parent, as containers/storage lays them out with its `l/` links).
    Relative { data: String, base: PathBuf },
    /// Each layer as `/proc/self/fd/N`, a descriptor of it the init holds: whatever the
    /// layout, about 20 bytes a layer.
    Descriptors,
}

/// The longest name a layer gets in the descriptor form: descriptors stay below the
/// kernel's ceiling on open files (`fs.nr_open`, at most 2^20).
const LONGEST_FD_PATH: &str = "/proc/self/fd/1048576";

/// What this host offers the overlay mount: read once, passed in so the choice can be tested.
#[derive(Debug, Clone, Copy)]
struct Kernel {
    version: (u32, u32),
    /// mount(2) copies one page of options, its terminating NUL included.
    page_size: usize,
}

impl Kernel {
    fn current() -> Self {
        let version = nix::sys::utsname::uname()
            .ok()
            .and_then(|u| {
                let release = u.release().to_string_lossy().into_owned();
                let mut parts = release.split(|c: char| !c.is_ascii_digit());
                Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
            })
            .unwrap_or((0, 0));
        let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| usize::try_from(p).ok())
            .unwrap_or(4096);
        Kernel { version, page_size }
    }
}

fn choose(overlay: &RootOverlay, userxattr: bool, kernel: Kernel) -> Result<Method, RootfsError> {
    if kernel.version >= LOWERDIR_ADD_SINCE {
        if let Some(params) = overlay.fs_params(userxattr) {
            return Ok(Method::MountApi(params));
        }
    }
    legacy(overlay, userxattr, kernel).map(Method::Legacy)
}

fn legacy(overlay: &RootOverlay, userxattr: bool, kernel: Kernel) -> Result<Legacy, RootfsError> {
    let fits = |data: &String| data.len() < kernel.page_size;
    let names = |name: &dyn Fn(&Path) -> String| overlay.lowers.iter().map(|l| name(l)).collect::<Vec<_>>();
    let absolute = overlay.mount_data(userxattr, &names(&|l| l.display().to_string()));
    if fits(&absolute) {
        return Ok(Legacy::Absolute(absolute));
    }
    let base = overlay.common_parent();
    if base != Path::new("/") {
        let relative = |l: &Path| l.strip_prefix(&base).unwrap_or(l).display().to_string();
        let data = overlay.mount_data(userxattr, &names(&relative));
        if fits(&data) {
            return Ok(Legacy::Relative { data, base });
        }
    }
    let longest = overlay.mount_data(userxattr, &names(&|_| LONGEST_FD_PATH.to_string()));
    if fits(&longest) {
        return Ok(Legacy::Descriptors);
    }
    Err(RootfsError::OverlayTooLong { layers: overlay.lowers.len(), bytes: longest.len(), limit: kernel.page_size - 1 })
}

/// Mounts the root overlay of `m` on top of `root`, the staging root's descriptor, and
/// returns a descriptor of the overlay's root: later mounts resolve their targets in it.
pub(super) fn mount(
    m: &Mount,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let overlay = RootOverlay::parse(m)?;
    mount_with(&overlay, root, plan, sys, Kernel::current())
}

/// The kernel's overlayfs, or fuse-overlayfs when the config asks for it, or when the kernel
/// refuses the overlay in a user namespace (EPERM before Linux 5.11; EPERM or EINVAL over a
/// filesystem it cannot stack there) and the runtime found fuse-overlayfs.
fn mount_with(
    overlay: &RootOverlay,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
    kernel: Kernel,
) -> Result<OwnedFd, RootfsError> {
    match &plan.fuse {
        Some(server) if server.requested => fuse::mount(overlay, root, server, sys)?,
        fallback => match mount_kernel(overlay, root, plan, sys, kernel) {
            Err(RootfsError::Mount { source, .. })
                if plan.in_user_namespace && matches!(source.errno, Errno::EPERM | Errno::EINVAL) =>
            {
                let Some(server) = fallback else { return Err(RootfsError::OverlayNeedsFuse(source)) };
                fuse::mount(overlay, root, server, sys)?
            }
            other => other?,
        },
    }
    // The staging directory's topmost mount is now the overlay.
    open_dir(plan.staging)
}

/// The kernel's overlayfs, by the first method that takes it.
fn mount_kernel(
    overlay: &RootOverlay,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
    kernel: Kernel,
) -> Result<(), RootfsError> {
    let userxattr = plan.in_user_namespace;
    let mount_err = |source| RootfsError::Mount { what: "the root overlay".into(), source };
    let form = match choose(overlay, userxattr, kernel)? {
        Method::MountApi(params) => match sys.mount_fs("overlay", &params, overlay.mount_attrs(), root) {
            // A seccomp profile around the runtime may hide the mount API; mount(2) remains.
            Err(e) if e.errno == Errno::ENOSYS => legacy(overlay, userxattr, kernel)?,
            other => return other.map(drop).map_err(mount_err),
        },
        Method::Legacy(form) => form,
    };
    let target = fd_path(root);
    let source = Path::new(&overlay.source);
    let flags = overlay.flags;
    let mount = |data: &str| sys.mount(Some(source), &target, Some("overlay"), flags, Some(data)).map_err(mount_err);
    match form {
        Legacy::Absolute(data) => mount(&data)?,
        Legacy::Relative { data, base } => {
            // The kernel resolves the layers' names from the working directory, which is
            // given back right after.
            let cwd = open(".", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(super::resolve_err(Path::new(".")))?;
            sys.chdir(&base).map_err(mount_err)?;
            let mounted = mount(&data);
            sys.chdir(&fd_path(cwd.as_fd())).map_err(mount_err)?;
            mounted?;
        }
        Legacy::Descriptors => {
            let layers = overlay
                .lowers
                .iter()
                .map(|l| {
                    open(l, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
                        RootfsError::Source {
                            source_path: l.clone(),
                            destination: PathBuf::from("/"),
                            source: e.into(),
                        }
                    })
                })
                .collect::<Result<Vec<OwnedFd>, _>>()?;
            let names: Vec<String> = layers.iter().map(|fd| fd_path(fd.as_fd()).display().to_string()).collect();
            mount(&overlay.mount_data(userxattr, &names))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};
    use std::os::fd::AsRawFd;

    fn mount(options: &[&str]) -> Mount {
        serde_json::from_value(serde_json::json!({
            "destination": "/", "type": "overlay", "source": "overlay", "options": options
        }))
        .unwrap()
    }

    fn parse_err(options: &[&str]) -> String {
        RootOverlay::parse(&mount(options)).unwrap_err().to_string()
    }

    const BASIC: &[&str] = &["lowerdir=/l/top:/l/base", "upperdir=/c/upper", "workdir=/c/work"];

    #[test]
    fn options_are_sorted_into_layers_flags_and_filesystem_options() {
        let o =
            RootOverlay::parse(&mount(&[BASIC, &["userxattr", "nosuid", "index=off", "ro", "sync"]].concat())).unwrap();
        assert_eq!(o.lowers, [Path::new("/l/top"), Path::new("/l/base")]);
        assert_eq!(o.upper.as_deref(), Some(Path::new("/c/upper")));
        assert_eq!(o.work.as_deref(), Some(Path::new("/c/work")));
        assert_eq!(o.options, ["userxattr", "index=off"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY | MsFlags::MS_SYNCHRONOUS);
        assert_eq!(o.mount_attrs(), libc::MOUNT_ATTR_NOSUID | MOUNT_ATTR_RDONLY);
        let params = o.fs_params(false).unwrap();
        assert_eq!(
            params[1..4],
            [
                FsParam::Flag("sync".into()),
                FsParam::Flag("userxattr".into()),
                FsParam::String("index".into(), "off".into())
            ]
        );
    }

    #[test]
    fn bad_options_are_refused_in_one_sentence_naming_the_option() {
        let cases: &[(&[&str], &str)] = &[
            (&["upperdir=/u", "workdir=/w"], "invalid config: mounts[0]: an overlay root needs lowerdir, its layers"),
            (&["lowerdir=layers/a"], "invalid config: mounts[0]: lowerdir `layers/a` is not an absolute path"),
            (&["lowerdir=/a::/b"], "invalid config: mounts[0]: lowerdir names an empty path"),
            (
                &["lowerdir=/a", "upperdir=u", "workdir=/w"],
                "invalid config: mounts[0]: upperdir `u` is not an absolute path",
            ),
            (
                &["lowerdir=/a", "upperdir=/u"],
                "invalid config: mounts[0]: upperdir needs a workdir on the same filesystem",
            ),
            (&["lowerdir=/a", "workdir=/w"], "invalid config: mounts[0]: workdir is only used with an upperdir"),
            (&["lowerdir=/a", "lowerdir=/b"], "invalid config: mounts[0]: lowerdir is given twice"),
            (
                &["lowerdir=/a,b"],
                "invalid config: mounts[0]: lowerdir `/a,b` contains ',', which overlayfs options cannot carry",
            ),
            (
                &["lowerdir=/a", "rbind"],
                "invalid config: mounts[0]: option `rbind` does not apply to the container's root overlay",
            ),
            (
                &["lowerdir+=/a"],
                "invalid config: mounts[0]: option `lowerdir+` does not apply to the container's root overlay",
            ),
        ];
        let many = format!("lowerdir={}", vec!["/l"; 501].join(":"));
        assert_eq!(
            parse_err(&[&many]),
            "invalid config: mounts[0]: lowerdir names 501 layers; overlayfs stacks at most 500"
        );
        for (options, expected) in cases {
            assert_eq!(parse_err(options), *expected, "{options:?}");
        }
        let mut bind = mount(BASIC);
        bind.set_typ(Some("bind".into()));
        assert_eq!(
            RootOverlay::parse(&bind).unwrap_err().to_string(),
            "invalid config: mounts[0]: only an overlay can be mounted on `/`, not a mount of type `bind`"
        );
    }

    #[test]
    fn only_the_first_mount_may_be_on_root_and_only_with_a_mount_namespace() {
        let proc: Mount = serde_json::from_str(r#"{"destination":"/proc","type":"proc","source":"proc"}"#).unwrap();
        let mut slash_dot = mount(BASIC);
        slash_dot.set_destination(PathBuf::from("//."));
        assert!(is_on_root(&slash_dot));
        validate(&[slash_dot.clone(), proc.clone()], true).unwrap();
        assert_eq!(
            validate(&[proc.clone(), slash_dot.clone()], true).unwrap_err().to_string(),
            "invalid config: mounts[1]: only the first mount may have destination `/` (the container's root overlay)"
        );
        assert_eq!(
            validate(&[slash_dot], false).unwrap_err().to_string(),
            "invalid config: mounts[0]: an overlay root needs a mount namespace of the container's own"
        );
        validate(&[proc], false).unwrap();
    }

    #[test]
    fn directories_must_exist_and_upper_and_work_share_a_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let d = |name: &str| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(&p).unwrap();
            p.display().to_string()
        };
        let (lower, upper, work) = (d("lower"), d("upper"), d("work"));
        let overlay = |upper: &str, work: &str| {
            RootOverlay::parse(&mount(&[
                &format!("lowerdir={lower}"),
                &format!("upperdir={upper}"),
                &format!("workdir={work}"),
            ]))
            .unwrap()
        };
        overlay(&upper, &work).check_directories().unwrap();
        let missing = format!("{}/missing", dir.path().display());
        assert_eq!(
            overlay(&missing, &work).check_directories().unwrap_err().to_string(),
            format!("invalid config: mounts[0]: upperdir `{missing}` does not exist")
        );
        std::fs::write(dir.path().join("file"), "").unwrap();
        let file = format!("{}/file", dir.path().display());
        assert!(overlay(&upper, &file).check_directories().unwrap_err().to_string().ends_with("is not a directory"));
        d("work/work/incompat/volatile");
        assert!(overlay(&upper, &work)
            .check_directories()
            .unwrap_err()
            .to_string()
            .ends_with("still holds work/incompat/volatile from an earlier volatile mount; overlayfs takes it only once that is removed"));
        std::fs::remove_dir_all(dir.path().join("work/work")).unwrap();
        let inside = d("upper/work");
        assert!(overlay(&upper, &inside)
            .check_directories()
            .unwrap_err()
            .to_string()
            .ends_with("must be separate directories, neither inside the other"));
        // /proc is a filesystem of its own wherever the tests run.
        let err = overlay(&upper, "/proc/self").check_directories().unwrap_err().to_string();
        assert!(err.ends_with("are on different filesystems; overlayfs needs them on one"), "{err}");
    }

    fn layers(count: usize, parent: &str) -> RootOverlay {
        let lowers: Vec<String> = (0..count).map(|i| format!("{parent}/{i}")).collect();
        RootOverlay::parse(&mount(&[&format!("lowerdir={}", lowers.join(":")), "upperdir=/c/u", "workdir=/c/w"]))
            .unwrap()
    }

    const NEW: Kernel = Kernel { version: (6, 8), page_size: 4096 };
    const DEBIAN_12: Kernel = Kernel { version: (6, 1), page_size: 4096 };

    #[test]
    fn new_kernels_take_the_layers_one_by_one() {
        let long_parent = format!("/{}", "x".repeat(200));
        let o = layers(120, &long_parent);
        let Method::MountApi(params) = choose(&o, true, NEW).unwrap() else { panic!("expected the mount API") };
        assert_eq!(params.len(), 2 + 120 + 2);
        assert_eq!(params[0], FsParam::String("source".into(), "overlay".into()));
        assert_eq!(params[1], FsParam::Flag("userxattr".into()));
        assert_eq!(params[2], FsParam::String("lowerdir+".into(), format!("{long_parent}/0")));
        assert_eq!(params[122], FsParam::String("upperdir".into(), "/c/u".into()));
        assert_eq!(params[123], FsParam::String("workdir".into(), "/c/w".into()));
        // A path fsconfig cannot carry sends the mount to mount(2).
        let too_long = layers(2, &format!("/{}", "y".repeat(300)));
        assert!(matches!(choose(&too_long, false, NEW).unwrap(), Method::Legacy(Legacy::Absolute(_))));
    }

    /// Layers under `count` different long directories of `/`: no common parent but `/`.
    fn scattered(count: usize, length: usize) -> RootOverlay {
        let lowers: Vec<String> = (0..count).map(|i| format!("/{i}{}", "z".repeat(length))).collect();
        RootOverlay::parse(&mount(&[&format!("lowerdir={}", lowers.join(":")), "upperdir=/c/u", "workdir=/c/w"]))
            .unwrap()
    }

    #[test]
    fn older_kernels_get_the_first_form_of_the_options_that_fits_in_a_page() {
        let form = |o: &RootOverlay| legacy(o, true, DEBIAN_12);
        assert_eq!(
            form(&layers(2, "/l")).unwrap(),
            Legacy::Absolute("lowerdir=/l/0:/l/1,upperdir=/c/u,workdir=/c/w,userxattr".into())
        );
        let long_parent = format!("/var/lib/{}", "x".repeat(100));
        let Legacy::Relative { data, base } = form(&layers(120, &long_parent)).unwrap() else { panic!() };
        assert_eq!(base, Path::new(&long_parent));
        assert!(data.starts_with("lowerdir=0:1:2:"), "{data}");
        assert!(data.ends_with(":119,upperdir=/c/u,workdir=/c/w,userxattr"), "{data}");
        // Nothing in common but `/`: descriptors, about 20 bytes a layer.
        assert_eq!(form(&scattered(120, 100)).unwrap(), Legacy::Descriptors);
        // More than even that takes: one sentence, with the numbers.
        let err = form(&scattered(200, 100)).unwrap_err().to_string();
        assert!(err.starts_with("cannot mount the root overlay: its 200 layers take 4"), "{err}");
        assert!(err.ends_with("even named by descriptors, more than the 4095 mount(2) takes; Linux 6.8 or later takes them one by one"), "{err}");
    }

    #[test]
    fn the_common_parent_is_the_deepest_directory_above_every_layer() {
        assert_eq!(layers(3, "/s/l").common_parent(), Path::new("/s/l"));
        let o = RootOverlay::parse(&mount(&["lowerdir=/s/l/a/x:/s/l/b:/s/l"])).unwrap();
        assert_eq!(o.common_parent(), Path::new("/s"));
        let o = RootOverlay::parse(&mount(&["lowerdir=/a"])).unwrap();
        assert_eq!(o.common_parent(), Path::new("/"));
    }

    fn view() -> crate::cgroups::ContainerView {
        crate::cgroups::ContainerView::Unified { host_dir: PathBuf::from("/sys/fs/cgroup") }
    }

    fn plan_for<'a>(
        spec: &'a oci_spec::runtime::Spec,
        rootfs: BorrowedFd<'a>,
        staging: &'a Path,
        view: &'a crate::cgroups::ContainerView,
        userns: bool,
    ) -> RootfsPlan<'a> {
        RootfsPlan {
            spec,
            bundle: Path::new("/"),
            rootfs,
            staging,
            cgroup_view: view,
            mount_namespace: true,
            cgroup_namespace: true,
            no_pivot: false,
            in_user_namespace: userns,
            fuse: None,
        }
    }

    /// Without fuse-overlayfs: only the kernel's overlayfs (the device is never opened).
    fn mount_kernel_or_fail(
        overlay: &RootOverlay,
        root: BorrowedFd<'_>,
        plan: &RootfsPlan<'_>,
        sys: &dyn Syscall,
        kernel: Kernel,
    ) -> Result<OwnedFd, RootfsError> {
        assert!(plan.fuse.is_none());
        mount_with(overlay, root, plan, sys, kernel)
    }

    #[test]
    fn the_mount_api_attaches_onto_the_root_descriptor_with_userxattr_in_a_user_namespace() {
        let staging = tempfile::tempdir().unwrap();
        let spec = crate::spec::default_spec().unwrap();
        let view = view();
        let root = open_dir(staging.path()).unwrap();
        let fake = FakeSyscall::new();
        mount_kernel_or_fail(
            &layers(2, "/l"),
            root.as_fd(),
            &plan_for(&spec, root.as_fd(), staging.path(), &view, true),
            &fake,
            NEW,
        )
        .unwrap();
        let calls = fake.calls();
        let [Call::MountFs { fstype, params, attrs, target }] = calls.as_slice() else { panic!("{calls:?}") };
        assert_eq!((fstype.as_str(), *attrs), ("overlay", 0));
        assert_eq!(target, &staging.path().canonicalize().unwrap());
        assert_eq!(params[1], FsParam::Flag("userxattr".into()));
    }

    /// What the init's channel would carry: a device from the runtime (/dev/null here), and
    /// back to it once mounted.
    struct Served(std::cell::RefCell<Vec<OwnedFd>>);

    type Sent = Result<(), crate::channel::ChannelError>;

    impl Served {
        fn serve(&self) -> impl Fn(OwnedFd) -> Sent + '_ {
            |device| {
                self.0.borrow_mut().push(device);
                Ok(())
            }
        }
    }

    fn device() -> Result<OwnedFd, crate::channel::ChannelError> {
        Ok(std::fs::File::open("/dev/null").unwrap().into())
    }

    /// The FUSE mount the fake saw, if any, and the descriptor it named.
    fn fuse_mount(fake: &FakeSyscall) -> Option<(String, String)> {
        fake.calls().into_iter().find_map(|c| match c {
            Call::Mount { fstype: Some(fstype), data: Some(data), .. } if fstype.starts_with("fuse") => {
                Some((fstype, data))
            }
            _ => None,
        })
    }

    #[test]
    fn a_kernel_that_refuses_the_overlay_in_a_user_namespace_falls_back_to_fuse_overlayfs() {
        let staging = tempfile::tempdir().unwrap();
        let spec = crate::spec::default_spec().unwrap();
        let view = view();
        let root = open_dir(staging.path()).unwrap();
        // Before Linux 5.11 a user namespace gets EPERM; a filesystem it cannot stack in one
        // (a layer on another overlay, say) EINVAL.
        for (errno, kernel) in [(Errno::EPERM, DEBIAN_12), (Errno::EINVAL, NEW), (Errno::EPERM, NEW)] {
            let kind = if kernel.version >= LOWERDIR_ADD_SINCE { "mount_fs" } else { "mount" };
            let served = Served(Default::default());
            let serve = served.serve();
            let mut plan = plan_for(&spec, root.as_fd(), staging.path(), &view, true);
            plan.fuse = Some(fuse::FuseServer { requested: false, device: &device, serve: &serve });
            let fake = FakeSyscall::new();
            fake.fail_nth(kind, 0, errno);
            mount_with(&layers(2, "/l"), root.as_fd(), &plan, &fake, kernel).unwrap();
            let (fstype, data) = fuse_mount(&fake).expect("a FUSE mount");
            assert_eq!(fstype, "fuse.fuse-overlayfs");
            let device = served.0.borrow_mut().pop().expect("the device sent to the runtime");
            assert_eq!(
                data,
                format!(
                    "fd={},rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions",
                    device.as_raw_fd()
                )
            );
            let Call::Mount { target, .. } = fake.calls().last().unwrap().clone() else { panic!() };
            assert_eq!(target, staging.path().canonicalize().unwrap(), "{errno}");
        }

        // Without fuse-overlayfs: one sentence naming both.
        let plan = plan_for(&spec, root.as_fd(), staging.path(), &view, true);
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_fs", 0, Errno::EPERM);
        let err = mount_kernel_or_fail(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).unwrap_err();
        assert_eq!(err.code(), crate::error::Code::Unsupported);
        assert!(crate::error::chain(&err).starts_with(
            "cannot mount the root overlay in a user namespace: the kernel's overlayfs allows that from Linux 5.11 (and not over every filesystem), and fuse-overlayfs is not installed (apt-get install fuse-overlayfs): "
        ), "{}", crate::error::chain(&err));
        assert_eq!(fuse_mount(&fake), None);
    }

    #[test]
    fn fuse_is_used_first_on_request_and_never_as_a_fallback_outside_a_user_namespace() {
        let staging = tempfile::tempdir().unwrap();
        let spec = crate::spec::default_spec().unwrap();
        let view = view();
        let root = open_dir(staging.path()).unwrap();
        let served = Served(Default::default());
        let serve = served.serve();

        // Requested: the kernel's overlayfs is not tried.
        let mut plan = plan_for(&spec, root.as_fd(), staging.path(), &view, false);
        plan.fuse = Some(fuse::FuseServer { requested: true, device: &device, serve: &serve });
        let fake = FakeSyscall::new();
        mount_with(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).unwrap();
        let kinds: Vec<&str> = fake.calls().iter().map(Call::kind).collect();
        assert_eq!(kinds, ["mount"]);
        assert!(fuse_mount(&fake).is_some());
        assert_eq!(served.0.borrow().len(), 1);

        // As root in the host's user namespace a refusal is the kernel's answer, reported.
        plan.fuse = Some(fuse::FuseServer { requested: false, device: &device, serve: &serve });
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_fs", 0, Errno::EPERM);
        let err = mount_with(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).unwrap_err();
        assert!(matches!(err, RootfsError::Mount { .. }), "{err}");
        assert_eq!(fuse_mount(&fake), None);

        // Any other refusal in a user namespace (ENOENT, say) is not the fallback's either.
        plan.in_user_namespace = true;
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_fs", 0, Errno::ENOENT);
        assert!(mount_with(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).is_err());
        assert_eq!(fuse_mount(&fake), None);

        // A runtime that does not answer (killed meanwhile): said so, nothing mounted.
        let closed = || Err(crate::channel::ChannelError::Closed { expected: "fuse device" });
        plan.fuse = Some(fuse::FuseServer { requested: true, device: &closed, serve: &serve });
        let fake = FakeSyscall::new();
        let err = mount_with(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).unwrap_err();
        assert_eq!(
            crate::error::chain(&err),
            "cannot have the root overlay served by the runtime: the container's init closed its channel before saying fuse device"
        );
        assert!(fake.calls().is_empty());
    }

    #[test]
    fn without_the_mount_api_the_overlay_goes_through_mount_2() {
        let staging = tempfile::tempdir().unwrap();
        let spec = crate::spec::default_spec().unwrap();
        let view = view();
        let root = open_dir(staging.path()).unwrap();
        let plan = plan_for(&spec, root.as_fd(), staging.path(), &view, false);
        let staged = staging.path().canonicalize().unwrap();

        // A seccomp profile that hides fsopen: the same options through mount(2).
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_fs", 0, Errno::ENOSYS);
        mount_kernel_or_fail(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).unwrap();
        let kinds: Vec<&str> = fake.calls().iter().map(Call::kind).collect();
        assert_eq!(kinds, ["mount_fs", "mount"]);
        let Call::Mount { data: Some(data), target, .. } = &fake.calls()[1] else { panic!() };
        assert_eq!((data.as_str(), target), ("lowerdir=/l/0:/l/1,upperdir=/c/u,workdir=/c/w", &staged));

        // Any other failure is the kernel's answer and is reported.
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_fs", 0, Errno::EINVAL);
        assert!(mount_kernel_or_fail(&layers(2, "/l"), root.as_fd(), &plan, &fake, NEW).is_err());
        assert_eq!(fake.calls_of("mount").len(), 0);

        // Too long for one page: relative to the layers' parent, the working directory for the call.
        let fake = FakeSyscall::new();
        let parent = format!("/var/lib/{}", "x".repeat(100));
        mount_kernel_or_fail(&layers(120, &parent), root.as_fd(), &plan, &fake, DEBIAN_12).unwrap();
        let kinds: Vec<&str> = fake.calls().iter().map(Call::kind).collect();
        assert_eq!(kinds, ["chdir", "mount", "chdir"]);
        assert_eq!(fake.calls()[0], Call::Chdir(PathBuf::from(&parent)));
        let Call::Mount { fstype, target, data: Some(data), .. } = &fake.calls()[1] else { panic!() };
        assert_eq!(fstype.as_deref(), Some("overlay"));
        assert_eq!(target, &staged);
        assert!(data.starts_with("lowerdir=0:1:"));
        assert_eq!(fake.calls()[2], Call::Chdir(std::env::current_dir().unwrap()));
    }

    #[test]
    fn scattered_layers_are_named_by_descriptors_the_init_holds() {
        let staging = tempfile::tempdir().unwrap();
        let spec = crate::spec::default_spec().unwrap();
        let view = view();
        let root = open_dir(staging.path()).unwrap();
        let plan = plan_for(&spec, root.as_fd(), staging.path(), &view, false);
        // Each layer under a long directory of its own: the relative names pass a page too.
        let store = tempfile::tempdir().unwrap();
        let lowers: Vec<PathBuf> = (0..40)
            .map(|i| {
                let l = store.path().join(format!("{i}{}", "d".repeat(150))).join("layer");
                std::fs::create_dir_all(&l).unwrap();
                l
            })
            .collect();
        let list: Vec<String> = lowers.iter().map(|l| l.display().to_string()).collect();
        let o = RootOverlay::parse(&mount(&[&format!("lowerdir={}", list.join(":"))])).unwrap();
        assert_eq!(legacy(&o, false, DEBIAN_12).unwrap(), Legacy::Descriptors);
        let fake = FakeSyscall::new();
        mount_kernel_or_fail(&o, root.as_fd(), &plan, &fake, DEBIAN_12).unwrap();
        let calls = fake.calls();
        let [Call::Mount { data: Some(data), .. }] = calls.as_slice() else { panic!("{calls:?}") };
        let names: Vec<&str> = data.trim_start_matches("lowerdir=").split(':').collect();
        assert_eq!(names.len(), 40);
        assert!(names.iter().all(|n| n.starts_with("/proc/self/fd/")), "{data}");
        // The descriptors are closed once the mount is made.
        assert!(names.iter().all(|n| std::fs::read_link(n).map_or(true, |p| !lowers.contains(&p))));
        // A layer that went away between the check and the mount is named.
        std::fs::remove_dir(&lowers[7]).unwrap();
        let err =
            mount_kernel_or_fail(&o, root.as_fd(), &plan, &FakeSyscall::new(), DEBIAN_12).unwrap_err().to_string();
        assert!(err.starts_with(&format!("mount source {} for /", lowers[7].display())), "{err}");
    }
}
