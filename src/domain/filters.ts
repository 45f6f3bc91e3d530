/**
 * Content filters: event patterns in Amazon EventBridge's syntax, evaluated over the envelope as
 * stored (`type`, `source`, `routingKey`, `partitionKey`, `metadata`, `data`).
 *
 * A pattern is an object. Each key maps either to a nested pattern (the event's value there must
 * be an object matching it) or to an array of alternatives for a leaf value:
 *   - a literal (string, number, boolean, null): equal to it (numbers compare as numbers);
 *   - `{"prefix": s}`, `{"suffix": s}`, `{"equals-ignore-case": s}`: string tests;
 *   - `{"anything-but": value | [values] | {"prefix": s}}`: present and not one of those;
 *   - `{"numeric": [op, n]}` or `{"numeric": [lowerOp, n, upperOp, n]}` with `=`, `<`, `<=`, `>`, `>=`;
 *   - `{"exists": true | false}`: a leaf value is present (or not) at that key;
 *   - `{"wildcard": "a*b"}`: `*` matches any run of characters, `\*` a literal star.
 * `"$or": [pattern, ...]` matches when any of its patterns does. Keys AND together, alternatives
 * OR. An array in the event matches when any of its elements does (objects inside an array are
 * matched element by element, so all the keys of one nested pattern match the same element).
 * Every operator except `exists: false` needs the key to be present with a leaf value.
 *
 * `validateFilter` checks the shape and the limits (serialized size, nesting depth, number of
 * leaves) and names the path of each fault; `matchFilter` assumes a validated filter.
 *
 * Pure logic: no Cloudflare bindings, no I/O.
 */

/** A filter as stored: a JSON object whose keys map to patterns or arrays (validated before it is stored). */
export type FilterPattern = { [key: string]: object };

export const FILTER_LIMITS = {
  /** Serialized size in bytes (UTF-8). */
  bytes: 4096,
  /** Levels of JSON objects and arrays. */
  depth: 6,
  /** Alternatives (matchers) in all the arrays together. */
  leaves: 100,
} as const;

export interface FilterFault {
  path: string;
  message: string;
}

const NUMERIC_OPS = new Set(["=", "<", "<=", ">", ">="]);
const LOWER_OPS = new Set([">", ">="]);
const UPPER_OPS = new Set(["<", "<="]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((m: number, x) => Math.max(m, depthOf(x)), 0);
  if (isObject(v)) return 1 + Object.values(v).reduce((m: number, x) => Math.max(m, depthOf(x)), 0);
  return 0;
}

const join = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;

/**
 * The faults of a filter (empty when it is valid), each with its path below `root` (for
 * example `filter.data.amount[0].numeric[2]`).
 */
export function validateFilter(filter: unknown, root = "filter"): FilterFault[] {
  const faults: FilterFault[] = [];
  if (!isObject(filter)) return [{ path: root, message: "a filter is a JSON object" }];
  const bytes = new TextEncoder().encode(JSON.stringify(filter)).byteLength;
  if (bytes > FILTER_LIMITS.bytes) {
    return [{ path: root, message: `a filter is limited to ${FILTER_LIMITS.bytes} bytes serialized; this one is ${bytes}` }];
  }
  const depth = depthOf(filter);
  if (depth > FILTER_LIMITS.depth) {
    return [{ path: root, message: `a filter nests at most ${FILTER_LIMITS.depth} levels of objects and arrays; this one ${depth}` }];
  }
  let leaves = 0;
  const fault = (path: string, message: string) => faults.push({ path, message });

  const pattern = (p: Record<string, unknown>, path: string): void => {
    if (Object.keys(p).length === 0) fault(path, "an empty pattern matches nothing: name at least one key");
    for (const [key, value] of Object.entries(p)) {
      const at = join(path, key);
      if (key === "$or") {
        if (!Array.isArray(value) || value.length < 2) {
          fault(at, "$or takes an array of at least two patterns");
          continue;
        }
        value.forEach((alt, i) => {
          if (isObject(alt)) pattern(alt, join(at, i));
          else fault(join(at, i), "each $or alternative is a pattern (a JSON object)");
        });
      } else if (isObject(value)) {
        pattern(value, at);
      } else if (Array.isArray(value)) {
        if (value.length === 0) fault(at, "an empty array of alternatives matches nothing");
        value.forEach((m, i) => {
          leaves++;
          matcher(m, join(at, i));
        });
      } else {
        fault(at, "a key maps to a nested pattern or to an array of alternatives (write [value] for a literal)");
      }
    }
  };

  const str = (v: unknown, path: string, op: string): void => {
    if (typeof v !== "string") fault(path, `${op} takes a string`);
  };

  const matcher = (m: unknown, path: string): void => {
    if (m === null || typeof m === "string" || typeof m === "boolean") return;
    if (typeof m === "number") {
      if (!Number.isFinite(m)) fault(path, "a number must be finite");
      return;
    }
    if (Array.isArray(m)) {
      fault(path, "an alternative is a literal or an operator object, not an array");
      return;
    }
    const keys = Object.keys(m as object);
    const op = keys[0];
    if (keys.length !== 1 || op === undefined) {
      fault(path, "an operator object has exactly one key");
      return;
    }
    const arg = (m as Record<string, unknown>)[op];
    const at = join(path, op);
    switch (op) {
      case "prefix":
      case "suffix":
      case "equals-ignore-case":
        str(arg, at, op);
        return;
      case "wildcard":
        if (typeof arg !== "string") fault(at, "wildcard takes a string");
        else if (/(^|[^\\])\*\*/.test(arg)) fault(at, "consecutive '*' are not allowed in a wildcard");
        return;
      case "exists":
        if (typeof arg !== "boolean") fault(at, "exists takes true or false");
        return;
      case "anything-but":
        anythingBut(arg, at);
        return;
      case "numeric":
        numeric(arg, at);
        return;
      default:
        fault(at, `unknown operator '${op}' (prefix, suffix, equals-ignore-case, anything-but, numeric, exists, wildcard)`);
    }
  };

  const anythingBut = (arg: unknown, path: string): void => {
    if (typeof arg === "string") return;
    if (typeof arg === "number") {
      if (!Number.isFinite(arg)) fault(path, "a number must be finite");
      return;
    }
    if (Array.isArray(arg)) {
      if (arg.length === 0) fault(path, "anything-but takes a non-empty list");
      const allStrings = arg.every((x) => typeof x === "string");
      const allNumbers = arg.every((x) => typeof x === "number" && Number.isFinite(x));
      if (!allStrings && !allNumbers) fault(path, "anything-but takes a list of only strings or only numbers");
      return;
    }
    if (isObject(arg)) {
      const keys = Object.keys(arg);
      if (keys.length === 1 && keys[0] === "prefix") {
        str(arg.prefix, join(path, "prefix"), "prefix");
        return;
      }
      fault(
        keys.length === 1 && keys[0] !== undefined ? join(path, keys[0]) : path,
        "anything-but takes a value, a list, or {prefix: string}",
      );
      return;
    }
    fault(path, "anything-but takes a string, a number, a list of them, or {prefix: string}");
  };

  const numeric = (arg: unknown, path: string): void => {
    if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
      fault(path, "numeric takes [op, n] or [lowerOp, n, upperOp, n]");
      return;
    }
    for (let i = 0; i < arg.length; i += 2) {
      const op = arg[i];
      const n = arg[i + 1];
      if (typeof op !== "string" || !NUMERIC_OPS.has(op)) {
        fault(join(path, i), "a numeric operator is one of =, <, <=, >, >=");
      } else if (arg.length === 4 && !(i === 0 ? LOWER_OPS : UPPER_OPS).has(op)) {
        fault(join(path, i), i === 0 ? "a range starts with > or >=" : "a range ends with < or <=");
      }
      if (typeof n !== "number" || !Number.isFinite(n)) fault(join(path, i + 1), "a numeric bound is a finite number");
    }
    if (arg.length === 4 && typeof arg[1] === "number" && typeof arg[3] === "number" && arg[1] > arg[3]) {
      fault(path, "the lower bound is above the upper bound");
    }
  };

  pattern(filter, root);
  if (leaves > FILTER_LIMITS.leaves) {
    faults.push({ path: root, message: `a filter has at most ${FILTER_LIMITS.leaves} leaves (alternatives); this one ${leaves}` });
  }
  return faults;
}

/** Leaf values at a key, arrays flattened (objects are not leaves). */
function leavesOf(value: unknown, out: unknown[]): unknown[] {
  if (Array.isArray(value)) for (const v of value) leavesOf(v, out);
  else if (value !== undefined && !isObject(value)) out.push(value);
  return out;
}

function wildcardMatch(pattern: string, s: string): boolean {
  // Split on unescaped '*'; '\*' is a literal star and '\\' a literal backslash.
  const parts: string[] = [];
  let part = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\" && i + 1 < pattern.length) {
      i++;
      part += pattern[i];
    } else if (c === "*") {
      parts.push(part);
      part = "";
    } else {
      part += c;
    }
  }
  parts.push(part);
  const first = parts[0] as string;
  if (parts.length === 1) return s === first;
  const last = parts[parts.length - 1] as string;
  if (!s.startsWith(first) || s.length < first.length + last.length || !s.endsWith(last)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const found = s.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function numericMatch(range: readonly unknown[], n: number): boolean {
  for (let i = 0; i < range.length; i += 2) {
    const bound = range[i + 1] as number;
    switch (range[i]) {
      case "=":
        if (!(n === bound)) return false;
        break;
      case "<":
        if (!(n < bound)) return false;
        break;
      case "<=":
        if (!(n <= bound)) return false;
        break;
      case ">":
        if (!(n > bound)) return false;
        break;
      case ">=":
        if (!(n >= bound)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** One alternative against one leaf value (`exists` is handled by the caller). */
function leafMatch(m: unknown, v: unknown): boolean {
  if (m === null || typeof m !== "object") return m === v;
  const [op, arg] = Object.entries(m as Record<string, unknown>)[0] ?? [];
  switch (op) {
    case "prefix":
      return typeof v === "string" && v.startsWith(arg as string);
    case "suffix":
      return typeof v === "string" && v.endsWith(arg as string);
    case "equals-ignore-case":
      return typeof v === "string" && v.toLowerCase() === (arg as string).toLowerCase();
    case "wildcard":
      return typeof v === "string" && wildcardMatch(arg as string, v);
    case "numeric":
      return typeof v === "number" && numericMatch(arg as unknown[], v);
    case "anything-but":
      if (Array.isArray(arg)) return !arg.includes(v);
      if (isObject(arg)) return typeof v === "string" && !v.startsWith(arg.prefix as string);
      return v !== arg;
    default:
      return false;
  }
}

function alternativesMatch(alternatives: readonly unknown[], value: unknown): boolean {
  const leaves = leavesOf(value, []);
  for (const m of alternatives) {
    if (isObject(m) && "exists" in m) {
      if (leaves.length > 0 === m.exists) return true;
      continue;
    }
    for (const v of leaves) if (leafMatch(m, v)) return true;
  }
  return false;
}

/** Whether `value` (an object, or an array of them) matches the pattern. */
function patternMatch(pattern: Record<string, unknown>, value: unknown): boolean {
  if (Array.isArray(value)) {
    // Any element; an array without objects is no object here (so `exists: false` may match).
    let objects = 0;
    for (const v of value) {
      if (!isObject(v)) continue;
      objects++;
      if (patternMatch(pattern, v)) return true;
    }
    return objects === 0 && patternMatch(pattern, undefined);
  }
  const obj = isObject(value) ? value : undefined;
  for (const key in pattern) {
    const p = pattern[key];
    if (key === "$or") {
      if (!(p as Record<string, unknown>[]).some((alt) => patternMatch(alt, value))) return false;
    } else if (Array.isArray(p)) {
      if (!alternativesMatch(p, obj?.[key])) return false;
    } else if (!patternMatch(p as Record<string, unknown>, obj?.[key])) {
      return false;
    }
  }
  return true;
}

/** Whether an event (the envelope as stored) matches a validated filter. */
export function matchFilter(filter: FilterPattern, event: unknown): boolean {
  return patternMatch(filter as Record<string, unknown>, event);
}
