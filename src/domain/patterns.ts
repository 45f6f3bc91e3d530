/**
 * Topic patterns for event types and routing keys (AMQP topic semantics).
 *
 * Event types and routing keys are dot-separated words; patterns may also use `*` (exactly one
 * word) and `#` (zero or more words) as whole words. This module validates those strings,
 * provides a small reference matcher (`matchPattern`), and an indexed `SubscriptionIndex` that
 * finds the subscriptions matching an event by walking a trie over the `events` patterns, so the
 * cost depends on the subscriptions that match rather than on how many there are.
 *
 * Pure logic: no Cloudflare bindings, no I/O.
 */

const EVENT_WORD = /^[a-z0-9_-]+$/;
const ROUTING_WORD = /^[A-Za-z0-9_-]+$/;

function allWords(s: string, word: RegExp, wildcards: boolean): boolean {
  // "".split(".") is [""], and leading/trailing/double dots produce empty words: all rejected.
  for (const w of s.split(".")) {
    if (wildcards && (w === "*" || w === "#")) continue;
    if (!word.test(w)) return false;
  }
  return true;
}

/** `order.status.changed`: words of `[a-z0-9_-]+`, no empty words. */
export function isValidEventType(s: string): boolean {
  return allWords(s, EVENT_WORD, false);
}

/** `order.region.US-east`: words of `[A-Za-z0-9_-]+`, no empty words. */
export function isValidRoutingKey(s: string): boolean {
  return allWords(s, ROUTING_WORD, false);
}

/** Like an event type, but a word may also be exactly `*` or `#`. */
export function isValidTypePattern(s: string): boolean {
  return allWords(s, EVENT_WORD, true);
}

/** Like a routing key, but a word may also be exactly `*` or `#`. */
export function isValidRoutingPattern(s: string): boolean {
  return allWords(s, ROUTING_WORD, true);
}

/**
 * Reference matcher over word arrays: `#` matches zero or more words, `*` exactly one, any other
 * word only itself (case-sensitive). Memoised on (pattern position, value position), so it is
 * O(|pattern| * |value|) even for patterns like `#.#.#.#.#.x`.
 */
function matchWords(pattern: readonly string[], value: readonly string[]): boolean {
  const P = pattern.length;
  const V = value.length;
  // 0 = unknown, 1 = matches, 2 = does not match; index = pi * (V + 1) + vi
  const memo = new Uint8Array((P + 1) * (V + 1));

  const m = (pi: number, vi: number): boolean => {
    if (pi === P) return vi === V;
    const key = pi * (V + 1) + vi;
    const cached = memo[key];
    if (cached !== undefined && cached !== 0) return cached === 1;
    const word = pattern[pi];
    let result: boolean;
    if (word === "#") {
      result = m(pi + 1, vi) || (vi < V && m(pi, vi + 1));
    } else if (vi === V) {
      result = false;
    } else {
      result = (word === "*" || word === value[vi]) && m(pi + 1, vi + 1);
    }
    memo[key] = result ? 1 : 2;
    return result;
  };

  return m(0, 0);
}

/** Whether `value` (event type or routing key) matches `pattern`. */
export function matchPattern(pattern: string, value: string): boolean {
  return matchWords(pattern.split("."), value.split("."));
}

export interface Matchable {
  id: string;
  /** Event type patterns; absent or empty means any type. */
  events?: readonly string[];
  /** Routing key patterns; absent or empty means no routing-key condition. */
  routingKeys?: readonly string[];
}

/** Optional counters filled in by `SubscriptionIndex.match` (for tests and diagnostics). */
export interface MatchStats {
  /** Distinct (trie node, word position) states visited while matching the event type. */
  visited: number;
  /** Subscriptions whose events matched the type, before the routing-key check. */
  candidates: number;
}

class TrieNode {
  readonly id: number;
  /** True when this node is reached through a `#` edge (it may then absorb further words). */
  readonly isHash: boolean;
  readonly children = new Map<string, TrieNode>();
  star: TrieNode | undefined;
  hash: TrieNode | undefined;
  /** Indices of subscriptions with a pattern ending at this node. */
  readonly subs: number[] = [];

  constructor(id: number, isHash: boolean) {
    this.id = id;
    this.isHash = isHash;
  }
}

/**
 * Subscriptions indexed by their `events` patterns.
 *
 * `match(type, routingKey)` walks a trie of pattern words (literal children by word, plus `*`
 * and `#` children) for the type, then checks the routing-key patterns of the few candidates
 * with the reference matcher. Results keep the order the subscriptions were given in, each at
 * most once. Patterns are not validated here; an invalid word is simply matched literally, the
 * same way `matchPattern` treats it.
 */
export class SubscriptionIndex<T extends Matchable> {
  private readonly subs: readonly T[];
  private readonly root: TrieNode;
  private nodeCount = 0;
  /** Subscriptions with no events patterns: they match any type. */
  private readonly anyType: number[] = [];
  /** Pre-split routing-key patterns per subscription; empty means no routing-key condition. */
  private readonly routing: (readonly (readonly string[])[])[] = [];

  constructor(subs: readonly T[]) {
    this.subs = subs.slice();
    this.root = this.newNode(false);
    this.subs.forEach((sub, i) => {
      const events = sub.events ?? [];
      if (events.length === 0) {
        this.anyType.push(i);
      } else {
        for (const pattern of events) this.insert(pattern.split("."), i);
      }
      this.routing.push((sub.routingKeys ?? []).map((p) => p.split(".")));
    });
  }

  /** Number of subscriptions in the index. */
  get size(): number {
    return this.subs.length;
  }

  private newNode(isHash: boolean): TrieNode {
    return new TrieNode(this.nodeCount++, isHash);
  }

  private insert(words: readonly string[], index: number): void {
    let node = this.root;
    for (const w of words) {
      let next: TrieNode | undefined;
      if (w === "#") {
        next = node.hash ??= this.newNode(true);
      } else if (w === "*") {
        next = node.star ??= this.newNode(false);
      } else {
        next = node.children.get(w);
        if (next === undefined) {
          next = this.newNode(false);
          node.children.set(w, next);
        }
      }
      node = next;
    }
    // A subscription may list the same (or an equivalent) pattern twice; it is deduped at match.
    node.subs.push(index);
  }

  /**
   * Subscriptions matching an event of `type` with optional `routingKey`, in the order given to
   * the constructor. An event without a routing key matches no subscription with routingKeys.
   */
  match(type: string, routingKey?: string, stats?: MatchStats): T[] {
    if (this.subs.length === 0) return []; // a tenant without subscriptions: nothing to walk
    const words = type.split(".");
    const n = words.length;
    const found = new Set<number>();
    const seen = new Set<number>();

    // Depth-first over (node, position) states; each state at most once, so `#` chains stay
    // polynomial. A `#` node in state (node, i) has matched words[..i) and may absorb words[i].
    const stack: [TrieNode, number][] = [[this.root, 0]];
    while (stack.length > 0) {
      const top = stack.pop();
      if (top === undefined) break;
      const [node, i] = top;
      const key = node.id * (n + 1) + i;
      if (seen.has(key)) continue;
      seen.add(key);

      if (i === n) for (const s of node.subs) found.add(s);
      if (node.hash !== undefined) stack.push([node.hash, i]); // `#` matching zero words
      if (i < n) {
        const word = words[i];
        if (node.isHash) stack.push([node, i + 1]); // `#` absorbing one more word
        if (word !== undefined) {
          const lit = node.children.get(word);
          if (lit !== undefined) stack.push([lit, i + 1]);
        }
        if (node.star !== undefined) stack.push([node.star, i + 1]);
      }
    }

    for (const s of this.anyType) found.add(s);
    if (stats !== undefined) {
      stats.visited = seen.size;
      stats.candidates = found.size;
    }

    const keyWords = routingKey === undefined ? undefined : routingKey.split(".");
    const result: number[] = [];
    for (const s of found) {
      const patterns = this.routing[s] ?? [];
      if (patterns.length === 0) {
        result.push(s);
      } else if (keyWords !== undefined && patterns.some((p) => matchWords(p, keyWords))) {
        result.push(s);
      }
    }
    result.sort((a, b) => a - b);

    const out: T[] = [];
    for (const s of result) {
      const sub = this.subs[s];
      if (sub !== undefined) out.push(sub);
    }
    return out;
  }
}
