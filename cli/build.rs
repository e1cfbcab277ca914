//! Embeds the built web UI (`ui/dist`, made by `npm --prefix ui run build`) into the
//! binary, so a release `plenum` is one file. Without `ui/dist` the binary still
//! builds; it then serves a page that says how to build the UI (or `PLENUM_UI_DIR`
//! points it at a directory on disk).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    } else {
        println!(
            "cargo:warning=ui/dist is missing: this plenum has no web UI; build it with `npm --prefix ui ci && npm --prefix ui run build`"
        );
    }
    files.sort();
    // Copies, so a UI rebuild while cargo compiles cannot pull files out from under
    // `include_bytes!`.
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let copies = out.join("ui");
    let _ = std::fs::remove_dir_all(&copies);
    for (name, path) in &mut files {
        let copy = copies.join(&*name);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&*path, &copy).unwrap_or_else(|e| {
            panic!(
                "cannot copy {}: {e} (was ui/dist rebuilt during the build? build again)",
                path.display()
            )
        });
        *path = copy;
    }
    let mut code = String::from("/// The built UI: (path under ui/dist, contents).\n");
    code.push_str("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display()
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("ui_assets.rs"), code).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative.to_string_lossy().replace('\\', "/");
            files.push((name, path));
        }
    }
}
