/**
 * Errors are split by what should happen next. The ASL's Retry and Catch match on `name`,
 * so the names are part of the contract with stacks/ingest.asl.json.
 */

/** The whole file cannot be imported: the import ends FAILED with this reason. */
export class FileRejectedError extends Error {
  override readonly name = "FileRejectedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A transient fault (network, database connection, throttling): the step is retried with backoff. */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Configuration is missing or wrong: fail at cold start, naming what is missing. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const RETRYABLE_NODE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  // mysql2 (a legacy source): the server went away, too many connections at once, lock waits.
  "PROTOCOL_CONNECTION_LOST",
  "ER_CON_COUNT_ERROR",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
]);

/**
 * PostgreSQL SQLSTATE classes that a retry can cure: connection exceptions (08), serialization
 * failures and deadlocks (40001, 40P01), insufficient resources (53), operator intervention
 * (57P01-57P03: admin shutdown, crash shutdown, cannot connect now).
 */
function isRetryablePgCode(code: string): boolean {
  return (
    code.startsWith("08") ||
    code === "40001" ||
    code === "40P01" ||
    code.startsWith("53") ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03"
  );
}

/** Whether an error from a driver or SDK is worth retrying. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof RetryableError) return true;
  const e = err as Error & { code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (
    typeof e.code === "string" &&
    (RETRYABLE_NODE_CODES.has(e.code) || (/^[0-9A-Z]{5}$/.test(e.code) && isRetryablePgCode(e.code)))
  ) {
    return true;
  }
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return /Connection terminated|connection ended|Client has encountered a connection error|timeout exceeded when trying to connect|socket hang up/i.test(
    e.message,
  );
}

/** Re-throws transient faults as RetryableError (the name the ASL retries on); everything else unchanged. */
export function asRetryable(err: unknown, during: string): unknown {
  if (err instanceof RetryableError || err instanceof FileRejectedError) return err;
  if (isTransient(err)) {
    return new RetryableError(`${during}: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
