/**
 * The one error model: every failure is thrown as an AppError with a stable code, and rendered
 * by one function as RFC 9457 application/problem+json (errorResponse for app.onError and the
 * publish fast path, problemResponse for notFound).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";

/** The closed set of error codes and the HTTP status each one maps to. */
export const ERROR_STATUS = {
  BAD_JSON: 400,
  VALIDATION_FAILED: 400,
  BAD_ID: 400,
  MISSING_API_KEY: 401,
  INVALID_API_KEY: 401,
  ADMIN_ONLY: 403,
  INSUFFICIENT_SCOPE: 403,
  TENANT_MISMATCH: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  SCHEMA_VERSION_EXISTS: 409,
  INCOMPATIBLE_SCHEMA: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  UNPROCESSABLE: 422,
  LIMIT_EXCEEDED: 422,
  UNKNOWN_SCHEMA_VERSION: 422,
  SCHEMA_VALIDATION_FAILED: 422,
  RATE_LIMITED: 429,
  TARGET_REFUSED: 400,
  INTERNAL: 500,
  UPSTREAM_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  BAD_JSON: "Malformed JSON",
  VALIDATION_FAILED: "Validation failed",
  BAD_ID: "Bad identifier",
  MISSING_API_KEY: "Missing API key",
  INVALID_API_KEY: "Invalid API key",
  ADMIN_ONLY: "Admin token required",
  INSUFFICIENT_SCOPE: "Insufficient scope",
  TENANT_MISMATCH: "Tenant mismatch",
  NOT_FOUND: "Not found",
  ROUTE_NOT_FOUND: "Route not found",
  METHOD_NOT_ALLOWED: "Method not allowed",
  CONFLICT: "Conflict",
  INVALID_TRANSITION: "Invalid status transition",
  SCHEMA_VERSION_EXISTS: "Schema version exists",
  INCOMPATIBLE_SCHEMA: "Incompatible schema",
  PAYLOAD_TOO_LARGE: "Payload too large",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  UPGRADE_REQUIRED: "Upgrade required",
  UNPROCESSABLE: "Unprocessable entity",
  LIMIT_EXCEEDED: "Limit exceeded",
  UNKNOWN_SCHEMA_VERSION: "Unknown schema version",
  SCHEMA_VALIDATION_FAILED: "Schema validation failed",
  RATE_LIMITED: "Rate limited",
  TARGET_REFUSED: "Target URL refused",
  INTERNAL: "Internal error",
  UPSTREAM_UNAVAILABLE: "Upstream unavailable",
};

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = "AppError";
    this.status = ERROR_STATUS[code];
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: FieldError[];
}

export function problemBody(code: ErrorCode, detail: string, requestId: string, errors?: FieldError[]): Problem {
  return {
    type: `https://edgebus.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: TITLES[code],
    status: ERROR_STATUS[code],
    detail,
    code,
    requestId,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function problemResponse(c: Context, err: AppError): Response {
  return problemFor((c.get("requestId") as string | undefined) ?? "unknown", err);
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "BAD_JSON",
  401: "INVALID_API_KEY",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/**
 * Any thrown value as the response: an AppError as its problem, a framework HTTP error below 500
 * as the matching code, anything else logged (with the request id, never the request) and
 * answered as INTERNAL.
 */
export function errorResponse(err: unknown, requestId: string): Response {
  if (err instanceof AppError) return problemFor(requestId, err);
  if (err instanceof HTTPException && err.status < 500) {
    const code = HTTP_CODES[err.status] ?? "VALIDATION_FAILED";
    return problemFor(requestId, new AppError(code, err.message || "Bad request."));
  }
  console.error(JSON.stringify({ level: "error", requestId, message: String(err), stack: (err as Error).stack }));
  return problemFor(requestId, new AppError("INTERNAL", "An unexpected error occurred; quote the request id when reporting it."));
}

function problemFor(requestId: string, err: AppError): Response {
  const body = problemBody(err.code, err.message, requestId, err.errors);
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "content-type": "application/problem+json", "x-request-id": requestId, ...err.headers },
  });
}

/** Field errors from a zod error, paths written the way a client would (`items.0.quantity`). */
export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((i) => ({
    // An unknown member is reported at its own path when it is the only one in its object.
    path: [...i.path, ...(i.code === "unrecognized_keys" && i.keys.length === 1 ? i.keys : [])].map(String).join(".") || "(root)",
    message: i.message,
  }));
}

export function validationError(error: ZodError, where = "body"): AppError {
  const errors = zodFieldErrors(error);
  const first = errors[0];
  const detail = first ? `Invalid ${where}: ${first.path}: ${first.message}` : `Invalid ${where}`;
  return new AppError("VALIDATION_FAILED", detail, errors);
}
