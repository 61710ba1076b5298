/**
 * How deeply arrays and objects may nest in any JSON (or JSON-like) value a peer sends: awareness
 * states, hello and event frames, REST bodies, and values inside Yjs updates. `JSON.stringify`,
 * `structuredClone` and Yjs's own encoders recurse, so a value nested a few thousand deep parses fine
 * and then overflows the stack the first time it is encoded again. 64 is far beyond what documents,
 * presence or event payloads use, and far below any stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of `[` / `{` in JSON text, counted without parsing or recursion (a linear scan
 * that skips string literals), stopping as soon as `limit` is passed. Malformed text is not judged
 * here: the parser that follows rejects it.
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * The deepest nesting of arrays and plain objects in an already decoded value, walked with an explicit
 * stack (no recursion), stopping as soon as `limit` is passed. Typed arrays count as leaves.
 */
export function valueDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null || ArrayBuffer.isView(current)) continue;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > limit) return deepest;
    }
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}
