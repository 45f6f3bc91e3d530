/**
 * "Did you mean …?" for unknown JSON members: a name matches a known one when they are equal
 * once case and `_ - .` separators are ignored (`routing_key`, `partitionkey`), or else when they
 * are within a small edit distance (`routinKey`, `partitonKey`).
 */

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_\-.\s]/g, "");
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The known name closest to `name`, or undefined when none is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const n = normalise(name);
  const same = known.find((k) => normalise(k) === n);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = editDistance(n, normalise(k));
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  // Up to one edit in three characters (at least one): close enough to be a slip, not a different word.
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(n.length / 3)) ? best : undefined;
}
