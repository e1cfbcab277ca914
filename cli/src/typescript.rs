//! `ui/src/api/types.ts`: the UI's API types, generated from the Rust types (the
//! core's `Request`/`Response`/`Event` and the local API's wire types), so the two
//! are never written twice by hand.
//!
//! The test below fails when the file is out of date;
//! `PLENUM_WRITE_UI_TYPES=1 cargo test -p plenum ui_types` rewrites it.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use ts_rs::{Config, TS, TypeVisitor};

use crate::wire::{ErrorBody, Health, InitBody, UnlockBody, WsOutgoing, WsRequest};

const HEADER: &str = "\
// Generated from the Rust API types by cli/src/typescript.rs; do not edit.
// Regenerate: PLENUM_WRITE_UI_TYPES=1 cargo test -p plenum ui_types
";

/// Every exported type reachable from the roots, each declared once, by name.
struct Declarations<'a> {
    config: &'a Config,
    visited: HashSet<TypeId>,
    by_name: BTreeMap<String, String>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and containers have no declaration of their own.
        if T::output_path().is_none() || !self.visited.insert(TypeId::of::<T>()) {
            return;
        }
        let mut declaration = T::docs().unwrap_or_default();
        declaration.push_str("export ");
        declaration.push_str(&T::decl(self.config));
        self.by_name.insert(T::ident(self.config), declaration);
        T::visit_dependencies(self);
    }
}

/// The whole file.
fn render() -> String {
    // JSON numbers: every integer in the API fits in a double.
    let config = Config::new().with_large_int("number");
    let mut declarations = Declarations {
        config: &config,
        visited: HashSet::new(),
        by_name: BTreeMap::new(),
    };
    declarations.visit::<plenum_core::api::Request>();
    declarations.visit::<plenum_core::api::Response>();
    declarations.visit::<plenum_core::api::Event>();
    declarations.visit::<plenum_core::api::ApiError>();
    declarations.visit::<WsRequest>();
    declarations.visit::<WsOutgoing>();
    declarations.visit::<ErrorBody>();
    declarations.visit::<Health>();
    declarations.visit::<InitBody>();
    declarations.visit::<UnlockBody>();
    let mut file = HEADER.to_owned();
    for declaration in declarations.by_name.values() {
        file.push('\n');
        file.push_str(declaration);
        file.push('\n');
    }
    file
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/api/types.ts")
}

#[test]
fn ui_types_match_the_rust_api() {
    let rendered = render();
    if std::env::var_os("PLENUM_WRITE_UI_TYPES").is_some() {
        std::fs::write(path(), &rendered).expect("writing ui/src/api/types.ts");
        return;
    }
    let current = std::fs::read_to_string(path()).unwrap_or_default();
    assert!(
        current == rendered,
        "ui/src/api/types.ts is out of date with the Rust API types: run \
         `PLENUM_WRITE_UI_TYPES=1 cargo test -p plenum ui_types` and commit the file"
    );
}
