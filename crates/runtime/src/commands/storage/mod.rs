//! `storage`: the image operations of `tscontainer_image_host::ops`, hosted in this process so
//! that an ordinary user with subordinate ids can run them inside a user namespace that maps
//! those ids (files of uid 1000 in an image belong to the first subordinate id + 999 on the
//! host, and only such a namespace can make or remove them). Root and users without
//! subordinate ids run them here without a namespace, exactly as the addon does. The
//! results are the addon's, as JSON lines (`output`).
//!
//! Everything that depends on who this process is (the placement, the store's root, the
//! auth files, registries.conf) is decided before the namespace, where it would be root.

use std::os::fd::AsFd;

mod output;
mod signals;
mod userns;

use tscontainer_image::registry::RegistryClient;
use tscontainer_image::Store;
use tscontainer_image_host::ops::{self, RegistryOptions};
use tscontainer_image_host::view::{ProgressEvent, PulledImage};
use tscontainer_image_host::{open_store, storage_root, HostError, Placement};

use crate::cli::{Storage, StorageLoad, StorageOperation, StoragePrune, StorageRemoveContainer, StorageRemoveImage};

pub fn run(args: Storage) -> anyhow::Result<i32> {
    let canceled_by = |e: &HostError| match signals::received() {
        Some(signal) if e.code == tscontainer_image_host::error::code_of("canceled") => 128 + signal,
        _ => 1,
    };
    match execute(args) {
        Ok(()) => Ok(0),
        Err(e) => {
            output::error(&e);
            Ok(canceled_by(&e))
        }
    }
}

/// An operation with what it needs from outside the namespace.
enum Prepared {
    Pull { client: Box<RegistryClient>, reference: String, platform: Option<String> },
    Load(StorageLoad),
    RemoveImage(StorageRemoveImage),
    Prune(StoragePrune),
    RemoveContainer(StorageRemoveContainer),
}

fn execute(args: Storage) -> Result<(), HostError> {
    let placement = Placement::detect();
    let root = storage_root(args.storage_root)?;
    let operation = match args.operation {
        // The client now, outside the namespace: the auth files are the user's.
        StorageOperation::Pull(p) => Prepared::Pull {
            client: Box::new(
                RegistryOptions { tls_verify: p.tls_verify, cert_dir: p.cert_dir, auth_file: p.authfile }.client()?,
            ),
            reference: p.reference,
            platform: p.platform,
        },
        StorageOperation::Load(l) => Prepared::Load(l),
        StorageOperation::RemoveImage(r) => Prepared::RemoveImage(r),
        StorageOperation::Prune(p) => Prepared::Prune(p),
        StorageOperation::RemoveContainer(r) => Prepared::RemoveContainer(r),
    };
    if let Placement::Mapped { uid, gid, uids, gids } = placement {
        userns::enter(uid, gid, uids, gids)
            .map_err(|e| HostError::new("user-namespace", tscontainer_core::error::chain(&e)))?;
    }
    let store = open_store(root, &placement)?;
    match operation {
        Prepared::Pull { client, reference, platform } => {
            output::result(&pull(&store, &client, &reference, platform.as_deref())?)
        }
        Prepared::Load(l) => {
            let cancel = canceling()?;
            let report = |event: &ProgressEvent| output::progress(event, cancel);
            let loaded = if l.input.as_os_str() == "-" {
                let stdin = std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| HostError::invalid_option(format!("cannot read standard input: {e}")))?;
                ops::load_from_descriptor(&store, stdin, "standard input", &report, cancel)?
            } else {
                ops::load(&store, &l.input, &report, cancel)?
            };
            output::result(&loaded)
        }
        Prepared::RemoveImage(r) => output::result(&ops::remove_image(&store, &r.image, r.force)?),
        Prepared::Prune(p) => output::result(&ops::prune(&store, p.all)?),
        Prepared::RemoveContainer(r) => {
            ops::remove_container_layers(&store, &r.id)?;
            output::result(&())
        }
    }
    Ok(())
}

fn pull(
    store: &Store,
    client: &RegistryClient,
    reference: &str,
    platform: Option<&str>,
) -> Result<PulledImage, HostError> {
    let cancel = canceling()?;
    let report = |event: &ProgressEvent| output::progress(event, cancel);
    ops::pull(store, client, reference, platform, &report, cancel)
}

/// The flag SIGINT and SIGTERM set, to stop a pull or a load.
fn canceling() -> Result<&'static std::sync::atomic::AtomicBool, HostError> {
    signals::cancel_on_signals()
        .map_err(|e| HostError::invalid_option(format!("cannot install the signal handlers: {e}")))?;
    Ok(&signals::CANCEL)
}
