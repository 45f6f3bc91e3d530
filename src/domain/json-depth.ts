/**
 * How deeply a parsed JSON value nests, measured without recursion (a value nested thousands of
 * levels deep must be refused before anything serialises it: JSON.stringify recurses and would
 * overflow the stack). Stops as soon as `limit` is exceeded, so a hostile value costs little.
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
