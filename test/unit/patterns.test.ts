import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Matchable, MatchStats } from "../../src/domain/patterns";
import {
  isValidEventType,
  isValidRoutingKey,
  isValidRoutingPattern,
  isValidTypePattern,
  matchPattern,
  SubscriptionIndex,
} from "../../src/domain/patterns";

/** Reference rule, written directly from the matching rules (events, then routingKeys) on top of matchPattern. */
function referenceMatches(sub: Matchable, type: string, routingKey: string | undefined): boolean {
  const events = sub.events ?? [];
  const typeOk = events.length === 0 || events.some((p) => matchPattern(p, type));
  if (!typeOk) return false;
  const keys = sub.routingKeys ?? [];
  if (keys.length === 0) return true;
  if (routingKey === undefined) return false;
  return keys.some((p) => matchPattern(p, routingKey));
}

/** Independent regex implementation: value ".w1.w2", `*` = one word, `#` = zero or more words. */
function regexMatch(pattern: string, value: string): boolean {
  const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const body = pattern
    .split(".")
    .map((w) => (w === "#" ? "(?:\\.[^.]+)*" : w === "*" ? "\\.[^.]+" : `\\.${escapeRe(w)}`))
    .join("");
  return new RegExp(`^${body}$`).test(`.${value}`);
}

const ids = (subs: readonly Matchable[]): string[] => subs.map((s) => s.id);

describe("matchPattern", () => {
  const cases: [pattern: string, value: string, expected: boolean][] = [
    ["order.created", "order.created", true],
    ["order.created", "order.updated", false],
    ["order.created", "order", false],
    ["order", "order.created", false],
    // `*` matches exactly one word
    ["order.*", "order.created", true],
    ["order.*", "order", false],
    ["order.*", "order.status.changed", false],
    ["*.*", "a.b", true],
    ["*.*", "a", false],
    ["*.*", "a.b.c", false],
    ["*", "x", true],
    ["order.*.changed", "order.status.changed", true],
    // `#` matches zero or more words
    ["#", "a", true],
    ["#", "a.b.c", true],
    ["order.#", "order", true],
    ["order.#", "order.created", true],
    ["order.#", "order.status.changed", true],
    ["order.#", "orders.created", false],
    ["#.created", "created", true],
    ["#.created", "order.created", true],
    ["#.created", "a.b.order.created", true],
    ["#.shipped", "order.created", false],
    ["a.#.b", "a.b", true],
    ["a.#.b", "a.x.b", true],
    ["a.#.b", "a.x.y.b", true],
    ["a.#.b", "a.x.y", false],
    ["#.#", "a", true],
    ["#.#", "a.b.c", true],
    ["order.*.status.#", "order.eu.status", true],
    ["order.*.status.#", "order.eu.status.shipped.late", true],
    ["order.*.status.#", "order.status", false],
    ["#.*", "a", true],
    ["*.#", "a", true],
    ["#.*.#", "a.b", true],
    ["*.#.*", "a", false],
    ["*.#.*", "a.b", true],
    // case-sensitive literal words (routing keys may contain upper case)
    ["order.region.US-east.#", "order.region.US-east.status", true],
    ["order.region.us-east.#", "order.region.US-east.status", false],
    ["order.region.us-east.#", "order.region.us-east.status.shipped", true],
  ];
  it.each(cases)("%s vs %s -> %s", (pattern, value, expected) => {
    expect(matchPattern(pattern, value)).toBe(expected);
  });

  it("does not blow up on many consecutive #", () => {
    const pattern = `${Array.from({ length: 40 }, () => "#").join(".")}.x`;
    const value = Array.from({ length: 60 }, () => "a").join(".");
    expect(matchPattern(pattern, value)).toBe(false);
    expect(matchPattern(pattern, `${value}.x`)).toBe(true);
    const alternating = `${Array.from({ length: 30 }, () => "#.a").join(".")}.b`;
    expect(matchPattern(alternating, value)).toBe(false);
  });
});

describe("validation", () => {
  it.each(["order", "order.created", "order.status.changed", "a_b.c-d.0", "x1.y2"])("valid event type %s", (s) =>
    expect(isValidEventType(s)).toBe(true),
  );
  it.each([
    "",
    ".",
    "order.",
    ".order",
    "order..created",
    "Order.created",
    "order.*",
    "order.#",
    "order created",
    "order/created",
    "ördér",
  ])("invalid event type %j", (s) => expect(isValidEventType(s)).toBe(false));

  it.each(["order", "order.region.US-east", "ABC.def_1", "a-b.C_d.9"])("valid routing key %s", (s) =>
    expect(isValidRoutingKey(s)).toBe(true),
  );
  it.each(["", ".", "a.", ".a", "a..b", "a.*", "a.#", "a b", "a:b"])("invalid routing key %j", (s) =>
    expect(isValidRoutingKey(s)).toBe(false),
  );

  it.each(["#", "*", "order.#", "#.shipped", "order.*.status.#", "*.*", "#.#", "order.created", "a-b.*.c_d"])(
    "valid type pattern %s",
    (s) => expect(isValidTypePattern(s)).toBe(true),
  );
  it.each(["", ".", "order.", ".#", "#.", "a..b", "ord*", "order.#x", "order.**", "order.##", "Order.#", "*#"])(
    "invalid type pattern %j",
    (s) => expect(isValidTypePattern(s)).toBe(false),
  );

  it.each(["#", "*", "order.region.US-east.#", "#.SHIPPED", "A.*.b", "*.*"])("valid routing pattern %s", (s) =>
    expect(isValidRoutingPattern(s)).toBe(true),
  );
  it.each(["", ".", "a.", ".a", "a..b", "US*", "a.#b", "a.**", "a b.#"])("invalid routing pattern %j", (s) =>
    expect(isValidRoutingPattern(s)).toBe(false),
  );
});

describe("SubscriptionIndex", () => {
  const subs: Matchable[] = [
    { id: "all" },
    { id: "empty-events", events: [] },
    { id: "order-any", events: ["order.#"] },
    { id: "order-star", events: ["order.*"] },
    { id: "created-suffix", events: ["#.created"] },
    { id: "exact", events: ["order.status.changed"] },
    { id: "us-east", events: ["order.status.changed"], routingKeys: ["order.region.us-east.#"] },
    { id: "upper", events: ["order.#"], routingKeys: ["order.region.US-EAST.*"] },
    { id: "rk-only", routingKeys: ["#.shipped"] },
    { id: "a-hash-b", events: ["a.#.b"] },
    { id: "multi", events: ["invoice.*", "order.created", "order.#"] },
  ];
  const index = new SubscriptionIndex(subs);

  const cases: [type: string, routingKey: string | undefined, expected: string[]][] = [
    ["order", undefined, ["all", "empty-events", "order-any", "multi"]],
    ["order.created", undefined, ["all", "empty-events", "order-any", "order-star", "created-suffix", "multi"]],
    ["created", undefined, ["all", "empty-events", "created-suffix"]],
    ["order.status.changed", undefined, ["all", "empty-events", "order-any", "exact", "multi"]],
    // a routing key under order.region.us-east
    [
      "order.status.changed",
      "order.region.us-east.status.shipped",
      ["all", "empty-events", "order-any", "exact", "us-east", "rk-only", "multi"],
    ],
    ["order.status.changed", "order.region.us-west.status", ["all", "empty-events", "order-any", "exact", "multi"]],
    // upper-case routing keys match case-sensitively
    ["order.status.changed", "order.region.US-EAST.x", ["all", "empty-events", "order-any", "exact", "upper", "multi"]],
    ["order.status.changed", "order.region.us-east", ["all", "empty-events", "order-any", "exact", "us-east", "multi"]],
    ["a.b", undefined, ["all", "empty-events", "a-hash-b"]],
    ["a.x.y.b", "shipped", ["all", "empty-events", "rk-only", "a-hash-b"]],
    ["a.x.y", undefined, ["all", "empty-events"]],
    ["invoice.paid", undefined, ["all", "empty-events", "multi"]],
    ["invoice.paid.late", undefined, ["all", "empty-events"]],
  ];
  it.each(cases)("type %s, routingKey %s", (type, routingKey, expected) => {
    expect(ids(index.match(type, routingKey))).toEqual(expected);
    // agrees with the reference rule
    expect(ids(index.match(type, routingKey))).toEqual(ids(subs.filter((s) => referenceMatches(s, type, routingKey))));
  });

  it("routingKeys order.region.us-east.# matches order.region.us-east.status.shipped", () => {
    const idx = new SubscriptionIndex([{ id: "s1", events: ["order.status.changed"], routingKeys: ["order.region.us-east.#"] }]);
    expect(ids(idx.match("order.status.changed", "order.region.us-east.status.shipped"))).toEqual(["s1"]);
    expect(ids(idx.match("order.status.changed"))).toEqual([]);
    expect(ids(idx.match("order.status.changed", "order.region.us-west.status.shipped"))).toEqual([]);
  });

  it("an event without a routing key matches no subscription that has routingKeys", () => {
    const idx = new SubscriptionIndex([{ id: "with-rk", routingKeys: ["#"] }, { id: "empty-rk", routingKeys: [] }, { id: "no-rk" }]);
    expect(ids(idx.match("x"))).toEqual(["empty-rk", "no-rk"]);
    expect(ids(idx.match("x", "anything.AT.all"))).toEqual(["with-rk", "empty-rk", "no-rk"]);
  });

  it("returns each subscription once, in the given order, even if several patterns match", () => {
    const idx = new SubscriptionIndex([
      { id: "z", events: ["#", "a.#", "#.b", "a.b", "*.*", "a.b"], routingKeys: ["#", "k", "*"] },
      { id: "y", events: ["#.#.#"] },
      { id: "x", events: ["a.b"] },
    ]);
    expect(ids(idx.match("a.b", "k"))).toEqual(["z", "y", "x"]);
  });

  it("handles consecutive # in the trie without blow-up", () => {
    const many = Array.from({ length: 40 }, () => "#").join(".");
    const idx = new SubscriptionIndex([
      { id: "hashes-x", events: [`${many}.x`] },
      { id: "hashes", events: [many] },
      { id: "alt", events: [`${Array.from({ length: 20 }, () => "#.a").join(".")}.#`] },
    ]);
    const value = Array.from({ length: 60 }, () => "a").join(".");
    expect(ids(idx.match(value))).toEqual(["hashes", "alt"]);
    expect(ids(idx.match(`${value}.x`))).toEqual(["hashes-x", "hashes", "alt"]);
    const stats: MatchStats = { visited: 0, candidates: 0 };
    idx.match(value, undefined, stats);
    // polynomial: at most (trie nodes) x (positions) states
    expect(stats.visited).toBeLessThanOrEqual((40 + 1 + 40 + 41) * 61);
  });

  it("is indexed: 1,000 non-matching subscriptions yield exactly the matching ones", () => {
    const matching: Matchable[] = [
      { id: "m1", events: ["order.created"] },
      { id: "m2", events: ["order.#"] },
      { id: "m3", events: ["*.created"], routingKeys: ["eu.#"] },
    ];
    const build = (count: number): Matchable[] => {
      const subs: Matchable[] = [];
      for (let i = 0; i < count; i++) {
        subs.push({ id: `other${i}`, events: [`other${i}.created`, `other${i}.#`], routingKeys: ["#"] });
        if (i === Math.floor(count / 3)) subs.push(matching[0]!);
        if (i === Math.floor((2 * count) / 3)) subs.push(matching[1]!);
      }
      subs.push(matching[2]!);
      return subs;
    };
    const big = new SubscriptionIndex(build(1000));
    const small = new SubscriptionIndex(build(10));
    expect(big.size).toBe(1003);

    const bigStats: MatchStats = { visited: 0, candidates: 0 };
    const smallStats: MatchStats = { visited: 0, candidates: 0 };
    expect(ids(big.match("order.created", "eu.west", bigStats))).toEqual(["m1", "m2", "m3"]);
    expect(ids(small.match("order.created", "eu.west", smallStats))).toEqual(["m1", "m2", "m3"]);
    // the same trie states are walked regardless of the number of non-matching subscriptions
    expect(bigStats.visited).toBe(smallStats.visited);
    expect(bigStats.candidates).toBe(3);
    expect(smallStats.candidates).toBe(3);
  });
});

describe("properties", () => {
  const patternArb = fc.array(fc.constantFrom("a", "b", "c", "*", "#"), { minLength: 1, maxLength: 5 }).map((ws) => ws.join("."));
  const valueArb = fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 5 }).map((ws) => ws.join("."));
  const subArb = fc.record(
    {
      events: fc.array(patternArb, { maxLength: 3 }),
      routingKeys: fc.array(patternArb, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  const subsArb = fc.array(subArb, { maxLength: 8 }).map((subs): Matchable[] => subs.map((s, i) => ({ id: `s${i}`, ...s })));

  it("SubscriptionIndex.match agrees with the reference rule", () => {
    fc.assert(
      fc.property(subsArb, valueArb, fc.option(valueArb, { nil: undefined }), (subs, type, rk) => {
        const expected = subs.filter((s) => referenceMatches(s, type, rk));
        const actual = new SubscriptionIndex(subs).match(type, rk);
        expect(ids(actual)).toEqual(ids(expected));
        // the very same objects are returned
        for (const [i, s] of actual.entries()) expect(s).toBe(expected[i]);
      }),
      { numRuns: 1000 },
    );
  });

  it("matchPattern agrees with a regex implementation", () => {
    fc.assert(
      fc.property(patternArb, valueArb, (pattern, value) => {
        expect(matchPattern(pattern, value)).toBe(regexMatch(pattern, value));
      }),
      { numRuns: 2000 },
    );
  });

  it("generated patterns and values are valid", () => {
    fc.assert(
      fc.property(patternArb, valueArb, (pattern, value) => {
        expect(isValidTypePattern(pattern)).toBe(true);
        expect(isValidRoutingPattern(pattern)).toBe(true);
        expect(isValidEventType(value)).toBe(true);
        expect(isValidRoutingKey(value)).toBe(true);
      }),
    );
  });
});
