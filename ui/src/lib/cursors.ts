// Other members' pad cursors as CodeMirror decorations: a caret with the member's name.
import { StateEffect, StateField, type Extension } from "@codemirror/state";
import { Decoration, EditorView, WidgetType, type DecorationSet } from "@codemirror/view";

export interface RemoteCursor {
  member: string;
  name: string;
  position: number;
}

class CaretWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly hue: number,
  ) {
    super();
  }
  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.hue === this.hue;
  }
  toDOM(): HTMLElement {
    // The name is drawn by CSS from an attribute, so it is never part of the line's
    // text (copying, textContent, screen readers reading the pad).
    const caret = document.createElement("span");
    caret.className = "cm-remote-caret";
    caret.style.setProperty("--hue", String(this.hue));
    caret.dataset.name = this.name;
    caret.setAttribute("aria-hidden", "true");
    return caret;
  }
  override ignoreEvent(): boolean {
    return true;
  }
}

function hue(member: string): number {
  let h = 0;
  for (let i = 0; i < member.length; i++) h = (h * 31 + member.charCodeAt(i)) % 360;
  return h;
}

export const setRemoteCursors = StateEffect.define<RemoteCursor[]>();

const field = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setRemoteCursors)) {
        const len = tr.state.doc.length;
        const ranges = effect.value
          .map((c) => ({ pos: Math.max(0, Math.min(len, c.position)), c }))
          .sort((a, b) => a.pos - b.pos)
          .map(({ pos, c }) =>
            Decoration.widget({ widget: new CaretWidget(c.name, hue(c.member)), side: 1 }).range(pos),
          );
        next = Decoration.set(ranges);
      }
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const theme = EditorView.baseTheme({
  ".cm-remote-caret": {
    position: "relative",
    borderLeft: "2px solid hsl(var(--hue) 70% 45%)",
    marginLeft: "-1px",
    marginRight: "-1px",
  },
  ".cm-remote-caret::after": {
    content: "attr(data-name)",
    position: "absolute",
    top: "-1.1em",
    left: "-2px",
    fontSize: "0.7em",
    lineHeight: "1.1em",
    padding: "0 3px",
    whiteSpace: "nowrap",
    color: "white",
    background: "hsl(var(--hue) 70% 40%)",
    borderRadius: "3px 3px 3px 0",
    pointerEvents: "none",
  },
});

export function remoteCursors(): Extension {
  return [field, theme];
}
