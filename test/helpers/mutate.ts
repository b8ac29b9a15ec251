/** Corpus helpers for checks compared against zod: every path inside a value, and a copy with one path changed. */

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
export function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => {
    const p = [...prefix, k];
    return [p, ...paths((value as Record<string | number, unknown>)[k], p)];
  });
}

/** A copy of `value` with the value at `path` replaced by `next` (or the key removed, for objects). */
export function setAt(value: unknown, path: (string | number)[], next: unknown, remove: boolean): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (remove && !Array.isArray(at)) delete at[last];
  else at[last] = next;
  return copy;
}
