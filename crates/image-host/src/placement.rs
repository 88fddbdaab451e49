//! Who owns unpacked files, and so which host runs the operations that create or remove them.
//!
//! - root: files as the tar says, opaque directories marked with `trusted.overlay.opaque`
//!   (overlayfs mounted by root). Everything runs in the addon.
//! - an ordinary user without subordinate ids: no chown, every file is the user's (only root
//!   exists in such a user's containers), opaque directories marked with
//!   `user.overlay.opaque` (overlayfs mounted with `userxattr` in the container's user
//!   namespace). Everything runs in the addon.
//! - an ordinary user with subordinate ids (and newuidmap/newgidmap): files belong to the ids
//!   the image names, mapped as a rootless container maps them (0 is the user, 1..N the
//!   ranges /etc/subuid and /etc/subgid grant), so uid 1000 in the image is the first
//!   subordinate id + 999 on the host, as podman stores it. Only a process inside such a user
//!   namespace can make those files, or remove them (their directories belong to subordinate
//!   ids), and Node cannot enter one (DESIGN.md, invariant 1): pull, image removal, prune and
//!   a container's layer removal run in `tscontainer-runtime storage`; reading the store
//!   (images, inspect, tag, df, a container's new layer) still runs in the addon.

use std::path::PathBuf;

use tscontainer_core::userns::SubordinateRange;
use tscontainer_image::layer::{Ownership, UnpackOptions, WhiteoutFormat};
use tscontainer_image::Store;

use crate::error::{HostError, Result};
use crate::view::ImageHostInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Root,
    /// An ordinary user without usable subordinate ids.
    Caller,
    /// An ordinary user with subordinate ids: the operations that write layers run inside a
    /// user namespace with these maps.
    Mapped {
        uid: u32,
        gid: u32,
        uids: SubordinateRange,
        gids: SubordinateRange,
    },
}

impl Placement {
    /// This process's placement, from its effective ids and the host's subordinate id files.
    /// Cheap: it reads /etc/passwd, /etc/group, /etc/subuid and /etc/subgid.
    pub fn detect() -> Placement {
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        if uid == 0 {
            return Placement::Root;
        }
        match tscontainer_core::userns::subordinate_ranges(uid, gid) {
            Some((uids, gids)) => Placement::Mapped { uid, gid, uids, gids },
            None => Placement::Caller,
        }
    }

    /// How layers are unpacked: inside the user namespace for `Mapped`.
    pub fn unpack_options(&self) -> UnpackOptions {
        match self {
            Placement::Root => UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev),
            Placement::Caller => UnpackOptions::new(Ownership::Caller, WhiteoutFormat::OverlayUserXattr),
            Placement::Mapped { .. } => UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayUserXattr),
        }
    }

    /// Whether pull and removals must run in `tscontainer-runtime storage`.
    pub fn needs_runtime(&self) -> bool {
        matches!(self, Placement::Mapped { .. })
    }

    pub fn info(&self) -> ImageHostInfo {
        let (host, reason) = match self {
            Placement::Root => ("addon", "root unpacks images with the owners their layers name".to_string()),
            Placement::Caller => (
                "addon",
                "this user has no subordinate ids (or no newuidmap/newgidmap): unpacked files belong to the user"
                    .to_string(),
            ),
            Placement::Mapped { uids, .. } => (
                "runtime",
                format!(
                    "this user has subordinate ids ({}-{}): layers are unpacked and removed inside a user namespace that maps them",
                    uids.start,
                    u64::from(uids.start) + u64::from(uids.count) - 1
                ),
            ),
        };
        let ownership = match self.unpack_options().ownership {
            Ownership::AsInTar => "as-in-tar",
            Ownership::Caller => "caller",
        };
        ImageHostInfo { host: host.into(), ownership: ownership.into(), reason }
    }
}

/// The store root: `given`, else `$TSCONTAINER_STORAGE`, else root's `/var/lib/tscontainer`
/// or a user's `$XDG_DATA_HOME/tscontainer`. Decided before the runtime enters a user
/// namespace, where it would be root.
pub fn storage_root(given: Option<PathBuf>) -> Result<PathBuf> {
    given.filter(|p| !p.as_os_str().is_empty()).or_else(Store::default_root).ok_or_else(|| {
        HostError::invalid_option(
            "cannot tell where to store images: set HOME or XDG_DATA_HOME, or TSCONTAINER_STORAGE (or storageRoot)",
        )
    })
}

/// Opens the store at `root` for this placement.
pub fn open_store(root: PathBuf, placement: &Placement) -> Result<Store> {
    Ok(Store::open_with(root, placement.unpack_options())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_placement_unpacks_as_its_overlay_needs() {
        let range = SubordinateRange { start: 100000, count: 65536 };
        let mapped = Placement::Mapped { uid: 1000, gid: 1000, uids: range, gids: range };
        let opts = mapped.unpack_options();
        assert_eq!((opts.ownership, opts.whiteouts), (Ownership::AsInTar, WhiteoutFormat::OverlayUserXattr));
        assert!(mapped.needs_runtime());
        let info = mapped.info();
        assert_eq!((info.host.as_str(), info.ownership.as_str()), ("runtime", "as-in-tar"));
        assert!(info.reason.contains("100000-165535"), "{}", info.reason);
        let opts = Placement::Caller.unpack_options();
        assert_eq!((opts.ownership, opts.whiteouts), (Ownership::Caller, WhiteoutFormat::OverlayUserXattr));
        assert_eq!(Placement::Caller.info().host, "addon");
        let opts = Placement::Root.unpack_options();
        assert_eq!((opts.ownership, opts.whiteouts), (Ownership::AsInTar, WhiteoutFormat::OverlayCharDev));
        assert!(!Placement::Root.needs_runtime());
    }

    #[test]
    fn a_given_storage_root_wins() {
        assert_eq!(storage_root(Some("/srv/images".into())).unwrap(), PathBuf::from("/srv/images"));
    }
}
