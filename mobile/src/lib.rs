//! Placeholder: the Tauri v2 mobile shell is built in its own issue (see README).
