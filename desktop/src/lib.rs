//! Placeholder: the Tauri v2 desktop shell is built in its own issue (see README).
