//! Plenum's mobile app: the same node (in the app's process, through `plenum-shell`)
//! and the same web UI as the desktop app, in a Tauri v2 mobile shell. It adds what
//! only phones have: the camera, through the barcode-scanner plugin, to read invite QR
//! codes.
//!
//! What differs on phones (see mobile/README.md): the data directory is the app's own
//! (`PLENUM_DATA` where the platform passes environment, as on the host build), LAN
//! discovery by raw mDNS sockets is off — Android wants a multicast lock and NSD, iOS
//! Bonjour with the local-network permission — and the node syncs while the app is in
//! the foreground.

use anyhow::Context;
use plenum::LocalOptions;
use tauri::{Manager, RunEvent};

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    let app = builder
        .invoke_handler(plenum_shell::handler())
        .setup(|app| {
            let dir = match std::env::var_os("PLENUM_DATA").filter(|d| !d.is_empty()) {
                Some(dir) => dir.into(),
                None => app
                    .path()
                    .app_data_dir()
                    .context("the app has no data directory")?
                    .join("plenum"),
            };
            let options = LocalOptions {
                ui: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                // Raw mDNS sockets are blocked (iOS) or need a multicast lock (Android).
                mdns: cfg!(not(mobile)) && std::env::var_os("PLENUM_NO_MDNS").is_none(),
                listen: Vec::new(),
                relays: Vec::new(),
            };
            plenum_shell::start_node(app, &dir, options)?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the app's configuration is built in; it cannot be invalid");
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            plenum_shell::stop_node(app);
        }
    });
}
