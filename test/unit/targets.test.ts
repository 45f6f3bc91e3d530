/** Unit tests for webhook target URL checks (SSRF guard). */
import { describe, expect, it } from "vitest";
import { checkTarget } from "../../src/domain/targets";

const strict = { allowPrivate: false };
const dev = { allowPrivate: true };

function reasonOf(url: string, opts: { allowPrivate: boolean }): string {
  const r = checkTarget(url, opts);
  return r.ok ? "" : r.reason;
}

describe("checkTarget with allowPrivate=false", () => {
  const refused = [
    "http://127.0.0.1/",
    "https://127.0.0.1/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/",
    "https://100.127.255.255/",
    "https://192.0.0.8/",
    "https://198.18.0.1/",
    "https://198.19.255.255/",
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://[::1]/",
    "https://[::]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::10.0.0.1]/",
    "https://[64:ff9b::7f00:1]/",
    "https://[2002:7f00:1::]/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0x7f.1/",
    "https://127.1/",
    "https://0177.0.0.1/",
    "https://127.0.0.1./",
    "https://localhost/",
    "https://LOCALHOST/",
    "https://localhost./",
    "https://api.localhost/",
    "https://printer.local/",
    "https://db.internal/",
    "https://[fd00::1]/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://[febf::1]/",
    "https://[ff02::1]/",
    "https://0.0.0.0/",
    "https://0/",
    "http://example.com/hook",
    // IPv4-translated, site-local, local-use NAT64, documentation and reserved networks.
    "https://[::ffff:0:7f00:1]/",
    "https://[::ffff:0:127.0.0.1]/",
    "https://[::ffff:0:a00:1]/",
    "https://[fec0::1]/",
    "https://[feff:ffff::1]/",
    "https://[64:ff9b:1::1]/",
    "https://[64:ff9b:1:ffff::8.8.8.8]/",
    "https://[2001:db8::1]/",
    "https://192.0.2.1/",
    "https://192.0.2.255/",
    "https://198.18.0.0/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://240.0.0.0/",
    "https://247.1.2.3/",
    "https://[::ffff:203.0.113.5]/",
  ];
  for (const url of refused) {
    it(`refuses ${url}`, () => {
      const r = checkTarget(url, strict);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    });
  }

  const accepted = [
    "https://example.com/hook",
    "https://8.8.8.8/",
    "https://example.com:8443/a/b?c=d",
    "https://172.32.0.1/",
    "https://100.128.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[64:ff9b::8.8.8.8]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[::ffff:0:808:808]/",
    "https://192.0.3.1/",
    "https://198.20.0.1/",
    "https://198.51.101.1/",
    "https://203.0.114.1/",
    "https://239.0.0.1.example.com/",
    "https://localhost.example.com/",
    "https://internal.example.com/",
  ];
  for (const url of accepted) {
    it(`accepts ${url}`, () => {
      const r = checkTarget(url, strict);
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(r.url).toBeInstanceOf(URL);
    });
  }

  it("gives short human reasons", () => {
    expect(reasonOf("https://10.0.0.1/", strict)).toBe("private or loopback address 10.0.0.1 is not allowed");
    expect(reasonOf("https://2130706433/", strict)).toContain("127.0.0.1");
    expect(reasonOf("https://[::ffff:127.0.0.1]/", strict)).toContain("[::ffff:7f00:1]");
    expect(reasonOf("http://example.com/", strict)).toMatch(/https/);
    expect(reasonOf("https://localhost/", strict)).toContain("localhost");
  });
});

describe("URL parser normalisation relied upon", () => {
  const cases: Array<[string, string]> = [
    ["https://2130706433/", "127.0.0.1"],
    ["https://0x7f000001/", "127.0.0.1"],
    ["https://0x7f.1/", "127.0.0.1"],
    ["https://127.1/", "127.0.0.1"],
    ["https://0177.0.0.1/", "127.0.0.1"],
    ["https://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"],
    ["https://[0:0:0:0:0:0:0:1]/", "[::1]"],
    ["https://LocalHost/", "localhost"],
  ];
  for (const [input, hostname] of cases) {
    it(`${input} → ${hostname}`, () => {
      expect(new URL(input).hostname).toBe(hostname);
    });
  }
});

describe("always refused (even with allowPrivate=true)", () => {
  const refused = [
    "ftp://x.com/",
    "https://user:pass@example.com/",
    "https://user@example.com/",
    "https://:pass@example.com/",
    "not a url",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "data:text/plain,hi",
    "",
  ];
  for (const url of refused) {
    it(`refuses ${JSON.stringify(url)}`, () => {
      expect(checkTarget(url, dev).ok).toBe(false);
      expect(checkTarget(url, strict).ok).toBe(false);
    });
  }
});

describe("checkTarget with allowPrivate=true", () => {
  const allowed = [
    "http://127.0.0.1:8080/hook",
    "http://localhost:3000/",
    "https://10.1.2.3/",
    "http://[::1]:9000/",
    "https://example.com/hook",
  ];
  for (const url of allowed) {
    it(`allows ${url}`, () => {
      const r = checkTarget(url, dev);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.url.href).toBe(new URL(url).href);
    });
  }
});

describe("a URL written without its scheme", () => {
  const missing = [
    "localhost:9000/x",
    "127.0.0.1:9000/hook",
    "example.com/hook",
    "example.com:8443/hook",
    "//example.com/hook",
    "localhost",
  ];
  for (const url of missing) {
    it(`${url}: says the scheme is missing, not "use https", in development`, () => {
      const reason = reasonOf(url, dev);
      expect(reason).toContain("no scheme");
      expect(reason).toContain("http://");
      expect(reason).not.toMatch(/use https/);
    });
    it(`${url}: says the scheme is missing in production too, suggesting https://`, () => {
      const reason = reasonOf(url, strict);
      expect(reason).toContain("no scheme");
      expect(reason).toContain("https://");
    });
  }

  it("suggests the URL with the scheme added", () => {
    expect(reasonOf("localhost:9000/x", dev)).toContain("http://localhost:9000/x");
    expect(reasonOf("example.com/hook", strict)).toContain("https://example.com/hook");
  });

  it("keeps its own reason for a real scheme and for text that is no URL", () => {
    expect(reasonOf("mailto:ops@example.com", dev)).toBe("scheme mailto: is not allowed; use https");
    expect(reasonOf("javascript:alert(1)", dev)).toContain("javascript:");
    expect(reasonOf("not a url", dev)).toBe("target is not a valid absolute URL");
  });
});
