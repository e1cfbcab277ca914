//! Tauri's build step: reads tauri.conf.json and the capabilities, checks that the
//! UI it embeds (ui/dist) was built.

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    if !dist.is_file() {
        panic!(
            "ui/dist is missing: the mobile app embeds the web UI; build it first with `npm --prefix ui ci && npm --prefix ui run build`"
        );
    }
    tauri_build::build();
}
