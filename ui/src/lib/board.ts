// The pure parts of the board view: where a dragged or keyboard-moved card lands, as
// the `card_move` request's column and index (its index among the column's other
// cards, 0 = top, as docs/board.rs move_card counts).
import type { BoardView, CardEdit } from "../api/types";

/** What the moves need of a board. */
export type Board = Pick<BoardView, "columns">;

export type Direction = "left" | "right" | "up" | "down";

/** Where a card is: column index and index in that column. */
export function locate(board: Board, card: string): { column: number; index: number } | null {
  for (let c = 0; c < board.columns.length; c++) {
    const index = board.columns[c]?.cards.findIndex((k) => k.id === card) ?? -1;
    if (index >= 0) return { column: c, index };
  }
  return null;
}

/**
 * A card dropped before the card at `before` (an index into the target column's cards
 * as shown, which still include the dragged card when it comes from that column), or
 * at the end when `before` is null.
 */
export function dropIndex(targetCards: readonly { id: string }[], dragged: string, before: number | null): number | null {
  if (before === null) return null;
  const from = targetCards.findIndex((c) => c.id === dragged);
  return from >= 0 && from < before ? before - 1 : before;
}

/** Where a keyboard move takes a card, or null when it cannot go that way. */
export function keyboardMove(
  board: Board,
  card: string,
  direction: Direction,
): { column: string; index: number } | null {
  const at = locate(board, card);
  if (!at) return null;
  const column = board.columns[at.column];
  if (!column) return null;
  switch (direction) {
    case "up":
      return at.index > 0 ? { column: column.id, index: at.index - 1 } : null;
    case "down":
      return at.index < column.cards.length - 1 ? { column: column.id, index: at.index + 1 } : null;
    case "left":
    case "right": {
      const target = board.columns[at.column + (direction === "left" ? -1 : 1)];
      if (!target) return null;
      return { column: target.id, index: Math.min(at.index, target.cards.length) };
    }
  }
}

/**
 * A card edit that changes only the given fields: absent fields stay as they are, and
 * `due: null` removes the due date, so nothing else may be filled in.
 */
export function cardEdit(change: CardEdit): CardEdit {
  const edit: CardEdit = {};
  for (const [key, value] of Object.entries(change) as [keyof CardEdit, unknown][]) {
    if (value !== undefined) (edit as Record<string, unknown>)[key] = value;
  }
  return edit;
}
