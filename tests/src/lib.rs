//! The harness the integration tests in `tests/tests/` share.
