/**
 * Target URL checks for webhook subscriptions (SSRF guard): refuses malformed URLs, non-HTTP
 * schemes and embedded credentials always; and, unless private targets are allowed (local
 * development), plain http, local host names and IP literals in private, loopback, link-local,
 * site-local, CGNAT, unspecified, multicast/reserved, documentation/benchmarking or unique-local
 * ranges, also when embedded in IPv6 (mapped, compatible, translated, NAT64, 6to4).
 *
 * Relies on the WHATWG URL parser to normalise numeric IPv4 forms (`2130706433`, `0x7f.1`,
 * `127.1` all become `127.0.0.1`) and IPv6 literals (`[::ffff:127.0.0.1]` becomes
 * `[::ffff:7f00:1]`), then checks `url.hostname`. DNS names that resolve to private addresses
 * are not detected here.
 */

export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

export interface TargetCheckOptions {
  allowPrivate: boolean;
}

type Verdict = "private" | "reserved" | undefined;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIPv4(host: string): number | undefined {
  const m = IPV4.exec(host);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

/** Whether the 32-bit address `ip` is within `base/bits`. */
function inV4(ip: number, base: string, bits: number): boolean {
  const b = parseIPv4(base);
  if (b === undefined) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(ip / size) === Math.floor(b / size);
}

const V4_PRIVATE: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network" / unspecified
  ["10.0.0.0", 8],
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10], // CGNAT
];

const V4_RESERVED: ReadonlyArray<readonly [string, number]> = [
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast 255.255.255.255
];

function classifyV4(ip: number): Verdict {
  if (V4_PRIVATE.some(([base, bits]) => inV4(ip, base, bits))) return "private";
  if (V4_RESERVED.some(([base, bits]) => inV4(ip, base, bits))) return "reserved";
  return undefined;
}

/** Eight 16-bit groups of an (unbracketed) IPv6 literal, or undefined when not parseable. */
function parseIPv6(text: string): number[] | undefined {
  let s = text.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part becomes two hex groups.
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIPv4(tail);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = toGroups(halves[0] ?? "");
  if (!head) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const rest = toGroups(halves[1] ?? "");
  if (!rest || head.length + rest.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function embeddedV4(hi: number, lo: number): number {
  return hi * 65536 + lo;
}

function classifyV6(g: readonly number[]): Verdict {
  const at = (i: number): number => g[i] ?? 0;
  const zeroUpTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return "private"; // :: unspecified
  if (zeroUpTo(7) && at(7) === 1) return "private"; // ::1 loopback
  if ((at(0) & 0xfe00) === 0xfc00) return "private"; // fc00::/7 unique-local
  if ((at(0) & 0xffc0) === 0xfe80) return "private"; // fe80::/10 link-local
  if ((at(0) & 0xffc0) === 0xfec0) return "private"; // fec0::/10 site-local (deprecated, still routed locally)
  if (at(0) === 0x2001 && at(1) === 0x0db8) return "reserved"; // 2001:db8::/32 documentation
  if ((at(0) & 0xff00) === 0xff00) return "reserved"; // ff00::/8 multicast
  // ::ffff:a.b.c.d IPv4-mapped, and ::a.b.c.d IPv4-compatible (deprecated).
  if (zeroUpTo(5) && (at(5) === 0xffff || at(5) === 0)) return classifyV4(embeddedV4(at(6), at(7)));
  // ::ffff:0:a.b.c.d IPv4-translated (RFC 2765).
  if (zeroUpTo(4) && at(4) === 0xffff && at(5) === 0) return classifyV4(embeddedV4(at(6), at(7)));
  // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): translated by the local network, never public.
  if (at(0) === 0x64 && at(1) === 0xff9b && at(2) === 1) return "private";
  // 64:ff9b::/96 NAT64 well-known prefix.
  if (at(0) === 0x64 && at(1) === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyV4(embeddedV4(at(6), at(7)));
  }
  // 2002::/16 6to4: the IPv4 address is in groups 1–2.
  if (at(0) === 0x2002) return classifyV4(embeddedV4(at(1), at(2)));
  return undefined;
}

function refusedIp(host: string, verdict: Exclude<Verdict, undefined>): { ok: false; reason: string } {
  return verdict === "private"
    ? { ok: false, reason: `private or loopback address ${host} is not allowed` }
    : { ok: false, reason: `reserved or multicast address ${host} is not allowed` };
}

function isLocalName(host: string): boolean {
  for (const suffix of ["localhost", "local", "internal"]) {
    if (host === suffix || host.endsWith(`.${suffix}`)) return true;
  }
  return false;
}

/**
 * `localhost:9000/x`, `example.com/hook`, `//example.com/x`: a host written without `scheme://`
 * (the URL parser reads `localhost:` as a scheme, or fails). `mailto:x` keeps its own message.
 */
function lacksScheme(url: string, parsed: URL | undefined): boolean {
  if (url.includes("://") || url === "" || /\s/.test(url)) return false;
  if (!parsed) return true;
  const colon = url.indexOf(":");
  return /^\d/.test(url.slice(colon + 1)) || url.slice(0, colon).includes(".");
}

/** Check a webhook target URL; on success returns the parsed URL. */
export function checkTarget(url: string, opts: TargetCheckOptions): TargetCheck {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (lacksScheme(url, parsed)) {
    return {
      ok: false,
      reason: opts.allowPrivate
        ? `target URL has no scheme; start it with http:// or https://, e.g. http://${url.replace(/^\/+/, "")}`
        : `target URL has no scheme; start it with https://, e.g. https://${url.replace(/^\/+/, "")}`,
    };
  }
  if (!parsed) return { ok: false, reason: "target is not a valid absolute URL" };
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { ok: false, reason: `scheme ${parsed.protocol} is not allowed; use https` };
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return { ok: false, reason: "URLs with a username or password are not allowed" };
  }
  if (parsed.hostname === "") {
    return { ok: false, reason: "target URL has no host" };
  }
  if (opts.allowPrivate) return { ok: true, url: parsed };

  if (parsed.protocol === "http:") {
    return { ok: false, reason: "plain http targets are not allowed; use https" };
  }
  const hostname = parsed.hostname;
  if (hostname.startsWith("[")) {
    const groups = parseIPv6(hostname.slice(1, -1));
    if (!groups) return { ok: false, reason: `IPv6 address ${hostname} could not be checked` };
    const verdict = classifyV6(groups);
    return verdict ? refusedIp(hostname, verdict) : { ok: true, url: parsed };
  }
  const v4 = parseIPv4(hostname);
  if (v4 !== undefined) {
    const verdict = classifyV4(v4);
    return verdict ? refusedIp(hostname, verdict) : { ok: true, url: parsed };
  }
  // Host names: ignore a trailing root dot ("localhost." is localhost).
  const name = hostname.replace(/\.+$/, "");
  if (name === "" || isLocalName(name)) {
    return { ok: false, reason: `local host name ${hostname} is not allowed` };
  }
  return { ok: true, url: parsed };
}
