import { describe, expect, it } from "vitest";
import { FILTER_LIMITS, type FilterPattern, matchFilter, validateFilter } from "../../src/domain/filters";

/**
 * Cases follow the examples of Amazon EventBridge's event-pattern documentation (content
 * filtering and comparison operators), put in terms of our envelope (`data` for `detail`).
 */
type Case = [name: string, filter: FilterPattern, event: Record<string, unknown>, matches: boolean];

const ec2 = {
  type: "ec2.instance.state-change",
  source: "aws.ec2",
  data: { "instance-id": "i-abcd1111", state: "pending", "c-count": 5, "d-count": 3, "x-limit": 301.8 },
};

const cases: Case[] = [
  // literal values, AND of keys, OR of alternatives
  ["literal matches", { source: ["aws.ec2"] }, ec2, true],
  ["literal differs", { source: ["aws.s3"] }, ec2, false],
  ["alternatives OR", { data: { state: ["running", "pending"] } }, ec2, true],
  ["keys AND (one fails)", { source: ["aws.ec2"], data: { state: ["running"] } }, ec2, false],
  ["keys AND (both hold)", { source: ["aws.ec2"], data: { state: ["pending"] } }, ec2, true],
  ["missing key does not match a literal", { data: { missing: ["x"] } }, ec2, false],
  ["case-sensitive literal", { data: { state: ["PENDING"] } }, ec2, false],
  ["number literal matches numerically", { data: { "c-count": [5.0] } }, ec2, true],
  ["a string is not a number", { data: { "c-count": ["5"] } }, ec2, false],
  ["null literal matches null", { data: { responseElements: [null] } }, { data: { responseElements: null } }, true],
  ["null literal does not match a missing key", { data: { responseElements: [null] } }, { data: {} }, false],
  ["empty string matches empty", { data: { LastName: [""] } }, { data: { LastName: "" } }, true],
  ["empty string is not null", { data: { LastName: [""] } }, { data: { LastName: null } }, false],
  ["boolean literal", { data: { ok: [true] } }, { data: { ok: true } }, true],
  // arrays in the event
  ["array: any element matches", { data: { resources: ["arn:b"] } }, { data: { resources: ["arn:a", "arn:b"] } }, true],
  ["array: no element matches", { data: { resources: ["arn:c"] } }, { data: { resources: ["arn:a", "arn:b"] } }, false],
  ["array of objects: any element", { data: { items: { sku: ["x"] } } }, { data: { items: [{ sku: "y" }, { sku: "x" }] } }, true],
  [
    "array of objects: keys match the same element",
    { data: { items: { sku: ["x"], qty: [2] } } },
    {
      data: {
        items: [
          { sku: "x", qty: 1 },
          { sku: "y", qty: 2 },
        ],
      },
    },
    false,
  ],
  // prefix / suffix / equals-ignore-case
  ["prefix", { data: { time: [{ prefix: "2017-10-02" }] } }, { data: { time: "2017-10-02T18:43:48Z" } }, true],
  ["prefix fails", { data: { time: [{ prefix: "2017-10-03" }] } }, { data: { time: "2017-10-02T18:43:48Z" } }, false],
  ["prefix on a number", { data: { "c-count": [{ prefix: "5" }] } }, ec2, false],
  ["suffix", { data: { FileName: [{ suffix: ".png" }] } }, { data: { FileName: "image.png" } }, true],
  ["suffix fails", { data: { FileName: [{ suffix: ".png" }] } }, { data: { FileName: "image.jpg" } }, false],
  ["equals-ignore-case", { data: { name: [{ "equals-ignore-case": "alice" }] } }, { data: { name: "ALICE" } }, true],
  ["equals-ignore-case fails", { data: { name: [{ "equals-ignore-case": "alice" }] } }, { data: { name: "alicia" } }, false],
  // anything-but
  ["anything-but string", { data: { state: [{ "anything-but": "initializing" }] } }, ec2, true],
  ["anything-but string excluded", { data: { state: [{ "anything-but": "pending" }] } }, ec2, false],
  ["anything-but number", { data: { "x-limit": [{ "anything-but": 123 }] } }, ec2, true],
  ["anything-but number excluded", { data: { "x-limit": [{ "anything-but": 301.8 }] } }, ec2, false],
  ["anything-but list", { data: { state: [{ "anything-but": ["stopped", "overloaded"] }] } }, ec2, true],
  ["anything-but list excluded", { data: { state: [{ "anything-but": ["stopped", "pending"] }] } }, ec2, false],
  ["anything-but number list", { data: { "x-limit": [{ "anything-but": [100, 200, 300] }] } }, ec2, true],
  ["anything-but prefix", { data: { state: [{ "anything-but": { prefix: "init" } }] } }, ec2, true],
  ["anything-but prefix excluded", { data: { state: [{ "anything-but": { prefix: "pend" } }] } }, ec2, false],
  ["anything-but needs the key", { data: { missing: [{ "anything-but": "x" }] } }, ec2, false],
  // numeric
  ["numeric >", { data: { "c-count": [{ numeric: [">", 0] }] } }, ec2, true],
  ["numeric range", { data: { "c-count": [{ numeric: [">", 0, "<=", 5] }] } }, ec2, true],
  ["numeric range upper excluded", { data: { "c-count": [{ numeric: [">", 0, "<", 5] }] } }, ec2, false],
  ["numeric =", { data: { "d-count": [{ numeric: ["=", 3] }] } }, ec2, true],
  ["numeric = fails", { data: { "d-count": [{ numeric: ["=", 4] }] } }, ec2, false],
  ["numeric >= with decimals", { data: { "x-limit": [{ numeric: [">=", 301.8] }] } }, ec2, true],
  ["numeric < fails", { data: { "x-limit": [{ numeric: ["<", 301.8] }] } }, ec2, false],
  ["numeric on a string", { data: { state: [{ numeric: [">", 0] }] } }, ec2, false],
  ["numeric on an array", { data: { v: [{ numeric: [">", 10] }] } }, { data: { v: [1, 20] } }, true],
  // exists
  ["exists true", { data: { state: [{ exists: true }] } }, ec2, true],
  ["exists true on a missing key", { data: { missing: [{ exists: true }] } }, ec2, false],
  ["exists false on a missing key", { data: { missing: [{ exists: false }] } }, ec2, true],
  ["exists false on a present key", { data: { state: [{ exists: false }] } }, ec2, false],
  ["exists true on null", { data: { v: [{ exists: true }] } }, { data: { v: null } }, true],
  ["exists applies to leaves, not objects", { data: { exists: [{ exists: true }] } }, { data: { exists: { a: 1 } } }, false],
  ["exists false under a missing object", { data: { deep: { x: [{ exists: false }] } } }, ec2, true],
  ["exists false on an empty array", { data: { v: [{ exists: false }] } }, { data: { v: [] } }, true],
  // wildcard
  [
    "wildcard",
    { data: { EventBusArn: [{ wildcard: "arn:aws:events:us-east-1:*:event-bus/*" }] } },
    { data: { EventBusArn: "arn:aws:events:us-east-1:123456789012:event-bus/default" } },
    true,
  ],
  [
    "wildcard fails",
    { data: { EventBusArn: [{ wildcard: "arn:aws:events:us-west-2:*:event-bus/*" }] } },
    { data: { EventBusArn: "arn:aws:events:us-east-1:123456789012:event-bus/default" } },
    false,
  ],
  ["wildcard with a middle part", { data: { file: [{ wildcard: "dir/*.png" }] } }, { data: { file: "dir/a/b.png" } }, true],
  ["wildcard without a star is equality", { data: { file: [{ wildcard: "a.png" }] } }, { data: { file: "a.png" } }, true],
  ["wildcard escaped star is literal", { data: { file: [{ wildcard: "a\\*b" }] } }, { data: { file: "axxb" } }, false],
  ["wildcard escaped star matches a star", { data: { file: [{ wildcard: "a\\*b" }] } }, { data: { file: "a*b" } }, true],
  ["wildcard parts do not overlap", { data: { s: [{ wildcard: "ab*ba" }] } }, { data: { s: "aba" } }, false],
  // $or
  ["$or: either branch", { $or: [{ "c-count": [{ numeric: [">", 10] }] }, { "d-count": [{ numeric: ["<", 5] }] }] }, ec2.data, true],
  ["$or: no branch", { $or: [{ "c-count": [{ numeric: [">", 10] }] }, { "d-count": [{ numeric: ["<", 2] }] }] }, ec2.data, false],
  [
    "$or ANDs with sibling keys",
    { source: ["aws.s3"], $or: [{ data: { state: ["pending"] } }, { data: { state: ["running"] } }] },
    ec2,
    false,
  ],
  ["$or nested in data", { data: { $or: [{ state: ["pending"] }, { "c-count": [9] }] } }, ec2, true],
  // the envelope as stored
  ["metadata.version", { metadata: { version: [{ prefix: "2." }] } }, { metadata: { version: "2.1" } }, true],
  ["partitionKey default", { partitionKey: [{ prefix: "_shard-" }] }, { partitionKey: "_shard-3" }, true],
  ["nested pattern over a leaf", { data: { state: { x: ["1"] } } }, ec2, false],
];

describe("matchFilter (EventBridge's documented semantics)", () => {
  it.each(cases)("%s", (_name, filter, event, matches) => {
    expect(validateFilter(filter)).toEqual([]);
    expect(matchFilter(filter, event)).toBe(matches);
  });
});

describe("validateFilter", () => {
  const faultOf = (filter: unknown) => validateFilter(filter);

  it("accepts every documented operator", () => {
    expect(
      faultOf({
        source: ["a", 1, null, true, { prefix: "p" }, { suffix: "s" }, { "equals-ignore-case": "e" }, { wildcard: "a*b" }],
        data: {
          n: [{ numeric: [">=", 0, "<", 10] }, { exists: false }, { "anything-but": ["x", "y"] }, { "anything-but": { prefix: "z" } }],
        },
      }),
    ).toEqual([]);
  });

  it.each([
    ["not an object", [1], "filter"],
    ["a bare literal", { source: "aws.ec2" }, "filter.source"],
    ["an unknown operator", { data: { x: [{ contains: "a" }] } }, "filter.data.x[0].contains"],
    ["a bad numeric operator", { data: { x: [{ numeric: ["!=", 1] }] } }, "filter.data.x[0].numeric[0]"],
    ["a numeric bound that is a string", { data: { x: [{ numeric: [">", "1"] }] } }, "filter.data.x[0].numeric[1]"],
    ["a range with the upper bound first", { data: { x: [{ numeric: ["<", 5, ">", 1] }] } }, "filter.data.x[0].numeric[0]"],
    ["numeric of odd length", { data: { x: [{ numeric: [">", 1, "<"] }] } }, "filter.data.x[0].numeric"],
    ["an inverted range", { data: { x: [{ numeric: [">", 5, "<", 1] }] } }, "filter.data.x[0].numeric"],
    ["two operators in one object", { x: [{ prefix: "a", suffix: "b" }] }, "filter.x[0]"],
    ["prefix of a number", { x: [{ prefix: 1 }] }, "filter.x[0].prefix"],
    ["exists of a string", { x: [{ exists: "yes" }] }, "filter.x[0].exists"],
    ["anything-but of a mixed list", { x: [{ "anything-but": ["a", 1] }] }, "filter.x[0].anything-but"],
    ["anything-but of an unknown object", { x: [{ "anything-but": { contains: "a" } }] }, "filter.x[0].anything-but.contains"],
    ["$or of one pattern", { $or: [{ x: ["a"] }] }, "filter.$or"],
    ["$or of a non-object", { $or: [{ x: ["a"] }, 1] }, "filter.$or[1]"],
    ["an empty array", { x: [] }, "filter.x"],
    ["consecutive wildcards", { x: [{ wildcard: "a**b" }] }, "filter.x[0].wildcard"],
  ])("refuses %s, naming the path", (_name, filter, path) => {
    const faults = faultOf(filter);
    expect(faults.length).toBeGreaterThan(0);
    expect(faults.map((f) => f.path)).toContain(path);
  });

  it("limits depth to 6 levels", () => {
    // object > object > object > object > array > object = 6
    expect(faultOf({ a: { b: { c: { d: [{ prefix: "x" }] } } } })).toEqual([]);
    expect(faultOf({ a: { b: { c: { d: { e: [{ prefix: "x" }] } } } } })[0]?.message).toMatch(/at most 6 levels/);
  });

  it("limits leaves to 100", () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(faultOf({ a: values(60), b: values(40) })).toEqual([]);
    expect(faultOf({ a: values(60), b: values(41) })[0]?.message).toMatch(/at most 100 leaves/);
  });

  it("limits the size to 4 KiB", () => {
    expect(faultOf({ a: ["x".repeat(FILTER_LIMITS.bytes)] })[0]?.message).toMatch(/4096 bytes/);
  });

  it("uses the root given", () => {
    expect(validateFilter({ x: "a" }, "subscriptions.0.filter")[0]?.path).toBe("subscriptions.0.filter.x");
  });
});
