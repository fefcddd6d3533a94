/**
 * One HTTP client for the external systems' REST APIs, with one request budget per system:
 * client-side pacing (at most `maxRequests` per `windowMs`), the server's rate-limit headers
 * (remaining 0 = wait until its reset), 429/503 waited out as Retry-After says, transient network
 * failures and 5xx retried with backoff, a 401 answered once by refreshing the credentials.
 * Every request sent is counted (`requests`), retries included: that is what the budget spends.
 * A daily budget (Pipedrive's company tokens) is spent per request by its cost; a request that would
 * overspend it, or a 429 that asks for a longer wait than a run should sleep, ends the run cleanly
 * with a LimitReachedError (the run is `partial`; the next one resumes).
 */

/** Where time comes from: the real clock, or a virtual one (the benchmark advances it instead of sleeping). */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
};

/**
 * A daily allowance shared by the runs of one day: `limit` units a day (what the account allows less
 * the reserve left to its other users), `spent` already by earlier runs of the day `day`.
 */
export interface DailyLimit {
  limit: number;
  day: string;
  spent: number;
  /** The budget day a time falls in (the provider resets at its own midnight). */
  dayOf(ms: number): string;
  /** When the budget day after `ms` begins (ms since the epoch). */
  nextResetAt(ms: number): number;
}

export interface BudgetOptions {
  /** Client-side pacing: at most this many requests in any `windowMs`. */
  maxRequests: number;
  windowMs: number;
  /** Lower-case header names of the server's rate-limit state, e.g. x-ratelimit-remaining. */
  remainingHeader?: string;
  /** Seconds until the server's window resets (x-ratelimit-reset, x-rate-limit-window). */
  resetHeader?: string;
  /** The writes the server still allows today (Pipedrive's x-daily-requests-left): 0 stops the writes. */
  writesLeftHeader?: string;
  /** A daily budget spent by each request's cost; undefined: only the server's 429 says when it is gone. */
  daily?: DailyLimit;
  /** A 429/503 asking to wait longer than this ends the run (a day's budget gone) instead of sleeping. */
  maxWaitMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * A limit the run must not pass (a daily budget spent, a server that says come back tomorrow): the
 * sync stops where it is, with everything done so far stored, and its run ends `partial`.
 */
export class LimitReachedError extends Error {
  override readonly name = "LimitReachedError";
  constructor(
    message: string,
    /** When the limit lifts (ms since the epoch), if known. */
    readonly resumeAt?: number,
  ) {
    super(message);
  }
}

/** The requests one system may still send now; shared by every call of a sync. */
export class RequestBudget {
  requests = 0;
  /** Cost units (tokens) this budget spent; with a daily limit, `spentToday` includes earlier runs'. */
  tokens = 0;
  /** Total time spent waiting for the budget or a Retry-After (ms). */
  waitedMs = 0;
  /** The writes the server said are left today (undefined until it says). */
  writesLeft: number | undefined;
  /**
   * The requests in the window: each counted from when its answer came (in flight: not yet, so it
   * holds its place), since the server counted it on arrival, which is never later. A window counted
   * from sending would free a place before the server does and earn a 429 under latency.
   */
  private sent: { at: number }[] = [];
  private notBefore = 0;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;

  constructor(readonly o: BudgetOptions) {
    this.sleep = o.sleep ?? o.clock?.sleep ?? realClock.sleep;
    this.now = o.now ?? o.clock?.now ?? realClock.now;
  }

  /** The daily budget's day and what was spent in it (undefined without a daily limit). */
  get today(): { day: string; spent: number; limit: number } | undefined {
    const d = this.o.daily;
    if (!d) return undefined;
    this.rollDay();
    return { day: d.day, spent: d.spent, limit: d.limit };
  }

  private rollDay(): void {
    const d = this.o.daily;
    if (!d) return;
    const day = d.dayOf(this.now());
    if (day !== d.day) {
      d.day = day;
      d.spent = 0;
    }
  }

  /** True when `cost` more units fit in today's budget (what a caller checks before starting a unit of work). */
  affords(cost: number, write = false): boolean {
    if (write && this.writesLeft !== undefined && this.writesLeft <= 0) return false;
    const d = this.o.daily;
    if (!d) return true;
    this.rollDay();
    return d.spent + cost <= d.limit;
  }

  /** Throws a LimitReachedError unless `cost` more units (a write, or not) fit in today's budget. */
  ensure(cost: number, write = false): void {
    if (this.affords(cost, write)) return;
    const d = this.o.daily;
    throw new LimitReachedError(
      write && this.writesLeft !== undefined && this.writesLeft <= 0
        ? "the server allows no more writes today (its writes-left header said 0)"
        : `the day's token budget would be exceeded (${d!.spent} of our ${d!.limit} spent, the next request costs ${cost})`,
      d?.nextResetAt(this.now()),
    );
  }

  /**
   * Waits until one more request fits, then spends it (and its cost against the day's budget).
   * Returns its place in the window: `settle` it when the answer comes.
   */
  async acquire(cost = 1, write = false): Promise<{ at: number }> {
    this.ensure(cost, write);
    for (;;) {
      const now = this.now();
      this.sent = this.sent.filter((s) => s.at > now - this.o.windowMs);
      let wait = Math.max(0, this.notBefore - now);
      if (this.sent.length >= this.o.maxRequests) {
        const oldest = Math.min(...this.sent.map((s) => s.at));
        // all in flight: look again shortly
        wait = Math.max(wait, Number.isFinite(oldest) ? oldest + this.o.windowMs - now : this.o.windowMs / 20);
      }
      if (wait <= 0) break;
      this.waitedMs += wait;
      await this.sleep(wait);
    }
    const slot = { at: Number.POSITIVE_INFINITY };
    this.sent.push(slot);
    this.requests++;
    this.tokens += cost;
    if (this.o.daily) this.o.daily.spent += cost;
    return slot;
  }

  /** The request holding this place was answered (or failed): its place frees a window from now. */
  settle(slot: { at: number }): void {
    slot.at = this.now();
  }

  /** Defers every request until `ms` from now (a Retry-After, an exhausted server window). */
  pause(ms: number): void {
    if (this.o.maxWaitMs !== undefined && ms > this.o.maxWaitMs)
      throw new LimitReachedError(
        `the server asks to wait ${Math.round(ms / 1000)} s (a daily budget spent?)`,
        this.now() + ms,
      );
    this.notBefore = Math.max(this.notBefore, this.now() + ms);
  }

  /** True when the response says its rate window has requests left (remaining > 0). */
  windowHasRoom(headers: Headers): boolean {
    const v = this.o.remainingHeader ? headers.get(this.o.remainingHeader) : null;
    return v !== null && Number(v) > 0;
  }

  /** Reads the server's rate-limit headers after a response. */
  observe(headers: Headers): void {
    const { remainingHeader, resetHeader, writesLeftHeader } = this.o;
    if (writesLeftHeader) {
      const left = headers.get(writesLeftHeader);
      if (left !== null && Number.isFinite(Number(left))) this.writesLeft = Number(left);
    }
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
  /** A request's cost against a daily budget (Pipedrive's tokens per endpoint); 1 when not given. */
  cost?: (method: string, path: string) => number;
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
    const cost = this.o.cost?.(method, path) ?? 1;
    const write = method !== "GET" && method !== "HEAD";
    for (;;) {
      const slot = await budget.acquire(cost, write);
      // built after the wait: its timeout counts from the send, and a refreshed token is picked up
      const init = await this.init(method, r).catch((err: unknown) => {
        budget.settle(slot);
        throw err;
      });
      let res: Response;
      try {
        res = await doFetch(this.url(path, r.query), init);
      } catch (err) {
        budget.settle(slot);
        if (failures++ < (this.o.maxRetries ?? 3)) {
          await budget.sleep(250 * 2 ** (failures - 1));
          continue;
        }
        throw err;
      }
      budget.settle(slot);
      budget.observe(res.headers);
      const text = await res.text();
      const parsed = parseBody(text, res.headers.get("content-type"));
      if (res.ok) return { status: res.status, headers: res.headers, body: parsed as T };
      if ((res.status === 429 || res.status === 503) && throttled++ < (this.o.maxThrottleRetries ?? 5)) {
        const after = retryAfterMs(res.headers.get("retry-after"), budget.now());
        // a 429 without a Retry-After while the burst window still has room is another limit: the day's
        if (res.status === 429 && after === undefined && budget.windowHasRoom(res.headers))
          throw new LimitReachedError(`${method} ${path}: HTTP 429${describe(parsed)} with the burst window not spent`);
        budget.pause(after ?? 1000 * 2 ** (throttled - 1));
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
