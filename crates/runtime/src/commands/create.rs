use std::os::fd::{AsRawFd, OwnedFd};

use tscontainer_core::container;
use tscontainer_core::output::{Limits, OutputLog, Relay};

use super::{supervise, Context};
use crate::cli::Create;

pub fn run(ctx: &Context, args: Create) -> anyhow::Result<i32> {
    if args.supervise {
        container::block_signals()?;
    }
    let relay = match &args.output {
        Some(path) => {
            let limits = Limits::parse(args.output_max_size.as_deref(), args.output_max_files.as_deref())?;
            Some(Relay::new(OutputLog::open(path, limits)?)?)
        }
        None => None,
    };
    let created = match &relay {
        // The container's init inherits this process's stdout and stderr: for the clone they
        // are the pipe into the log, then /dev/null again, so that only the container's
        // processes hold the pipe and its end means they are all gone.
        Some((_, writer)) => {
            let null = OwnedFd::from(std::fs::OpenOptions::new().write(true).open("/dev/null")?);
            redirect_stdout_and_stderr(writer)?;
            let created = container::create(&ctx.create_options(&args.container, args.supervise));
            redirect_stdout_and_stderr(&null)?;
            created?
        }
        None => container::create(&ctx.create_options(&args.container, args.supervise))?,
    };
    let mut pipe = relay.map(|(pipe, writer)| {
        drop(writer);
        pipe
    });
    crate::logging::warn_all(&created.warnings);
    if args.supervise {
        let bundle = created.state.bundle.clone();
        let status = supervise::until_exit(ctx, &args.container.id, created, Ok(()), !args.rm, pipe.as_mut());
        if args.rm {
            remove_image_storage(&bundle, &args.container.id);
        }
        return status;
    }
    Ok(0)
}

/// After a supervised container of an image deleted itself (`create --supervise --rm`, what
/// `run -d --rm IMAGE` makes): its directory in the image store (`STORE/containers/ID`,
/// its bundle and writable layer) goes too, through `storage remove-container`, which
/// enters the user's namespace when the user's files there belong to subordinate ids.
/// Only a directory the store recorded as that container's is touched.
fn remove_image_storage(bundle: &std::path::Path, id: &str) {
    let store_dir = bundle.parent().filter(|p| p.file_name().is_some_and(|n| n == "containers"));
    let (Some(store_dir), Some(root)) = (store_dir, store_dir.and_then(std::path::Path::parent)) else { return };
    if bundle.file_name().is_none_or(|n| n != id) || !store_dir.join(id).join("container.json").exists() {
        return;
    }
    // This very executable: it may run from a sealed copy (sealed.rs) that has no path.
    let removed = std::process::Command::new("/proc/self/exe")
        .arg("storage")
        .arg("--storage-root")
        .arg(root)
        .args(["remove-container", id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match removed {
        Ok(status) if status.success() => {}
        Ok(status) => {
            crate::logging::warn(&format!("cannot remove the storage of container {id}: storage exited with {status}"))
        }
        Err(e) => crate::logging::warn(&format!("cannot remove the storage of container {id}: {e}")),
    }
}

fn redirect_stdout_and_stderr(to: &OwnedFd) -> std::io::Result<()> {
    for fd in [1, 2] {
        // SAFETY: dup2 onto the standard descriptors from one this function borrows; no
        // Rust object owns 1 and 2 beyond std's handles, which only ever write to them.
        if unsafe { libc::dup2(to.as_raw_fd(), fd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
