/**
 * Backward compatibility between two JSON Schemas (2020-12) for an event type's `data`, and the
 * version strings of the schema registry.
 *
 * The rule: every document valid under the old schema stays valid under the new one, and no
 * property the old schema defined disappears. So, within a MAJOR, a new version may add optional
 * properties, widen an enum, relax a bound, or add a type to a union; it may not remove a
 * property, add a required one, make an optional one required, change or narrow a type, narrow
 * an enum, tighten a bound, or forbid additional properties that were allowed.
 *
 * The checker understands the keywords that describe structure and bounds (`type`, `properties`,
 * `required`, `additionalProperties`, `items`, `enum`, `const`, the numeric, length, item and
 * property-count bounds, `multipleOf`, `uniqueItems`, `pattern`, `format`) and ignores annotations
 * (`title`, `description`, `default`, `examples`, ...). Where two subschemas differ and either uses
 * a keyword outside that list (`anyOf`, `$ref`, `if`, ...), it cannot judge the change, and a
 * change it cannot judge counts as breaking.
 *
 * Paths name the place in the event's `data` (`customer.email`, `lines[].sku`; the root is
 * `(root)`).
 *
 * Pure logic: no Cloudflare bindings, no I/O.
 */

export interface CompatError {
  path: string;
  message: string;
}

type Schema = boolean | Record<string, unknown>;

const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

const JUDGED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "multipleOf",
  "uniqueItems",
  "pattern",
  "format",
]);

const TYPES = new Set(["null", "boolean", "object", "array", "number", "integer", "string"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

const childPath = (path: string, key: string): string => (path === "(root)" ? key : `${path}.${key}`);
const itemsPath = (path: string): string => (path === "(root)" ? "[]" : `${path}[]`);

function typesOf(s: Record<string, unknown>): Set<string> | undefined {
  if (s.type === undefined) return undefined;
  return new Set(Array.isArray(s.type) ? (s.type as string[]) : [s.type as string]);
}

/** Whether the type set `wide` admits every value of type `t`. */
function admits(wide: Set<string> | undefined, t: string): boolean {
  if (wide === undefined) return true;
  return wide.has(t) || (t === "integer" && wide.has("number"));
}

/** Accepts anything: `true`, `{}`, or only annotations. */
function acceptsAll(s: Schema): boolean {
  return s === true || (isObject(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k)));
}

/**
 * Every breaking change from `before` to `after` (empty when `after` is backward compatible), each
 * named with its path.
 */
export function breakingChanges(before: unknown, after: unknown): CompatError[] {
  const errors: CompatError[] = [];
  compare(before as Schema, after as Schema, "(root)", errors);
  return errors;
}

function compare(o: Schema, after: Schema, path: string, out: CompatError[]): void {
  const fail = (message: string, at = path): void => {
    out.push({ path: at, message });
  };
  let n = after;
  if (jsonEqual(o, n) || o === false) return;
  // Accepting everything is compatible, as long as no property the old schema defined disappears.
  if (acceptsAll(n) && !(isObject(o) && isObject(o.properties) && Object.keys(o.properties).length > 0)) return;
  if (n === false) {
    fail("the schema now rejects every value");
    return;
  }
  if (o === true) {
    fail("the schema now constrains values that were unconstrained");
    return;
  }
  if (n === true) n = {};
  if (!isObject(o) || !isObject(n)) {
    fail("cannot judge this change (not a schema object)");
    return;
  }

  for (const k of new Set([...Object.keys(o), ...Object.keys(n)])) {
    if (!JUDGED.has(k) && !ANNOTATIONS.has(k)) {
      fail(`cannot judge a change to a schema using '${k}' (only structural keywords are compared)`);
      return;
    }
  }

  // type: every type allowed before is still allowed.
  const ot = typesOf(o);
  const nt = typesOf(n);
  if (nt !== undefined) {
    if (ot === undefined) fail(`type added: ${[...nt].join(", ")} (any type was allowed before)`);
    else {
      const lost = [...ot].filter((t) => !admits(nt, t));
      if (lost.length > 0) fail(`type narrowed: ${lost.join(", ")} no longer allowed (now ${[...nt].join(", ")})`);
    }
  }

  // enum / const: every value allowed before is still allowed.
  const allowedBefore = o.const !== undefined ? [o.const] : Array.isArray(o.enum) ? (o.enum as unknown[]) : undefined;
  if (n.enum !== undefined) {
    const ne = n.enum as unknown[];
    if (allowedBefore === undefined) fail("enum added: values outside it were allowed before");
    else {
      const lost = allowedBefore.filter((v) => !ne.some((x) => jsonEqual(x, v)));
      if (lost.length > 0) fail(`enum narrowed: ${lost.map((v) => JSON.stringify(v)).join(", ")} no longer allowed`);
    }
  }
  if (n.const !== undefined) {
    if (allowedBefore === undefined || !allowedBefore.every((v) => jsonEqual(v, n.const))) {
      fail(`const ${JSON.stringify(n.const)} added: other values were allowed before`);
    }
  }

  // Bounds: may be relaxed, not tightened or added.
  lowerBound(o, n, fail);
  upperBound(o, n, fail);
  for (const k of ["minLength", "minItems", "minProperties"]) {
    const nv = n[k] as number | undefined;
    if (nv === undefined || nv === 0) continue;
    const ov = o[k] as number | undefined;
    if (ov === undefined || nv > ov) fail(`${k} tightened to ${nv}${ov === undefined ? " (was none)" : ` (was ${ov})`}`);
  }
  for (const k of ["maxLength", "maxItems", "maxProperties"]) {
    const nv = n[k] as number | undefined;
    if (nv === undefined) continue;
    const ov = o[k] as number | undefined;
    if (ov === undefined || nv < ov) fail(`${k} tightened to ${nv}${ov === undefined ? " (was none)" : ` (was ${ov})`}`);
  }
  if (n.multipleOf !== undefined) {
    const ov = o.multipleOf as number | undefined;
    const nv = n.multipleOf as number;
    if (ov === undefined || !Number.isInteger(ov / nv)) fail(`multipleOf ${nv} added or changed: some values allowed before no longer are`);
  }
  if (n.uniqueItems === true && o.uniqueItems !== true) fail("uniqueItems added: arrays with repeated items were allowed before");
  for (const k of ["pattern", "format"]) {
    if (n[k] !== undefined && !jsonEqual(n[k], o[k])) fail(`${k} added or changed: cannot judge which values it still admits`);
  }

  // Objects.
  const op = (isObject(o.properties) ? o.properties : {}) as Record<string, Schema>;
  const np = (isObject(n.properties) ? n.properties : {}) as Record<string, Schema>;
  for (const [k, os] of Object.entries(op)) {
    const at = childPath(path, k);
    const ns = np[k];
    if (ns === undefined) fail("property removed", at);
    else compare(os, ns, at, out);
  }
  const oreq = new Set(Array.isArray(o.required) ? (o.required as string[]) : []);
  for (const k of Array.isArray(n.required) ? (n.required as string[]) : []) {
    if (oreq.has(k)) continue;
    fail(k in op ? "optional property made required" : "required property added", childPath(path, k));
  }
  const oa = (o.additionalProperties ?? true) as Schema;
  const na = (n.additionalProperties ?? true) as Schema;
  if (na === false && oa !== false) fail("additional properties forbidden: they were allowed before");
  else compare(oa, na, childPath(path, "(additional properties)"), out);

  // Arrays.
  if (n.items !== undefined) compare((o.items ?? true) as Schema, n.items as Schema, itemsPath(path), out);
}

type Fail = (message: string) => void;

function lowerBound(o: Record<string, unknown>, n: Record<string, unknown>, fail: Fail): void {
  const oMin = o.minimum as number | undefined;
  const oEx = o.exclusiveMinimum as number | undefined;
  // The old lower bound as (value, exclusive); the tighter of the two when both are set.
  const old =
    oMin === undefined && oEx === undefined
      ? undefined
      : oEx !== undefined && (oMin === undefined || oEx >= oMin)
        ? { v: oEx, ex: true }
        : { v: oMin as number, ex: false };
  const nMin = n.minimum as number | undefined;
  const nEx = n.exclusiveMinimum as number | undefined;
  if (nMin !== undefined && (old === undefined || nMin > old.v)) fail(`minimum tightened to ${nMin}`);
  if (nEx !== undefined && (old === undefined || nEx > old.v || (nEx === old.v && !old.ex))) fail(`exclusiveMinimum tightened to ${nEx}`);
}

function upperBound(o: Record<string, unknown>, n: Record<string, unknown>, fail: Fail): void {
  const oMax = o.maximum as number | undefined;
  const oEx = o.exclusiveMaximum as number | undefined;
  const old =
    oMax === undefined && oEx === undefined
      ? undefined
      : oEx !== undefined && (oMax === undefined || oEx <= oMax)
        ? { v: oEx, ex: true }
        : { v: oMax as number, ex: false };
  const nMax = n.maximum as number | undefined;
  const nEx = n.exclusiveMaximum as number | undefined;
  if (nMax !== undefined && (old === undefined || nMax < old.v)) fail(`maximum tightened to ${nMax}`);
  if (nEx !== undefined && (old === undefined || nEx < old.v || (nEx === old.v && !old.ex))) fail(`exclusiveMaximum tightened to ${nEx}`);
}

// --- schemas and versions ---

/**
 * Faults of a schema's shape (empty when it looks like a JSON Schema): the object or boolean at
 * the root and the structural keywords with values of the right kind, checked at every level.
 */
export function schemaFaults(schema: unknown, path = "schema"): CompatError[] {
  const out: CompatError[] = [];
  const walk = (s: unknown, at: string, depth: number): void => {
    if (typeof s === "boolean") return;
    if (!isObject(s)) {
      out.push({ path: at, message: "a schema is a JSON object or a boolean" });
      return;
    }
    if (depth > 32) {
      out.push({ path: at, message: "nested too deeply" });
      return;
    }
    const t = s.type;
    if (t !== undefined) {
      const list = Array.isArray(t) ? t : [t];
      if (list.length === 0 || !list.every((x) => typeof x === "string" && TYPES.has(x))) {
        out.push({ path: `${at}.type`, message: `type is one of ${[...TYPES].join(", ")} or a list of them` });
      }
    }
    if (s.properties !== undefined) {
      if (!isObject(s.properties)) out.push({ path: `${at}.properties`, message: "properties is an object of schemas" });
      else for (const [k, v] of Object.entries(s.properties)) walk(v, `${at}.properties.${k}`, depth + 1);
    }
    if (s.required !== undefined && !(Array.isArray(s.required) && s.required.every((x) => typeof x === "string"))) {
      out.push({ path: `${at}.required`, message: "required is a list of property names" });
    }
    if (s.enum !== undefined && !Array.isArray(s.enum)) out.push({ path: `${at}.enum`, message: "enum is a list" });
    for (const k of ["additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames"]) {
      if (s[k] !== undefined) walk(s[k], `${at}.${k}`, depth + 1);
    }
    for (const k of ["allOf", "anyOf", "oneOf", "prefixItems"]) {
      if (s[k] === undefined) continue;
      if (!Array.isArray(s[k]) || (s[k] as unknown[]).length === 0)
        out.push({ path: `${at}.${k}`, message: `${k} is a non-empty list of schemas` });
      else
        (s[k] as unknown[]).forEach((v, i) => {
          walk(v, `${at}.${k}[${i}]`, depth + 1);
        });
    }
    for (const k of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) {
      if (s[k] !== undefined && (typeof s[k] !== "number" || !Number.isFinite(s[k])))
        out.push({ path: `${at}.${k}`, message: `${k} is a number` });
    }
    if (typeof s.multipleOf === "number" && s.multipleOf <= 0) out.push({ path: `${at}.multipleOf`, message: "multipleOf is above 0" });
    for (const k of ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]) {
      if (s[k] !== undefined && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) {
        out.push({ path: `${at}.${k}`, message: `${k} is a non-negative integer` });
      }
    }
    if (s.$ref !== undefined && !(typeof s.$ref === "string" && s.$ref.startsWith("#"))) {
      out.push({ path: `${at}.$ref`, message: "only references inside the schema (#…) are supported" });
    }
    if (s.pattern !== undefined) {
      try {
        new RegExp(s.pattern as string, "u");
      } catch {
        out.push({ path: `${at}.pattern`, message: "pattern is not a valid regular expression" });
      }
    }
  };
  walk(schema, path, 0);
  return out;
}

const VERSION = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(?:\.(0|[1-9]\d{0,5}))?$/;

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** `MAJOR.MINOR` or `MAJOR.MINOR.PATCH` (no leading zeros); `1.0` is `1.0.0`. */
export function parseVersion(s: string): Version | undefined {
  const m = VERSION.exec(s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** The canonical form: always `MAJOR.MINOR.PATCH`. */
export function canonicalVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}
