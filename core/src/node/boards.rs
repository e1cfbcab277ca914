//! Board requests: columns and cards, moved by fractional index.

use automerge::AutoCommit;

use crate::api::{ApiError, BoardView, Event, Response};
use crate::docs::{self, Board, Card, CardEdit, DocError};
use crate::identity::check_name;
use crate::ids::{DocId, GroupId, ItemId};
use crate::time::Timestamp;

use super::engine::{State, Tx, doc_error};
use super::groups::invalid;
use super::resolve::resolve;

const SHOW_HINT: &str = "see `plenum board show GROUP BOARD`";

/// A card a request names, with its board and group.
struct CardTarget {
    group: GroupId,
    board: DocId,
    card: Card,
}

impl State {
    pub(super) fn board_create(
        &mut self,
        tx: &mut Tx,
        group: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, board, _) = self.create_listed_doc(
            tx,
            group,
            "board",
            name,
            docs::board::init,
            |doc, id, name| docs::directory::add_board(doc, id, name, now),
        )?;
        self.board_response(&group, board, None)
    }

    pub(super) fn board_list(&mut self, group: &str) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        Ok(Response::Docs(self.directory(&group)?.boards.clone()))
    }

    pub(super) fn board_rename(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        name: &str,
    ) -> Result<Response, ApiError> {
        let (group, board) = self.resolve_board(group, board)?;
        let name = check_name("board", name).map_err(invalid)?;
        self.rename_listed(tx, &group, "boards", &board.to_string(), &name)
    }

    pub(super) fn board_show(&mut self, group: &str, board: &str) -> Result<Response, ApiError> {
        let (group, board) = self.resolve_board(group, board)?;
        self.board_response(&group, board, None)
    }

    pub(super) fn column_add(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        title: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let (group, board) = self.resolve_board(group, board)?;
        let title = check_name("column", title).map_err(invalid)?;
        let column = ItemId::random();
        self.change_board(tx, group, board, column, |doc| {
            docs::board::add_column(doc, column, &title, now)
        })
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
        let (group, board) = self.resolve_board(group, board)?;
        let column = self.resolve_column(&group, board, column)?;
        let by = self.me(&group)?.id();
        let card = ItemId::random();
        self.change_board(tx, group, board, card, |doc| {
            docs::board::add_card(doc, card, column, title, by, now)
        })
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
        let t = self.card_target(group, board, card)?;
        let column = self.resolve_column(&t.group, t.board, column)?;
        let index = index.unwrap_or(usize::MAX);
        self.change_board(tx, t.group, t.board, t.card.id, |doc| {
            docs::board::move_card(doc, t.card.id, column, index)
        })
    }

    pub(super) fn card_edit(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        edit: &CardEdit,
    ) -> Result<Response, ApiError> {
        let t = self.card_target(group, board, card)?;
        self.change_board(tx, t.group, t.board, t.card.id, |doc| {
            docs::board::edit_card(doc, t.card.id, edit)
        })
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
        let t = self.card_target(group, board, card)?;
        let author = self.me(&t.group)?.id();
        let comment = ItemId::random();
        self.change_board(tx, t.group, t.board, comment, |doc| {
            docs::board::comment(doc, t.card.id, comment, author, text, now)
        })
    }

    pub(super) fn card_archive(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        archived: bool,
    ) -> Result<Response, ApiError> {
        let t = self.card_target(group, board, card)?;
        self.change_board(tx, t.group, t.board, t.card.id, |doc| {
            docs::board::archive_card(doc, t.card.id, archived)
        })
    }

    pub(super) fn checklist_add(
        &mut self,
        tx: &mut Tx,
        group: &str,
        board: &str,
        card: &str,
        text: &str,
    ) -> Result<Response, ApiError> {
        let t = self.card_target(group, board, card)?;
        let item = ItemId::random();
        self.change_board(tx, t.group, t.board, item, |doc| {
            docs::board::checklist_add(doc, t.card.id, item, text)
        })
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
        let t = self.card_target(group, board, card)?;
        let candidates = t
            .card
            .checklist
            .iter()
            .map(|i| (i.id.to_string(), i.text.clone(), i.id))
            .collect();
        let item = resolve("checklist item", item, candidates, SHOW_HINT)?;
        self.change_board(tx, t.group, t.board, item, |doc| {
            docs::board::checklist_toggle(doc, t.card.id, item, done)
        })
    }

    /// Applies `change` to the board and answers with the board, naming `changed` (the
    /// column, card, comment or checklist item) for clients that want its id.
    fn change_board(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        board: DocId,
        changed: ItemId,
        change: impl FnOnce(&mut AutoCommit) -> Result<(), DocError>,
    ) -> Result<Response, ApiError> {
        self.edit(tx, &group, &board, change)?;
        tx.events.push(Event::BoardChanged { group, board });
        self.board_response(&group, board, Some(changed))
    }

    fn board_response(
        &mut self,
        group: &GroupId,
        board: DocId,
        changed: Option<ItemId>,
    ) -> Result<Response, ApiError> {
        let view = self.board(group, board)?;
        Ok(Response::Board(BoardView {
            id: board,
            changed,
            board: view,
        }))
    }

    fn board(&mut self, group: &GroupId, board: DocId) -> Result<Board, ApiError> {
        let loaded = self.doc(group, &board)?;
        docs::board::read(&loaded.doc).map_err(doc_error)
    }

    fn resolve_board(&mut self, group: &str, board: &str) -> Result<(GroupId, DocId), ApiError> {
        let group = self.resolve_group(group)?;
        let boards = &self.directory(&group)?.boards;
        let candidates = boards
            .iter()
            .map(|b| (b.id.to_string(), b.name.clone(), b.id))
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
        let columns = self.board(group, board)?.columns;
        let candidates = columns
            .into_iter()
            .map(|c| (c.id.to_string(), c.title, c.id))
            .collect();
        resolve("column", column, candidates, SHOW_HINT)
    }

    /// The card a request names, by title or id; archived cards count too, so they can
    /// be restored.
    fn card_target(
        &mut self,
        group: &str,
        board: &str,
        card: &str,
    ) -> Result<CardTarget, ApiError> {
        let (group, board) = self.resolve_board(group, board)?;
        let view = self.board(&group, board)?;
        let cards = view
            .columns
            .into_iter()
            .flat_map(|c| c.cards)
            .chain(view.archived);
        let candidates = cards
            .map(|c| (c.id.to_string(), c.title.clone(), c))
            .collect();
        let card = resolve("card", card, candidates, SHOW_HINT)?;
        Ok(CardTarget { group, board, card })
    }
}
