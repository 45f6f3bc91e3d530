/**
 * Durable Object SQLite binds at most 100 values per statement, so a statement over a list of ids
 * (`… IN (?, ?, …)`) runs once per slice of the list, leaving room for `extra` other values.
 */
const MAX_BOUND = 100;

export function inSlices<T>(ids: readonly T[], extra: number, run: (slice: T[], placeholders: string) => void): void {
  const size = MAX_BOUND - extra;
  for (let i = 0; i < ids.length; i += size) {
    const slice = ids.slice(i, i + size);
    run(slice, slice.map(() => "?").join(","));
  }
}
