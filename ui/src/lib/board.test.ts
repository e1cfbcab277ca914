import { describe, expect, it } from "vitest";
import type { Card } from "../api/types";
import { cardEdit, dropIndex, keyboardMove, locate, type Board } from "./board";

const card = (id: string, column: string): Card => ({
  id,
  column,
  title: id,
  description: "",
  assignees: [],
  labels: [],
  due: null,
  checklist: [],
  comments: [],
  archived: false,
  position: "a",
});

const board: Board = {
  columns: [
    { id: "todo", title: "To do", cards: [card("a", "todo"), card("b", "todo"), card("c", "todo")] },
    { id: "doing", title: "Doing", cards: [card("d", "doing")] },
    { id: "done", title: "Done", cards: [] },
  ],
};

describe("board moves", () => {
  it("finds a card", () => {
    expect(locate(board, "c")).toEqual({ column: 0, index: 2 });
    expect(locate(board, "zz")).toBeNull();
  });

  it("moves with the keyboard within and across columns", () => {
    expect(keyboardMove(board, "b", "up")).toEqual({ column: "todo", index: 0 });
    expect(keyboardMove(board, "b", "down")).toEqual({ column: "todo", index: 2 });
    expect(keyboardMove(board, "a", "up")).toBeNull();
    expect(keyboardMove(board, "c", "down")).toBeNull();
    expect(keyboardMove(board, "c", "right")).toEqual({ column: "doing", index: 1 });
    expect(keyboardMove(board, "d", "right")).toEqual({ column: "done", index: 0 });
    expect(keyboardMove(board, "a", "left")).toBeNull();
    expect(keyboardMove(board, "d", "left")).toEqual({ column: "todo", index: 0 });
  });

  it("counts a drop's index among the column's other cards", () => {
    const todo = board.columns[0]!.cards;
    // Dragging "a" to before "c" (shown at 2): among b and c it goes at 1.
    expect(dropIndex(todo, "a", 2)).toBe(1);
    // Dragging "c" to before "a": 0.
    expect(dropIndex(todo, "c", 0)).toBe(0);
    // From another column, before "b": 1.
    expect(dropIndex(todo, "d", 1)).toBe(1);
    expect(dropIndex(todo, "d", null)).toBeNull();
  });

  it("builds an edit that leaves other fields alone", () => {
    expect(cardEdit({ due: "2026-12-24", title: undefined })).toEqual({ due: "2026-12-24" });
    // null is meaningful (it removes the date) and is kept.
    expect(JSON.stringify(cardEdit({ due: null }))).toBe('{"due":null}');
  });
});
