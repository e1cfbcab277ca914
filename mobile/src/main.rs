//! The mobile app built for the host (a desktop window at phone size), so it compiles
//! and runs where there is no Android SDK or Xcode.

fn main() {
    plenum_mobile::run();
}
