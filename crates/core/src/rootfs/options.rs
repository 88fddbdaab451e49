//! Turning a spec mount's `options` into mount(2) flags, propagation changes and data.

use nix::mount::MsFlags;

use crate::syscall::MountAttributes;

/// Mount propagation, as `rootfsPropagation` and the propagation mount options name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation(pub MsFlags);

impl Propagation {
    pub fn parse(name: &str) -> Option<Self> {
        let flags = match name {
            "private" => MsFlags::MS_PRIVATE,
            "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            "shared" => MsFlags::MS_SHARED,
            "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
            "slave" => MsFlags::MS_SLAVE,
            "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
            "unbindable" => MsFlags::MS_UNBINDABLE,
            "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
            _ => return None,
        };
        Some(Propagation(flags))
    }

    /// Whether it applies to the mounts below too (`r...`).
    pub fn recursive(self) -> bool {
        self.0.contains(MsFlags::MS_REC)
    }

    /// The propagation type alone, as mount_setattr(2) takes it.
    pub fn kind(self) -> u64 {
        (self.0 - MsFlags::MS_REC).bits()
    }
}

/// Every mount option this runtime understands (others are passed to the filesystem as
/// data), for `features`.
pub const KNOWN_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// A spec mount's options, sorted out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Flags an option turned off (`rw`, `exec`, ...), kept so a remount can tell them apart.
    pub cleared: MsFlags,
    pub propagation: Vec<Propagation>,
    /// Filesystem-specific options, comma-joined (`mode=755,size=65536k`).
    pub data: String,
    pub bind: bool,
    pub recursive: bool,
    /// runc's `tmpcopyup`: fill a new tmpfs with what the directory under it held.
    pub copy_up: bool,
    /// runc's recursive attributes (`rro`, `rnosuid`, ...): set on a bind mount and every
    /// mount below it with mount_setattr(2).
    pub recursive_attributes: MountAttributes,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            data: String::new(),
            bind: false,
            recursive: false,
            copy_up: false,
            recursive_attributes: MountAttributes::default(),
        }
    }
}

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Self {
        let mut o = MountOptions::default();
        let mut data = Vec::new();
        for opt in options.iter().map(AsRef::as_ref) {
            if let Some(p) = Propagation::parse(opt) {
                o.propagation.push(p);
                continue;
            }
            if let Some((clear, attribute)) = recursive_attribute(opt) {
                let r = &mut o.recursive_attributes;
                if clear {
                    r.clear |= attribute;
                    r.set &= !attribute;
                } else {
                    r.set |= attribute;
                    r.clear &= !attribute;
                }
                // An access-time mode is set by clearing the whole field first (mount_setattr(2)).
                if attribute & libc::MOUNT_ATTR__ATIME == attribute {
                    r.clear |= libc::MOUNT_ATTR__ATIME;
                }
                continue;
            }
            let (set, clear) = match opt {
                "bind" => {
                    o.bind = true;
                    (MsFlags::MS_BIND, MsFlags::empty())
                }
                "rbind" => {
                    o.bind = true;
                    o.recursive = true;
                    (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
                }
                "defaults" => (MsFlags::empty(), MsFlags::empty()),
                "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
                "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
                "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
                "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
                "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
                "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
                "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
                "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
                "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
                "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
                "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
                "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
                "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
                "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
                "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
                "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
                "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
                "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
                "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
                "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
                "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
                "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
                "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
                "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
                "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
                "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
                "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
                "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
                // MS_NOSYMFOLLOW (Linux 5.10) has no constant in nix.
                "nosymfollow" => (MsFlags::from_bits_retain(256), MsFlags::empty()),
                "symfollow" => (MsFlags::empty(), MsFlags::from_bits_retain(256)),
                "tmpcopyup" => {
                    o.copy_up = true;
                    continue;
                }
                other => {
                    data.push(other.to_string());
                    continue;
                }
            };
            o.flags = (o.flags - clear) | set;
            o.cleared = (o.cleared - set) | clear;
        }
        o.data = data.join(",");
        o
    }

    /// Flags that only a remount can apply to a bind mount (the bind itself ignores them).
    pub fn remount_flags(&self) -> MsFlags {
        self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
    }

    pub fn read_only(&self) -> bool {
        self.flags.contains(MsFlags::MS_RDONLY)
    }
}

/// runc's recursive mount attributes: the option, whether it clears the attribute, and the
/// `MOUNT_ATTR_*` bit.
fn recursive_attribute(option: &str) -> Option<(bool, u64)> {
    Some(match option {
        "rro" => (false, libc::MOUNT_ATTR_RDONLY),
        "rrw" => (true, libc::MOUNT_ATTR_RDONLY),
        "rnosuid" => (false, libc::MOUNT_ATTR_NOSUID),
        "rsuid" => (true, libc::MOUNT_ATTR_NOSUID),
        "rnodev" => (false, libc::MOUNT_ATTR_NODEV),
        "rdev" => (true, libc::MOUNT_ATTR_NODEV),
        "rnoexec" => (false, libc::MOUNT_ATTR_NOEXEC),
        "rexec" => (true, libc::MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (false, libc::MOUNT_ATTR_NODIRATIME),
        "rdiratime" => (true, libc::MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (false, libc::MOUNT_ATTR_RELATIME),
        "rnorelatime" => (true, libc::MOUNT_ATTR_RELATIME),
        "rnoatime" => (false, libc::MOUNT_ATTR_NOATIME),
        "ratime" => (true, libc::MOUNT_ATTR_NOATIME),
        "rstrictatime" => (false, libc::MOUNT_ATTR_STRICTATIME),
        "rnostrictatime" => (true, libc::MOUNT_ATTR_STRICTATIME),
        "rnosymfollow" => (false, libc::MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => (true, libc::MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// The per-mount flags a bind remount can change, as mount_setattr(2) names them. The
/// superblock's flags (`sync`, `mand`, ...) are not the bind mount's to change.
const PER_MOUNT: [(MsFlags, u64); 6] = [
    (MsFlags::MS_RDONLY, libc::MOUNT_ATTR_RDONLY),
    (MsFlags::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
    (MsFlags::MS_NODEV, libc::MOUNT_ATTR_NODEV),
    (MsFlags::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
    (MsFlags::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME),
    // MS_NOSYMFOLLOW (Linux 5.10) has no constant in nix.
    (MsFlags::from_bits_retain(256), libc::MOUNT_ATTR_NOSYMFOLLOW),
];

/// What a bind remount with exactly `flags` does (`mount -o bind,remount,FLAGS`), as
/// mount_setattr(2) attributes: the per-mount flags given are set and the others cleared,
/// but for `keep` (flags a user namespace locked on the source, which cannot be cleared and
/// which a remount must repeat); the access time changes only when `flags` name one.
pub fn remount_attributes(flags: MsFlags, keep: MsFlags) -> MountAttributes {
    let mut a = MountAttributes::default();
    for (flag, attribute) in PER_MOUNT {
        if flags.contains(flag) || keep.contains(flag) {
            a.set |= attribute;
        } else if flag != MsFlags::MS_NODIRATIME {
            a.clear |= attribute;
        }
    }
    let atime = MsFlags::MS_NOATIME | MsFlags::MS_RELATIME | MsFlags::MS_STRICTATIME | MsFlags::MS_NODIRATIME;
    if flags.intersects(atime) {
        if !flags.contains(MsFlags::MS_NODIRATIME) {
            a.clear |= libc::MOUNT_ATTR_NODIRATIME;
        }
        a.clear |= libc::MOUNT_ATTR__ATIME;
        a.set |= if flags.contains(MsFlags::MS_NOATIME) {
            libc::MOUNT_ATTR_NOATIME
        } else if flags.contains(MsFlags::MS_STRICTATIME) {
            libc::MOUNT_ATTR_STRICTATIME
        } else {
            libc::MOUNT_ATTR_RELATIME
        };
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_data_and_propagation_are_separated() {
        let o = MountOptions::parse(&["nosuid", "strictatime", "mode=755", "size=65536k", "rprivate"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, vec![Propagation(MsFlags::MS_PRIVATE | MsFlags::MS_REC)]);
        assert!(!o.bind);
    }

    #[test]
    fn later_options_win() {
        let o = MountOptions::parse(&["rbind", "ro", "rw"]);
        assert!(o.bind && o.recursive);
        assert!(!o.read_only());
        assert_eq!(o.remount_flags(), MsFlags::empty());
        let o = MountOptions::parse(&["bind", "rw", "ro", "nodev"]);
        assert_eq!(o.remount_flags(), MsFlags::MS_RDONLY | MsFlags::MS_NODEV);
    }

    #[test]
    fn recursive_attributes_are_runcs() {
        let o = MountOptions::parse(&["rbind", "ro", "rro", "rnosuid", "rnoatime", "rsuid"]);
        assert_eq!(o.recursive_attributes.set, libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOATIME);
        assert_eq!(o.recursive_attributes.clear, libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR__ATIME);
        assert_eq!(o.data, "", "recursive attributes are not filesystem data");
        assert!(o.read_only());
    }

    #[test]
    fn a_remount_sets_what_it_names_and_clears_the_rest_but_locked_flags() {
        let a = remount_attributes(MsFlags::MS_RDONLY, MsFlags::empty());
        assert_eq!(a.set, libc::MOUNT_ATTR_RDONLY);
        assert_eq!(
            a.clear,
            libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC | libc::MOUNT_ATTR_NOSYMFOLLOW
        );
        let a = remount_attributes(MsFlags::MS_RDONLY | MsFlags::MS_NOATIME, MsFlags::MS_NOSUID | MsFlags::MS_NODEV);
        assert_eq!(
            a.set,
            libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOATIME
        );
        assert_eq!(a.clear & libc::MOUNT_ATTR__ATIME, libc::MOUNT_ATTR__ATIME);
        assert_eq!(a.clear & (libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV), 0);
    }
}
