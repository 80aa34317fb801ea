// Lesson prose from the catalogues, turned into DOM: blank lines between
// paragraphs, "- " list items, $$display$$ and $inline$ maths (KaTeX),
// **bold** and `code`. {{name}} on a line of its own is a slot that the page
// fills with a figure (a live view, the training run). Built with DOM nodes,
// never innerHTML, so a catalogue text cannot inject markup.

import katex from "../vendor/katex/katex.mjs";

const INLINE = /(\$[^$]+\$|\*\*[^*]+\*\*|`[^`]+`)/;

export function math(latex, display = false) {
  const span = document.createElement(display ? "div" : "span");
  span.className = display ? "math display" : "math";
  try {
    katex.render(latex, span, { throwOnError: false, displayMode: display, output: "html" });
  } catch {
    span.textContent = latex;
  }
  return span;
}

/** Inline markup of one paragraph or list item. */
export function inline(text) {
  const frag = document.createDocumentFragment();
  for (const part of text.split(INLINE)) {
    if (!part) continue;
    if (part.length > 2 && part.startsWith("$") && part.endsWith("$")) frag.append(math(part.slice(1, -1)));
    else if (part.startsWith("**") && part.endsWith("**") && part.length > 4) {
      frag.append(Object.assign(document.createElement("strong"), { textContent: part.slice(2, -2) }));
    } else if (part.startsWith("`") && part.endsWith("`") && part.length > 2) {
      frag.append(Object.assign(document.createElement("code"), { textContent: part.slice(1, -1) }));
    } else frag.append(part);
  }
  return frag;
}

/**
 * Blocks of `text` appended to `root`; `slots` maps a {{name}} to a function
 * giving the element to put there. Slots the text never names are returned,
 * so the caller can place them at the end.
 */
export function renderText(root, text, slots = {}) {
  const unused = new Set(Object.keys(slots));
  for (const block of text.split(/\n\s*\n/)) {
    const b = block.trim();
    if (!b) continue;
    const slot = /^\{\{([\w:-]+)\}\}$/.exec(b);
    if (slot) {
      if (slots[slot[1]]) {
        root.append(slots[slot[1]]());
        unused.delete(slot[1]);
      }
      continue;
    }
    if (b.startsWith("$$") && b.endsWith("$$") && b.length > 4) {
      root.append(math(b.slice(2, -2).trim(), true));
    } else if (b.split("\n").every((line) => line.trim().startsWith("- "))) {
      const ul = document.createElement("ul");
      for (const line of b.split("\n")) {
        const li = document.createElement("li");
        li.append(inline(line.trim().slice(2)));
        ul.append(li);
      }
      root.append(ul);
    } else {
      const p = document.createElement("p");
      p.append(inline(b.replace(/\s*\n\s*/g, " ")));
      root.append(p);
    }
  }
  return [...unused];
}

/** One short text (a caption, a question) as inline content of `el`. */
export function setText(el, text) {
  el.replaceChildren(inline(text));
  return el;
}
