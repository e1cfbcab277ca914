//! A Markdown pad: one text object at `text`, positions in UTF-16 code units.
//!
//! An editor sends splices together with the heads (document version) its positions
//! refer to. The core applies them at those heads and lets Automerge merge, so an edit
//! made while other changes were in flight lands where the person typed, not at a
//! shifted position. Changes this device made after those heads count as seen: they
//! came from the editor itself, which already shifted its positions for them.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{DocError, fields};

/// One editor edit: delete `delete` UTF-16 code units at `pos`, then insert `insert`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Splice {
    /// Position, in UTF-16 code units.
    pub pos: usize,
    /// How many UTF-16 code units to delete.
    #[serde(default)]
    pub delete: usize,
    /// What to insert.
    #[serde(default)]
    pub insert: String,
}

/// Longest pad text, in bytes.
pub const MAX_PAD_LEN: usize = 4 * 1024 * 1024;

/// Creates the text of a new pad. Only its creator calls this.
pub fn init(doc: &mut AutoCommit) -> Result<(), DocError> {
    doc.put_object(ROOT, "text", ObjType::Text)?;
    doc.commit();
    Ok(())
}

fn text_obj(doc: &AutoCommit) -> Result<ObjId, DocError> {
    fields::object(doc, &ROOT, "text", ObjType::Text)
        .ok_or_else(|| DocError::Malformed("the pad has no text".into()))
}

/// The pad's text.
pub fn text(doc: &AutoCommit) -> Result<String, DocError> {
    Ok(doc.text(text_obj(doc)?)?)
}

/// The current heads, as hex, for the editor's next splices.
pub fn heads_hex(doc: &mut AutoCommit) -> Vec<String> {
    doc.get_heads().iter().map(ToString::to_string).collect()
}

/// The heads to apply an editor's splices at: its `seen` heads plus this device's own
/// later changes; `None` when that is the current state (the usual case).
fn effective_heads(
    doc: &mut AutoCommit,
    seen: &[ChangeHash],
) -> Result<Option<Vec<ChangeHash>>, DocError> {
    if seen.is_empty() {
        return Ok(None);
    }
    let current = doc.get_heads();
    if seen == current.as_slice() {
        return Ok(None);
    }
    let missing = doc.get_missing_deps(seen);
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(2).map(ToString::to_string).collect();
        return Err(DocError::UnknownHeads(shown.join(", ")));
    }
    let me = doc.get_actor().clone();
    let since = doc.get_changes(seen);
    if since.iter().all(|c| c.actor_id() == &me) {
        return Ok(None);
    }
    let mut heads = seen.to_vec();
    if let Some(own) = since.iter().rev().find(|c| c.actor_id() == &me) {
        heads.push(own.hash());
    }
    Ok(Some(heads))
}

/// Applies a burst of splices, in order, at the heads the editor saw, as one change.
pub fn splice_many(
    doc: &mut AutoCommit,
    seen: &[ChangeHash],
    splices: &[Splice],
) -> Result<(), DocError> {
    let text = text_obj(doc)?;
    let at = effective_heads(doc, seen)?;
    if let Some(heads) = &at {
        doc.isolate(heads);
    }
    let result = apply_splices(doc, &text, splices);
    match result {
        Ok(()) => {
            doc.commit();
        }
        Err(_) => {
            doc.rollback();
        }
    }
    if at.is_some() {
        doc.integrate();
    }
    result
}

fn apply_splices(doc: &mut AutoCommit, text: &ObjId, splices: &[Splice]) -> Result<(), DocError> {
    for splice in splices {
        let len = doc.length(text);
        let end = splice.pos.saturating_add(splice.delete);
        if end > len {
            return Err(DocError::OutOfRange {
                pos: splice.pos,
                end,
                len,
            });
        }
        if len - splice.delete + splice.insert.encode_utf16().count() > MAX_PAD_LEN {
            return Err(DocError::TooLong {
                what: "the pad",
                len: len + splice.insert.len(),
                limit: MAX_PAD_LEN,
            });
        }
        let delete = isize::try_from(splice.delete).map_err(|_| DocError::OutOfRange {
            pos: splice.pos,
            end,
            len,
        })?;
        doc.splice_text(text, splice.pos, delete, &splice.insert)?;
    }
    Ok(())
}

/// Replaces the whole text, as the smallest set of edits Automerge's diff finds, so
/// that concurrent edits to the parts that did not change survive the merge.
pub fn replace(doc: &mut AutoCommit, new_text: &str) -> Result<(), DocError> {
    if new_text.len() > MAX_PAD_LEN {
        return Err(DocError::TooLong {
            what: "the pad",
            len: new_text.len(),
            limit: MAX_PAD_LEN,
        });
    }
    let text = text_obj(doc)?;
    doc.update_text(&text, new_text)?;
    doc.commit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::docs::new_doc;

    fn splice(pos: usize, delete: usize, insert: &str) -> Splice {
        Splice {
            pos,
            delete,
            insert: insert.into(),
        }
    }

    #[test]
    fn utf16_positions() {
        let mut doc = new_doc(ActorId::random());
        init(&mut doc).unwrap();
        splice_many(&mut doc, &[], &[splice(0, 0, "a😀b")]).unwrap();
        // 😀 is two UTF-16 code units: "b" starts at 3.
        splice_many(&mut doc, &[], &[splice(3, 1, "c")]).unwrap();
        assert_eq!(text(&doc).unwrap(), "a😀c");
        assert!(matches!(
            splice_many(&mut doc, &[], &[splice(3, 5, "")]),
            Err(DocError::OutOfRange { .. })
        ));
        assert_eq!(
            text(&doc).unwrap(),
            "a😀c",
            "a refused burst changes nothing"
        );
    }

    #[test]
    fn splices_at_stale_heads_land_where_the_person_typed() {
        let mut a = new_doc(ActorId::random());
        init(&mut a).unwrap();
        splice_many(&mut a, &[], &[splice(0, 0, "hello world")]).unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        let seen = b.get_heads();
        // A prepends while B's editor, still at `seen`, types at position 6 ("world").
        splice_many(&mut a, &[], &[splice(0, 0, ">> ")]).unwrap();
        b.merge(&mut a).unwrap();
        splice_many(&mut b, &seen, &[splice(6, 5, "there")]).unwrap();
        assert_eq!(text(&b).unwrap(), ">> hello there");
        // The editor's own earlier splices count as seen.
        let before_own = b.get_heads();
        splice_many(&mut b, &[], &[splice(14, 0, "!")]).unwrap();
        splice_many(&mut b, &before_own, &[splice(15, 0, "!")]).unwrap();
        assert_eq!(text(&b).unwrap(), ">> hello there!!");
        let unknown = [ChangeHash([9; 32])];
        assert!(matches!(
            splice_many(&mut b, &unknown, &[splice(0, 0, "x")]),
            Err(DocError::UnknownHeads(_))
        ));
    }

    #[test]
    fn replace_keeps_concurrent_edits_elsewhere() {
        let mut a = new_doc(ActorId::random());
        init(&mut a).unwrap();
        replace(&mut a, "line one\nline two\nline three\n").unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        replace(&mut a, "line ONE\nline two\nline three\n").unwrap();
        replace(&mut b, "line one\nline two\nline 3\n").unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(text(&a).unwrap(), "line ONE\nline two\nline 3\n");
    }
}
