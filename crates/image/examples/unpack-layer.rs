//! Unpacks one layer blob and reports what it cost:
//!
//!     unpack-layer BLOB MEDIA_TYPE DEST [--caller]
//!
//! DEST must not exist (it is made, then left for inspection). Prints one JSON line: wall and
//! CPU seconds, peak RSS, bytes and entries, MB/s and files/s of the uncompressed stream.
//! `bench/layer-unpack.sh` runs it beside `tar -x` and umoci.

use std::path::Path;
use std::time::Instant;

use tscontainer_image::layer::{unpack, Compression, Ownership, UnpackOptions, WhiteoutFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, blob, media_type, dest, rest @ ..] = args.as_slice() else {
        return Err("usage: unpack-layer BLOB MEDIA_TYPE DEST [--caller]".into());
    };
    let options = if rest.iter().any(|a| a == "--caller") {
        UnpackOptions::new(Ownership::Caller, WhiteoutFormat::OverlayUserXattr)
    } else {
        UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev)
    };
    let compression = Compression::from_media_type(media_type)?;
    std::fs::create_dir(dest)?;
    let file = std::fs::File::open(blob)?;
    let start = Instant::now();
    let out = unpack(file, compression, Path::new(dest), &options).map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    })?;
    let wall = start.elapsed().as_secs_f64();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    let (user, system) = (seconds(usage.user_time()), seconds(usage.system_time()));
    println!(
        "{{\"wall_s\":{wall:.3},\"user_s\":{user:.3},\"sys_s\":{system:.3},\"max_rss_kib\":{},\"bytes\":{},\"entries\":{},\"mb_per_s\":{:.0},\"files_per_s\":{:.0},\"diff_id\":\"{}\",\"notes\":{:?}}}",
        usage.max_rss(),
        out.size,
        out.entries,
        out.size as f64 / 1e6 / wall,
        out.entries as f64 / wall,
        out.diff_id,
        out.notes,
    );
    Ok(())
}
