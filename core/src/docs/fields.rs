//! Reading typed fields out of Automerge maps that may have any shape: a field of the
//! wrong type reads as absent.

use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

pub(super) fn get<'a>(doc: &'a AutoCommit, obj: &ObjId, key: &str) -> Option<Value<'a>> {
    doc.get(obj, key).ok().flatten().map(|(value, _)| value)
}

pub(super) fn string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        _ => None,
    }
}

pub(super) fn uint(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<u64> {
    match get(doc, obj, key)? {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Uint(u) => Some(*u),
            ScalarValue::Int(i) => u64::try_from(*i).ok(),
            ScalarValue::Timestamp(t) => u64::try_from(*t).ok(),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

pub(super) fn boolean(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<bool> {
    match get(doc, obj, key)? {
        Value::Scalar(s) => s.as_bool(),
        Value::Object(_) => None,
    }
}

/// A nested object of type `kind` at `key`.
pub(super) fn object(doc: &AutoCommit, obj: &ObjId, key: &str, kind: ObjType) -> Option<ObjId> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Object(t), id) if t == kind => Some(id),
        _ => None,
    }
}

/// The keys of a map.
pub(super) fn keys(doc: &AutoCommit, obj: &ObjId) -> Vec<String> {
    doc.keys(obj).collect()
}

/// The keys of a map whose value is `true` (sets: assignees, labels, reactions).
pub(super) fn set_members(doc: &AutoCommit, obj: &ObjId) -> Vec<String> {
    keys(doc, obj)
        .into_iter()
        .filter(|k| boolean(doc, obj, k) == Some(true))
        .collect()
}
