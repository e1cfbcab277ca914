//! Board requests: columns and cards, moved by fractional index.

use crate::api::{ApiError, BoardView, Event, Response};
use crate::docs::{self, Card, CardEdit, DocInfo};
use crate::group::directory_doc;
use crate::identity::check_name;
use crate::ids::{DocId, GroupId, ItemId};
use crate::time::Timestamp;

use super::engine::{State, Tx, doc_error};
use super::groups::invalid;
use super::resolve::resolve;

impl State {
    pub(super) fn board_create(
        &mut self,
        tx: &mut Tx,
        group: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        let name = check_name("board", name).map_err(invalid)?;
        let board = DocId::random();
        self.create_doc(tx, &group, board)?;
        self.edit(tx, &group, &board, |doc| docs::board::init(doc, &name))?;
        self.edit(tx, &group, &directory_doc(&group), |doc| {
            docs::directory::add_board(doc, board, &name, now)
        })?;
        tx.events.push(Event::GroupChanged { group });
        self.board_response(&group, board, None)
    }

    pub(super) fn board_list(&mut self, group: &str) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        Ok(Response::Docs(self.directory(&group)?.boards.clone()))
    }

    pub(super) fn board_show(&mut self, group: &str, board: &str) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        self.board_response(&group, info.id, None)
    }

    pub(super) fn column_add(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        title: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let title = check_name("column", title).map_err(invalid)?;
        let column = ItemId::random();
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::add_column(doc, column, &title, now)
        })?;
        self.board_changed(tx, &group, info.id, column)
    }

    pub(super) fn card_add(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        column: &str,
        title: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let column = self.resolve_column(&group, info.id, column)?;
        let by = self.me(&group)?.id();
        let card = ItemId::random();
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::add_card(doc, card, column, title, by, now)
        })?;
        self.board_changed(tx, &group, info.id, card)
    }

    pub(super) fn card_move(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        column: &str,
        index: Option<usize>,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?.id;
        let column = self.resolve_column(&group, info.id, column)?;
        let index = index.unwrap_or(usize::MAX);
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::move_card(doc, card, column, index)
        })?;
        self.board_changed(tx, &group, info.id, card)
    }

    pub(super) fn card_edit(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        edit: CardEdit,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?.id;
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::edit_card(doc, card, &edit)
        })?;
        self.board_changed(tx, &group, info.id, card)
    }

    pub(super) fn card_comment(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?.id;
        let author = self.me(&group)?.id();
        let comment = ItemId::random();
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::comment(doc, card, comment, author, text, now)
        })?;
        self.board_changed(tx, &group, info.id, comment)
    }

    pub(super) fn card_archive(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        archived: bool,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?.id;
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::archive_card(doc, card, archived)
        })?;
        self.board_changed(tx, &group, info.id, card)
    }

    pub(super) fn checklist_add(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        text: &str,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?.id;
        let item = ItemId::random();
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::checklist_add(doc, card, item, text)
        })?;
        self.board_changed(tx, &group, info.id, item)
    }

    pub(super) fn checklist_check(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        item: &str,
        done: bool,
    ) -> Result<Response, ApiError> {
        let (group, info) = self.resolve_board(group, board)?;
        let card = self.resolve_card(&group, info.id, card)?;
        let candidates = card
            .checklist
            .iter()
            .map(|i| (i.id.to_string(), i.text.clone(), i.id))
            .collect();
        let item = resolve(
            "checklist item",
            item,
            candidates,
            "see `plenum board show GROUP BOARD`",
        )?;
        self.edit(tx, &group, &info.id, |doc| {
            docs::board::checklist_toggle(doc, card.id, item, done)
        })?;
        self.board_changed(tx, &group, info.id, item)
    }

    fn board_changed(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        board: DocId,
        changed: ItemId,
    ) -> Result<Response, ApiError> {
        tx.events.push(Event::BoardChanged {
            group: *group,
            board,
        });
        self.board_response(group, board, Some(changed))
    }

    fn board_response(
        &mut self,
        group: &GroupId,
        board: DocId,
        changed: Option<ItemId>,
    ) -> Result<Response, ApiError> {
        let loaded = self.doc(group, &board)?;
        let view = docs::board::read(&loaded.doc).map_err(doc_error)?;
        Ok(Response::Board(BoardView {
            id: board,
            changed,
            board: view,
        }))
    }

    fn resolve_board(&mut self, group: &str, board: &str) -> Result<(GroupId, DocInfo), ApiError> {
        let group = self.resolve_group(group)?;
        let boards = &self.directory(&group)?.boards;
        let candidates = boards
            .iter()
            .map(|b| (b.id.to_string(), b.name.clone(), b.clone()))
            .collect();
        Ok((
            group,
            resolve("board", board, candidates, "see `plenum board list GROUP`")?,
        ))
    }

    fn resolve_column(
        &mut self,
        group: &GroupId,
        board: DocId,
        column: &str,
    ) -> Result<ItemId, ApiError> {
        let loaded = self.doc(group, &board)?;
        let view = docs::board::read(&loaded.doc).map_err(doc_error)?;
        let candidates = view
            .columns
            .into_iter()
            .map(|c| (c.id.to_string(), c.title.clone(), c.id))
            .collect();
        resolve(
            "column",
            column,
            candidates,
            "see `plenum board show GROUP BOARD`",
        )
    }

    /// A card by title or id, archived ones included (so they can be restored).
    fn resolve_card(
        &mut self,
        group: &GroupId,
        board: DocId,
        card: &str,
    ) -> Result<Card, ApiError> {
        let loaded = self.doc(group, &board)?;
        let view = docs::board::read(&loaded.doc).map_err(doc_error)?;
        let cards = view
            .columns
            .into_iter()
            .flat_map(|c| c.cards)
            .chain(view.archived);
        let candidates = cards
            .map(|c| (c.id.to_string(), c.title.clone(), c))
            .collect();
        resolve(
            "card",
            card,
            candidates,
            "see `plenum board show GROUP BOARD`",
        )
    }
}
