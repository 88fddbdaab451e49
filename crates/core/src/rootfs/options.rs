//! Turning a spec mount's `options` into mount(2) flags, propagation changes and data.

use nix::mount::MsFlags;

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
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
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
}
