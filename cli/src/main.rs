//! The `plenum` command line.

fn main() {}
