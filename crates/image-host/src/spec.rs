//! What building a container's spec needs from its image, before any root filesystem
//! exists: the image's run defaults, and its `/etc/passwd` and `/etc/group` read from the
//! stack of unpacked layers as the overlay will show them (`--user NAME`). Read in-process
//! (the addon, the runtime) and confined: `open_in_layers` resolves every path inside the
//! layers, reads only regular files and at most `MAX_DATABASE_SIZE` bytes.

use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;
use tscontainer_core::passwd::{self, Group, User, MAX_DATABASE_SIZE};
use tscontainer_core::spec::{resolve_user_in, ResolvedUser};
use tscontainer_image::layer::open_in_layers;
use tscontainer_image::store::ImageRecord;
use tscontainer_image::Store;

use crate::error::{HostError, Result};
use crate::inspect::run_config;
use crate::view::{ImageRunConfig, ImageUser};

/// A stored image, as a spec builder reads it.
#[derive(Debug, Clone)]
pub struct ImageForSpec {
    pub image: ImageRecord,
    pub config: ImageConfiguration,
    /// Its unpacked layers, top first.
    pub lowerdirs: Vec<PathBuf>,
}

impl ImageForSpec {
    /// The image `spec` names (a reference, an id or an id prefix).
    pub fn open(store: &Store, spec: &str) -> Result<ImageForSpec> {
        let image = store.image(spec)?;
        let config = store.image_config(&image)?;
        let lowerdirs = image.lowerdirs(store);
        Ok(ImageForSpec { image, config, lowerdirs })
    }

    /// The config's run defaults (`Env`, `Entrypoint`, `Cmd`, `WorkingDir`, `User`, ...).
    pub fn run_config(&self) -> ImageRunConfig {
        run_config(&self.config)
    }

    /// A file of the image (an absolute path in it), as the overlay of its layers shows it;
    /// `None` when it has no such file. At most `MAX_DATABASE_SIZE` bytes.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let layers: Vec<&std::path::Path> = self.lowerdirs.iter().map(PathBuf::as_path).collect();
        open_in_layers(&layers, path, MAX_DATABASE_SIZE)
            .map_err(|e| HostError::new(e.code(), tscontainer_core::error::chain(&e)))
    }

    /// The image's `/etc/passwd` entries (none when it has no such file).
    pub fn users(&self) -> Result<Vec<User>> {
        Ok(passwd::parse_users(&self.read_file("/etc/passwd")?.unwrap_or_default()))
    }

    /// The image's `/etc/group` entries.
    pub fn groups(&self) -> Result<Vec<Group>> {
        Ok(passwd::parse_groups(&self.read_file("/etc/group")?.unwrap_or_default()))
    }

    /// `--user` (`uid`, `uid:gid`, `name`, `name:group`) resolved as Docker resolves it
    /// against the image; `None` (or empty): the image's own `User`, else root.
    pub fn resolve_user(&self, user: Option<&str>) -> Result<ResolvedUser> {
        let configured = self.config.config().as_ref().and_then(|c| c.user().clone());
        let user = user.filter(|u| !u.is_empty()).or(configured.as_deref()).filter(|u| !u.is_empty());
        resolve_user_in(user, &self.users()?, &self.groups()?)
            .map_err(|e| HostError::invalid_option(tscontainer_core::error::chain(&e)))
    }

    /// [`ImageForSpec::resolve_user`] as JavaScript sees it.
    pub fn user(&self, user: Option<&str>) -> Result<ImageUser> {
        let r = self.resolve_user(user)?;
        Ok(ImageUser { uid: r.uid, gid: r.gid, additional_gids: r.additional_gids, home: r.home })
    }
}
