/**
 * Checks on a parsed JSON value before anything stores it, both without recursion (a value nested
 * thousands of levels deep must be refused before anything serialises it: JSON.stringify recurses
 * and would overflow the stack): how deeply it nests, stopping as soon as `limit` is exceeded so
 * a hostile value costs little, and whether it holds a number JSON cannot carry.
 */

/** Whether `value` nests objects/arrays deeper than `limit` levels (`{}` is depth 1, a scalar 0). */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === "object") stack.push({ v: child, d: depth });
  }
  return false;
}

/**
 * The path (`a.b.0`, "" for the value itself) of the first number that JSON cannot carry, or
 * undefined. `JSON.parse` reads a literal beyond a double's range, such as `1e400`, as Infinity,
 * which `JSON.stringify` would write as null: a changed value, stored without a word.
 */
export function firstNonFinite(value: unknown): string | undefined {
  const stack: Array<{ v: unknown; path: string[] }> = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string[] };
    if (typeof v === "number" && !Number.isFinite(v)) return path.join(".");
    if (v === null || typeof v !== "object") continue;
    const node = v as Record<string, unknown>;
    // Numbers are checked in place; only objects and arrays are visited (with their path).
    for (const key of Object.keys(node)) {
      const child = node[key];
      if (typeof child === "number") {
        if (!Number.isFinite(child)) return [...path, key].join(".");
      } else if (child !== null && typeof child === "object") stack.push({ v: child, path: [...path, key] });
    }
  }
  return undefined;
}
