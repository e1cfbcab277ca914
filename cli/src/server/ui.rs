//! The web UI's files, served at `/` without the token (the page reads the token from
//! the `#token=…` the node printed and sends it with every API request; the files
//! themselves are no secret). Embedded at build time (`cli/build.rs`), or read from
//! `PLENUM_UI_DIR` when set, for working on the UI without rebuilding `plenum`.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::Host;

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Where the files come from.
pub(crate) enum UiFiles {
    Embedded,
    Directory(PathBuf),
}

impl UiFiles {
    /// `PLENUM_UI_DIR` if set, else the embedded build.
    pub(crate) fn from_env() -> UiFiles {
        match std::env::var_os("PLENUM_UI_DIR") {
            Some(dir) if !dir.is_empty() => UiFiles::Directory(PathBuf::from(dir)),
            _ => UiFiles::Embedded,
        }
    }

    fn get(&self, name: &str) -> Option<Vec<u8>> {
        match self {
            UiFiles::Embedded => ASSETS
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, bytes)| bytes.to_vec()),
            UiFiles::Directory(dir) => std::fs::read(dir.join(name)).ok(),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, UiFiles::Embedded) && ASSETS.is_empty()
    }
}

/// A request path as a file name under the UI's root, refusing anything that could
/// leave it.
fn file_name(path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let relative = Path::new(path);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| path.to_owned())
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "webmanifest") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The page may load and connect only to this server; no frames, no plugins. Styles
/// may be inline because CodeMirror injects its own.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' blob:; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// `GET /…` outside `/api/`.
pub(super) async fn serve(State(host): State<Arc<Host>>, request: Request) -> Response {
    let files = &host.ui;
    if files.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            "This plenum was built without the web UI. Build it with \
             `npm --prefix ui ci && npm --prefix ui run build`, then rebuild plenum \
             (or set PLENUM_UI_DIR to the ui/dist directory).\n",
        )
            .into_response();
    }
    let Some(name) = file_name(request.uri().path()) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let Some(bytes) = files.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&name)),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_ui() {
        assert_eq!(file_name("/").as_deref(), Some("index.html"));
        assert_eq!(
            file_name("/assets/index-1a2b.js").as_deref(),
            Some("assets/index-1a2b.js")
        );
        assert_eq!(file_name("/../node.json"), None);
        assert_eq!(file_name("/assets/../../x"), None);
        assert_eq!(file_name("/./index.html"), None);
    }

    #[test]
    fn scripts_and_pages_get_their_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
