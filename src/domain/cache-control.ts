/**
 * Reads the time to live a client asks for on PUT /cache/:key: the `max-age` directive of its
 * Cache-Control header. Other directives are ignored; a malformed or out-of-range max-age is an
 * error (a typo must not silently become the default time to live).
 */
export type MaxAge = { ok: true; seconds?: number } | { ok: false; message: string };

export function parseMaxAge(header: string | undefined, maxSeconds: number): MaxAge {
  if (header === undefined) return { ok: true };
  for (const directive of header.split(",")) {
    const [rawName = "", ...rest] = directive.split("=");
    if (rawName.trim().toLowerCase() !== "max-age") continue;
    const value = rest
      .join("=")
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (!/^\d{1,10}$/.test(value)) return { ok: false, message: `max-age must be a whole number of seconds; got '${value}'` };
    const seconds = Number(value);
    if (seconds < 1 || seconds > maxSeconds) return { ok: false, message: `max-age must be 1–${maxSeconds} seconds; got ${seconds}` };
    return { ok: true, seconds };
  }
  return { ok: true };
}
