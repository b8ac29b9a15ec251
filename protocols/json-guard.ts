/**
 * Guards for untrusted JSON values, iterative (no recursion, so no stack overflow on hostile input):
 * nesting depth, and control characters in strings (C0/C1 controls other than newline and tab, DEL, and the
 * Unicode bidi overrides U+202A-202E and U+2066-2069 that make text display differently from what it says).
 */

/** Objects/arrays nested deeper than this are refused (every real payload stays well under 16). */
export const MAX_JSON_DEPTH = 32;

const FORBIDDEN_CHAR = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/** `notes[2].text` style path, built only when reported (the walk keeps parent links, no arrays). */
function pathText(frame: Frame | undefined, lastKey?: string): string {
  const parts: Array<string | number> = lastKey === undefined ? [] : [lastKey];
  for (let f = frame; f?.parent !== undefined; f = f.parent) parts.unshift(f.key);
  let out = '';
  for (const part of parts) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(root)' : out;
}

function pushChildren(stack: Frame[], frame: Frame, v: object): void {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) stack.push({ value: v[i], depth: frame.depth + 1, parent: frame, key: i });
  } else {
    for (const k in v) {
      if (Object.hasOwn(v, k))
        stack.push({ value: (v as Record<string, unknown>)[k], depth: frame.depth + 1, parent: frame, key: k });
    }
  }
}

/** The path of the first container nested deeper than `max`, or undefined. */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v !== 'object' || v === null) continue;
    if (frame.depth >= max) return pathText(frame);
    pushChildren(stack, frame, v);
  }
  return undefined;
}

/** The first string (or key) holding a forbidden character: its path and the character as U+XXXX. */
export function forbiddenCharacter(value: unknown): { path: string; char: string } | undefined {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v === 'string') {
      const match = FORBIDDEN_CHAR.exec(v);
      if (match !== null) return { path: pathText(frame), char: codePoint(match[0]) };
      continue;
    }
    if (typeof v !== 'object' || v === null || frame.depth > MAX_JSON_DEPTH) continue;
    if (!Array.isArray(v)) {
      for (const k of Object.keys(v)) {
        const match = FORBIDDEN_CHAR.exec(k);
        if (match !== null) return { path: pathText(frame, k), char: codePoint(match[0]) };
      }
    }
    pushChildren(stack, frame, v);
  }
  return undefined;
}

const FORBIDDEN_ALL = new RegExp(FORBIDDEN_CHAR.source, 'g');

/** `text` with every forbidden character replaced by U+FFFD (for agent free text shown to people). */
export function neutralizeControls(text: string): string {
  return text.replace(FORBIDDEN_ALL, '\uFFFD');
}

function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
