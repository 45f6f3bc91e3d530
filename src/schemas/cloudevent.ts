/**
 * CloudEvents 1.0 (https://github.com/cloudevents/spec) at both boundaries. In: a structured
 * event, a batch item, or a binary-mode request's `ce-*` headers and body become the envelope
 * that POST /events validates with its usual rules. Out: a stored event becomes a structured
 * CloudEvent, or binary-mode headers plus its data, for deliveries and GET /events/:id.
 *
 * Mapping: id, type, source, subject as they are; `time` ↔ `timestamp`; `dataschema` ↔
 * `dataSchema`; the extensions `partitionkey`, `routingkey` ↔ `partitionKey`, `routingKey`;
 * `correlationid`, `causationid`, `schemaversion` ↔ `metadata.correlationId`, `.causationId`,
 * `.version`; `sequence` (Sequence extension, a decimal string) out only. `data` is JSON.
 */
import { z } from "@hono/zod-openapi";
import { closestName } from "../domain/suggest.js";
import { type TraceContext, traceFrom } from "../domain/trace.js";
import { AppError, type FieldError, zodFieldErrors } from "../errors.js";
import { PublishEventSchema, type PublishInput, type StoredEvent } from "./event.js";

export const CLOUDEVENTS_JSON = "application/cloudevents+json";
export const CLOUDEVENTS_BATCH = "application/cloudevents-batch+json";
export const SPEC_VERSION = "1.0";
/** `source` of an event published without one (CloudEvents requires a source). */
export const DEFAULT_SOURCE = "edgebus";

export const DeliveryFormat = z.enum(["json", "cloudevents", "cloudevents-binary"]).openapi("DeliveryFormat", {
  description:
    "How deliveries are sent: `json` (default) the `{event}` body, `cloudevents` a structured CloudEvent (`application/cloudevents+json`), `cloudevents-binary` the event's data as the body with its attributes in `ce-*` headers.",
  example: "cloudevents",
});
export type DeliveryFormat = z.infer<typeof DeliveryFormat>;

/** Envelope member (as a validation path) → the CloudEvents attribute it comes from. */
const ATTRIBUTE_OF: Record<string, string> = {
  id: "id",
  type: "type",
  source: "source",
  timestamp: "time",
  subject: "subject",
  data: "data",
  partitionKey: "partitionkey",
  routingKey: "routingkey",
  "metadata.correlationId": "correlationid",
  "metadata.causationId": "causationid",
  "metadata.version": "schemaversion",
};

const REQUIRED = ["id", "source", "type", "specversion"] as const;
/** Attributes read but not mapped: the content type (checked), trace context, and `sequence` (edgebus assigns its own). */
const CONTEXT_ONLY = ["specversion", "datacontenttype", "dataschema", "traceparent", "tracestate", "sequence"];
const KNOWN = [...Object.values(ATTRIBUTE_OF), ...CONTEXT_ONLY];
const ALSO_KNOWN = ["data_base64"];

const JSON_MEDIA = /^(application|text)\/([a-z0-9.+-]+\+)?json\s*(;.*)?$/i;

/** The attributes of a structured event, for the OpenAPI document (validation is fromCloudEvent's). */
export const CloudEventSchema = z
  .object({
    specversion: z.literal(SPEC_VERSION),
    id: z.string(),
    source: z.string(),
    type: z.string(),
    time: z.string().optional(),
    subject: z.string().optional(),
    datacontenttype: z.string().optional().openapi({ description: "JSON only (application/json or a +json type)." }),
    dataschema: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    partitionkey: z.string().optional().openapi({ description: "Partitioning extension: the partition (ordering scope) of the event." }),
    routingkey: z.string().optional(),
    correlationid: z.string().optional(),
    causationid: z.string().optional(),
    schemaversion: z.string().optional(),
    sequence: z.string().optional().openapi({ description: "Sequence extension, on events edgebus sends: the partition sequence number." }),
    traceparent: z.string().optional().openapi({ description: "Distributed Tracing extension (on publish; the HTTP header also works)." }),
    tracestate: z.string().optional(),
  })
  .openapi("CloudEvent", {
    example: {
      specversion: "1.0",
      id: "evt-12345",
      source: "/orders",
      type: "order.created",
      time: "2024-07-15T14:32:22Z",
      subject: "order-123",
      datacontenttype: "application/json",
      data: { orderId: "order-123", total: 99.95 },
      partitionkey: "order-123",
    },
  });

/**
 * A structured CloudEvent (or one built from a binary request) as the envelope to publish.
 * `fallbackTrace` is the request's trace context, used when the event carries no `traceparent`.
 * Throws VALIDATION_FAILED naming the attribute, or UNSUPPORTED_MEDIA_TYPE for non-JSON data.
 */
export function fromCloudEvent(value: unknown, where: string, fallbackTrace?: TraceContext): PublishInput {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(where, [{ path: "(root)", message: "a structured CloudEvent is a JSON object" }]);
  }
  const ce = value as Record<string, unknown>;
  const missing = REQUIRED.filter((a) => ce[a] === undefined || ce[a] === null || ce[a] === "");
  if (missing.length > 0) {
    throw new AppError(
      "VALIDATION_FAILED",
      `${capital(where)}: missing required CloudEvents attribute${missing.length > 1 ? "s" : ""} ${missing.join(", ")}.`,
      missing.map((a) => ({ path: a, message: "is required" })),
    );
  }
  if (ce.specversion !== SPEC_VERSION) {
    throw new AppError(
      "VALIDATION_FAILED",
      `${capital(where)}: unsupported specversion ${JSON.stringify(ce.specversion)}; edgebus accepts CloudEvents ${SPEC_VERSION}.`,
      [{ path: "specversion", message: `must be "${SPEC_VERSION}"` }],
    );
  }
  if (ce.data_base64 !== undefined) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      `${capital(where)}: data_base64 carries binary data; edgebus event data is a JSON object (send it as "data" with datacontenttype application/json).`,
    );
  }
  if (ce.datacontenttype !== undefined && (typeof ce.datacontenttype !== "string" || !JSON_MEDIA.test(ce.datacontenttype))) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      `${capital(where)}: datacontenttype ${JSON.stringify(ce.datacontenttype)} is not JSON; edgebus event data is a JSON object (application/json).`,
    );
  }
  const errors: FieldError[] = [];
  for (const name of Object.keys(ce)) {
    if (KNOWN.includes(name) || ALSO_KNOWN.includes(name)) continue;
    const close = closestName(name, KNOWN);
    errors.push({
      path: name,
      message: `unknown attribute${close ? `; did you mean "${close}"?` : ""} (edgebus reads ${KNOWN.join(", ")})`,
    });
  }
  for (const name of ["dataschema", "traceparent", "tracestate"]) {
    if (ce[name] !== undefined && typeof ce[name] !== "string") errors.push({ path: name, message: "must be a string" });
  }
  if (typeof ce.dataschema === "string" && (ce.dataschema.length > 512 || !URI.test(ce.dataschema))) {
    errors.push({ path: "dataschema", message: "must be a URI of at most 512 characters" });
  }
  if (errors.length > 0) throw invalid(where, errors);

  const metadata = {
    ...(ce.correlationid !== undefined ? { correlationId: ce.correlationid } : {}),
    ...(ce.causationid !== undefined ? { causationId: ce.causationid } : {}),
    ...(ce.schemaversion !== undefined ? { version: ce.schemaversion } : {}),
  };
  const envelope = {
    id: ce.id,
    type: ce.type,
    source: ce.source,
    ...(ce.time !== undefined ? { timestamp: ce.time } : {}),
    ...(ce.subject !== undefined ? { subject: ce.subject } : {}),
    data: ce.data,
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(ce.routingkey !== undefined ? { routingKey: ce.routingkey } : {}),
    ...(ce.partitionkey !== undefined ? { partitionKey: ce.partitionkey } : {}),
  };
  const parsed = PublishEventSchema.safeParse(envelope);
  if (!parsed.success) {
    throw invalid(
      where,
      zodFieldErrors(parsed.error).map((e) => ({ path: attributePath(e.path), message: e.message })),
    );
  }
  const trace =
    typeof ce.traceparent === "string"
      ? traceFrom(ce.traceparent, typeof ce.tracestate === "string" ? ce.tracestate : undefined)
      : fallbackTrace;
  return {
    ...parsed.data,
    ...(typeof ce.dataschema === "string" ? { dataSchema: ce.dataschema } : {}),
    ...(trace ? { trace } : {}),
  };
}

/**
 * A binary-mode request's attributes: its `ce-*` headers (percent-decoded, names lower-case),
 * the Content-Type as `datacontenttype`, and the parsed body as `data`.
 */
export function fromBinary(headers: Headers, body: unknown): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  headers.forEach((value, name) => {
    const key = name.toLowerCase();
    if (!key.startsWith("ce-")) return;
    attributes[key.slice(3)] = percentDecode(value);
  });
  const type = headers.get("content-type");
  if (type) attributes.datacontenttype = type;
  if (body !== undefined) attributes.data = body;
  return attributes;
}

/** True when a request is a binary-mode CloudEvent (it has `ce-*` attribute headers). */
export function isBinaryMode(headers: Headers): boolean {
  for (const name of headers.keys()) if (name.toLowerCase().startsWith("ce-")) return true;
  return false;
}

/** A stored event as a structured CloudEvent (attributes, extensions, then `data`). */
export function toCloudEvent(event: StoredEvent): Record<string, unknown> {
  return {
    specversion: SPEC_VERSION,
    id: event.id,
    source: event.source ?? DEFAULT_SOURCE,
    type: event.type,
    time: event.timestamp,
    ...(event.subject !== undefined ? { subject: event.subject } : {}),
    datacontenttype: "application/json",
    ...(event.dataSchema !== undefined ? { dataschema: event.dataSchema } : {}),
    partitionkey: event.partitionKey,
    sequence: String(event.sequence),
    ...(event.routingKey !== undefined ? { routingkey: event.routingKey } : {}),
    correlationid: event.metadata.correlationId,
    ...(event.metadata.causationId !== undefined ? { causationid: event.metadata.causationId } : {}),
    schemaversion: event.metadata.version,
    data: event.data,
  };
}

/** One delivery's body, content type and format-specific headers. */
export interface RenderedDelivery {
  rawBody: string;
  contentType: string;
  headers: Record<string, string>;
}

export function renderDelivery(format: DeliveryFormat | undefined, event: StoredEvent): RenderedDelivery {
  if (format === "cloudevents") {
    return { rawBody: JSON.stringify(toCloudEvent(event)), contentType: CLOUDEVENTS_JSON, headers: {} };
  }
  if (format === "cloudevents-binary") {
    const { data, datacontenttype, ...attributes } = toCloudEvent(event);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(attributes)) headers[`ce-${name}`] = percentEncode(String(value));
    return { rawBody: JSON.stringify(data), contentType: String(datacontenttype), headers };
  }
  const { cacheInvalidation: _ci, trace: _trace, ...body } = event;
  return { rawBody: JSON.stringify({ event: body }), contentType: "application/json", headers: {} };
}

/** A URI or URI reference: printable ASCII, no spaces (a URI percent-encodes everything else). */
const URI = /^[\x21-\x7e]+$/;

function attributePath(path: string): string {
  if (ATTRIBUTE_OF[path]) return ATTRIBUTE_OF[path];
  const top = path.split(".")[0] as string;
  return ATTRIBUTE_OF[top] ? `${ATTRIBUTE_OF[top]}${path.slice(top.length)}` : path;
}

function invalid(where: string, errors: FieldError[]): AppError {
  const first = errors[0] as FieldError;
  return new AppError("VALIDATION_FAILED", `Invalid ${where}: ${first.path}: ${first.message}`, errors);
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** HTTP binding: header values percent-encode space, `"`, `%` and anything outside printable ASCII. */
function percentEncode(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function percentDecode(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
