//! Pad requests: Markdown text edited as splices at the heads the editor saw.

use automerge::ChangeHash;

use crate::api::{ApiError, Event, PadView, Response};
use crate::docs::{self, DocInfo, Splice};
use crate::identity::check_name;
use crate::ids::{DocId, GroupId};
use crate::time::Timestamp;

use super::engine::{State, Tx, doc_error};
use super::groups::invalid;
use super::resolve::resolve;

impl State {
    pub(super) fn pad_create(
        &mut self,
        tx: &mut Tx,
        group: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, pad, name) = self.create_listed_doc(
            tx,
            group,
            "pad",
            name,
            |doc, _| docs::pad::init(doc),
            |doc, id, name| docs::directory::add_pad(doc, id, name, now),
        )?;
        Ok(Response::Pad(self.pad_view(&group, pad, name)?))
    }

    pub(super) fn pad_list(&mut self, group: &str) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        Ok(Response::Docs(self.directory(&group)?.pads.clone()))
    }

    pub(super) fn pad_rename(
        &mut self,
        tx: &mut Tx,
        group: &str,
        pad: &str,
        name: &str,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_pad(group, pad)?;
        let name = check_name("pad", name).map_err(invalid)?;
        self.rename_listed(tx, &group, "pads", &info.id.to_string(), &name)
    }

    pub(super) fn pad_get(&mut self, group: &str, pad: &str) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_pad(group, pad)?;
        Ok(Response::Pad(self.pad_view(&group, info.id, info.name)?))
    }

    /// Applies a burst of editor splices as one change. Answers with the new heads only:
    /// the editor already has the text, and copying it back per keystroke would cost
    /// O(length) on every key.
    pub(super) fn pad_splice(
        &mut self,
        tx: &mut Tx,
        group: &str,
        pad: &str,
        heads: &[String],
        splices: &[Splice],
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_pad(group, pad)?;
        let heads = heads
            .iter()
            .map(|h| {
                h.parse::<ChangeHash>()
                    .map_err(|_| invalid(format!("`{h}` is not a change hash")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.edit(tx, &group, &info.id, |doc| {
            docs::pad::splice_many(doc, &heads, splices)
        })?;
        tx.events.push(Event::PadChanged {
            group,
            pad: info.id,
        });
        let loaded = self.doc(&group, &info.id)?;
        Ok(Response::Heads(docs::pad::heads_hex(&mut loaded.doc)))
    }

    pub(super) fn pad_write(
        &mut self,
        tx: &mut Tx,
        group: &str,
        pad: &str,
        text: &str,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_pad(group, pad)?;
        self.edit(tx, &group, &info.id, |doc| docs::pad::replace(doc, text))?;
        tx.events.push(Event::PadChanged {
            group,
            pad: info.id,
        });
        Ok(Response::Pad(self.pad_view(&group, info.id, info.name)?))
    }

    fn resolve_pad(&mut self, group: &str, pad: &str) -> Result<(GroupId, DocInfo), ApiError> {
        let group = self.resolve_group(group)?;
        let pads = &self.directory(&group)?.pads;
        // An editor names its pad by id on every keystroke: find that without building
        // the candidate list.
        if let Some(found) = pad
            .parse::<DocId>()
            .ok()
            .and_then(|id| pads.iter().find(|p| p.id == id))
        {
            return Ok((group, found.clone()));
        }
        let candidates = pads
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone(), p.clone()))
            .collect();
        Ok((
            group,
            resolve("pad", pad, candidates, "see `plenum pad list GROUP`")?,
        ))
    }

    fn pad_view(&mut self, group: &GroupId, pad: DocId, name: String) -> Result<PadView, ApiError> {
        let loaded = self.doc(group, &pad)?;
        let text = docs::pad::text(&loaded.doc).map_err(doc_error)?;
        Ok(PadView {
            id: pad,
            name,
            text,
            heads: docs::pad::heads_hex(&mut loaded.doc),
        })
    }
}
