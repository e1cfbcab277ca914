//! The group directory: the group's name and its channels, pads and boards.
//!
//! Initialised once by the group's founder (`name`, and empty `channels`, `pads` and
//! `boards` maps); every later entry is a map created whole by whoever adds it. A
//! channel lists its segment documents in its own `segments` map; several devices may
//! add the same segment concurrently, which is one key and so never a duplicate.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ScalarValue};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{DocError, fields};
use crate::ids::{DocId, ItemId};
use crate::time::Timestamp;

/// The directory as people see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Directory {
    /// The group's name.
    pub name: String,
    /// Chat channels, by name.
    pub channels: Vec<ChannelInfo>,
    /// Pads, by name.
    pub pads: Vec<DocInfo>,
    /// Boards, by name.
    pub boards: Vec<DocInfo>,
}

/// A chat channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChannelInfo {
    /// The channel id.
    pub id: ItemId,
    /// Its name.
    pub name: String,
    /// Its segment documents, oldest first.
    pub segments: Vec<SegmentInfo>,
}

/// One segment of a channel: the messages of one key epoch and month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SegmentInfo {
    /// The segment document.
    pub doc: DocId,
    /// The key epoch (hex).
    pub epoch: String,
    /// The month, `YYYY-MM`; for imported history also a whole year, `YYYY`.
    pub month: String,
}

/// A pad or a board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DocInfo {
    /// The document id.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

const SECTIONS: [&str; 3] = ["channels", "pads", "boards"];

/// Initialises a new group's directory. Only the founder calls this.
pub fn init(doc: &mut AutoCommit, name: &str, _now: Timestamp) -> Result<(), DocError> {
    doc.put(ROOT, "name", name)?;
    for section in SECTIONS {
        doc.put_object(ROOT, section, ObjType::Map)?;
    }
    doc.commit();
    Ok(())
}

/// Renames the group.
pub fn rename(doc: &mut AutoCommit, name: &str) -> Result<(), DocError> {
    doc.put(ROOT, "name", name)?;
    doc.commit();
    Ok(())
}

/// Renames a channel, pad or board (`section` is "channels", "pads" or "boards").
pub fn rename_entry(
    doc: &mut AutoCommit,
    section_name: &str,
    key: &str,
    name: &str,
) -> Result<(), DocError> {
    let section = section(doc, section_name)?;
    let entry = fields::object(doc, &section, key, ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("no {section_name} entry {key}")))?;
    doc.put(&entry, "name", name)?;
    doc.commit();
    Ok(())
}

fn section(doc: &AutoCommit, name: &str) -> Result<ObjId, DocError> {
    fields::object(doc, &ROOT, name, ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("the directory has no {name}")))
}

fn add_entry(
    doc: &mut AutoCommit,
    section_name: &str,
    key: String,
    name: &str,
    now: Timestamp,
) -> Result<ObjId, DocError> {
    let section = section(doc, section_name)?;
    if fields::object(doc, &section, &key, ObjType::Map).is_some() {
        return Err(DocError::Exists(format!("{section_name} entry {key}")));
    }
    let entry = doc.put_object(&section, key, ObjType::Map)?;
    doc.put(&entry, "name", name)?;
    doc.put(&entry, "created_at", ScalarValue::Uint(now.as_millis()))?;
    Ok(entry)
}

/// Adds a chat channel.
pub fn add_channel(
    doc: &mut AutoCommit,
    id: ItemId,
    name: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    let entry = add_entry(doc, "channels", id.to_string(), name, now)?;
    doc.put_object(&entry, "segments", ObjType::Map)?;
    doc.commit();
    Ok(())
}

/// Records a segment document of a channel.
pub fn add_segment(
    doc: &mut AutoCommit,
    channel: ItemId,
    segment: DocId,
    epoch: &str,
    month: &str,
) -> Result<(), DocError> {
    let channels = section(doc, "channels")?;
    let entry = fields::object(doc, &channels, &channel.to_string(), ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("no channel {channel} in the directory")))?;
    let segments = fields::object(doc, &entry, "segments", ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("channel {channel} has no segments")))?;
    doc.put(&segments, segment.to_string(), format!("{epoch}/{month}"))?;
    doc.commit();
    Ok(())
}

/// Adds a pad.
pub fn add_pad(
    doc: &mut AutoCommit,
    id: DocId,
    name: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    add_entry(doc, "pads", id.to_string(), name, now)?;
    doc.commit();
    Ok(())
}

/// Adds a board.
pub fn add_board(
    doc: &mut AutoCommit,
    id: DocId,
    name: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    add_entry(doc, "boards", id.to_string(), name, now)?;
    doc.commit();
    Ok(())
}

fn entries(doc: &AutoCommit, section_name: &str) -> Vec<(String, ObjId, String, Timestamp)> {
    let Ok(section) = section(doc, section_name) else {
        return Vec::new();
    };
    let mut out: Vec<_> = fields::keys(doc, &section)
        .into_iter()
        .filter_map(|key| {
            let entry = fields::object(doc, &section, &key, ObjType::Map)?;
            let name = fields::string(doc, &entry, "name")?;
            let created = Timestamp(fields::uint(doc, &entry, "created_at").unwrap_or(0));
            Some((key, entry, name, created))
        })
        .collect();
    out.sort_by(|a, b| {
        a.2.to_lowercase()
            .cmp(&b.2.to_lowercase())
            .then_with(|| a.0.cmp(&b.0))
    });
    out
}

fn docs(doc: &AutoCommit, section_name: &str) -> Vec<DocInfo> {
    entries(doc, section_name)
        .into_iter()
        .filter_map(|(key, _, name, created_at)| {
            Some(DocInfo {
                id: key.parse().ok()?,
                name,
                created_at,
            })
        })
        .collect()
}

/// Reads the directory.
pub fn read(doc: &AutoCommit) -> Result<Directory, DocError> {
    let name = fields::string(doc, &ROOT, "name")
        .ok_or_else(|| DocError::Malformed("the directory has no name".into()))?;
    let channels = entries(doc, "channels")
        .into_iter()
        .filter_map(|(key, entry, name, _)| {
            let mut segments: Vec<SegmentInfo> =
                fields::object(doc, &entry, "segments", ObjType::Map)
                    .map(|s| {
                        fields::keys(doc, &s)
                            .into_iter()
                            .filter_map(|seg| {
                                let value = fields::string(doc, &s, &seg)?;
                                let (epoch, month) = value.split_once('/')?;
                                Some(SegmentInfo {
                                    doc: seg.parse().ok()?,
                                    epoch: epoch.into(),
                                    month: month.into(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            segments.sort_by(|a, b| (&a.month, &a.epoch, a.doc).cmp(&(&b.month, &b.epoch, b.doc)));
            Some(ChannelInfo {
                id: key.parse().ok()?,
                name,
                segments,
            })
        })
        .collect();
    Ok(Directory {
        name,
        channels,
        pads: docs(doc, "pads"),
        boards: docs(doc, "boards"),
    })
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::docs::new_doc;

    #[test]
    fn entries_and_concurrent_segments() {
        let mut a = new_doc(ActorId::random());
        init(&mut a, "Tenants", Timestamp(1)).unwrap();
        let general = ItemId::random();
        add_channel(&mut a, general, "general", Timestamp(1)).unwrap();
        let pad = DocId::random();
        add_pad(&mut a, pad, "Minutes", Timestamp(2)).unwrap();
        add_board(&mut a, DocId::random(), "Actions", Timestamp(3)).unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        let segment = DocId::random();
        // Both devices start this month's segment at the same time.
        add_segment(&mut a, general, segment, "e0", "2026-11").unwrap();
        add_segment(&mut b, general, segment, "e0", "2026-11").unwrap();
        add_channel(&mut b, ItemId::random(), "logistics", Timestamp(4)).unwrap();
        a.merge(&mut b).unwrap();
        let dir = read(&a).unwrap();
        assert_eq!(dir.name, "Tenants");
        assert_eq!(
            dir.channels
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["general", "logistics"]
        );
        assert_eq!(dir.channels[0].segments.len(), 1);
        assert_eq!(dir.channels[0].segments[0].month, "2026-11");
        assert_eq!(dir.pads[0].id, pad);
        assert_eq!(dir.boards[0].name, "Actions");
        assert!(matches!(
            add_pad(&mut a, pad, "again", Timestamp(5)),
            Err(DocError::Exists(_))
        ));
        rename(&mut a, "Tenants union").unwrap();
        assert_eq!(read(&a).unwrap().name, "Tenants union");
    }
}
