//! Reading the JSON test vectors in `protocol-spec/vectors/`, for the tests that check
//! the code against them byte for byte.

use serde_json::Value;

/// The hex string `field` of `v`, decoded.
pub(crate) fn bytes(v: &Value, field: &str) -> Vec<u8> {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing field {field}"));
    hex::decode(s).unwrap_or_else(|e| panic!("{field}: {e}"))
}

/// The hex string `field` of `v`, decoded into exactly `N` bytes.
pub(crate) fn array<const N: usize>(v: &Value, field: &str) -> [u8; N] {
    bytes(v, field)
        .try_into()
        .unwrap_or_else(|_| panic!("{field} is not {N} bytes"))
}
