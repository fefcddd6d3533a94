/**
 * One HTTP client for the external systems' REST APIs, with one request budget per system:
 * client-side pacing (at most `maxRequests` per `windowMs`), the server's rate-limit headers
 * (remaining 0 = wait until its reset), 429/503 waited out as Retry-After says, transient network
 * failures and 5xx retried with backoff, a 401 answered once by refreshing the credentials.
 * Every request sent is counted (`requests`), retries included: that is what the budget spends.
 */

export interface BudgetOptions {
  /** Client-side pacing: at most this many requests in any `windowMs`. */
  maxRequests: number;
  windowMs: number;
  /** Lower-case header names of the server's rate-limit state, e.g. x-ratelimit-remaining. */
  remainingHeader?: string;
  /** Seconds until the server's window resets (x-ratelimit-reset, x-rate-limit-window). */
  resetHeader?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The requests one system may still send now; shared by every call of a sync. */
export class RequestBudget {
  requests = 0;
  /** Total time spent waiting for the budget or a Retry-After (ms). */
  waitedMs = 0;
  private readonly sent: number[] = [];
  private notBefore = 0;
  readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(readonly o: BudgetOptions) {
    this.sleep = o.sleep ?? realSleep;
    this.now = o.now ?? Date.now;
  }

  /** Waits until one more request fits, then spends it. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.sent.length > 0 && this.sent[0]! <= now - this.o.windowMs) this.sent.shift();
      let wait = Math.max(0, this.notBefore - now);
      if (this.sent.length >= this.o.maxRequests) wait = Math.max(wait, this.sent[0]! + this.o.windowMs - now);
      if (wait <= 0) break;
      this.waitedMs += wait;
      await this.sleep(wait);
    }
    this.sent.push(this.now());
    this.requests++;
  }

  /** Defers every request until `ms` from now (a Retry-After, an exhausted server window). */
  pause(ms: number): void {
    this.notBefore = Math.max(this.notBefore, this.now() + ms);
  }

  /** Reads the server's rate-limit headers after a response. */
  observe(headers: Headers): void {
    const { remainingHeader, resetHeader } = this.o;
    if (!remainingHeader) return;
    const remaining = Number(headers.get(remainingHeader));
    if (headers.get(remainingHeader) === null || !Number.isFinite(remaining) || remaining > 0) return;
    const reset = resetHeader ? Number(headers.get(resetHeader)) : Number.NaN;
    this.pause(Number.isFinite(reset) && reset > 0 ? reset * 1000 : this.o.windowMs);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  budget: RequestBudget;
  /** Headers that authenticate a request (called per request: a refreshed token is picked up). */
  auth?: () => Promise<Record<string, string>> | Record<string, string>;
  /** Called once on a 401 before the request is retried (refresh an OAuth token). */
  onUnauthorized?: () => Promise<void>;
  /** Waits on 429/503 before giving up. */
  maxThrottleRetries?: number;
  /** Retries of a network failure or a 500/502/504, with exponential backoff from 250 ms. */
  maxRetries?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ApiRequest {
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export class ApiClient {
  constructor(readonly o: ApiClientOptions) {}

  get budget(): RequestBudget {
    return this.o.budget;
  }

  url(path: string, query?: ApiRequest["query"]): string {
    const u = new URL(path, this.o.baseUrl.endsWith("/") ? this.o.baseUrl : `${this.o.baseUrl}/`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async init(method: string, r: ApiRequest): Promise<RequestInit> {
    const headers: Record<string, string> = { accept: "application/json", ...(await this.o.auth?.()), ...r.headers };
    let body: string | undefined;
    if (r.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(r.json);
    } else if (r.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(r.form).toString();
    }
    return { method, headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 60_000) };
  }

  /** One call; a non-2xx answer after the retries is an ApiError carrying the status and body. */
  async request<T = unknown>(method: string, path: string, r: ApiRequest = {}): Promise<ApiResponse<T>> {
    const { budget } = this.o;
    const doFetch = this.o.fetch ?? fetch;
    let throttled = 0;
    let failures = 0;
    let refreshed = false;
    for (;;) {
      await budget.acquire();
      const init = await this.init(method, r);
      let res: Response;
      try {
        res = await doFetch(this.url(path, r.query), init);
      } catch (err) {
        if (failures++ < (this.o.maxRetries ?? 3)) {
          await budget.sleep(250 * 2 ** (failures - 1));
          continue;
        }
        throw err;
      }
      budget.observe(res.headers);
      const text = await res.text();
      const parsed = parseBody(text, res.headers.get("content-type"));
      if (res.ok) return { status: res.status, headers: res.headers, body: parsed as T };
      if ((res.status === 429 || res.status === 503) && throttled++ < (this.o.maxThrottleRetries ?? 5)) {
        budget.pause(retryAfterMs(res.headers.get("retry-after")) ?? 1000 * 2 ** (throttled - 1));
        continue;
      }
      if (res.status === 401 && this.o.onUnauthorized && !refreshed) {
        refreshed = true;
        await this.o.onUnauthorized();
        continue;
      }
      if ([500, 502, 504].includes(res.status) && failures++ < (this.o.maxRetries ?? 3)) {
        await budget.sleep(250 * 2 ** (failures - 1));
        continue;
      }
      throw new ApiError(`${method} ${path}: HTTP ${res.status}${describe(parsed)}`, res.status, parsed);
    }
  }
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === "") return undefined;
  if (contentType?.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** A short reason from an error body (never the request, which may carry a token). */
function describe(body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const m = b.error ?? b.message ?? b.error_description ?? b.errorCode;
    if (typeof m === "string") return `: ${m.slice(0, 300)}`;
  }
  return typeof body === "string" && body ? `: ${body.slice(0, 300)}` : "";
}
