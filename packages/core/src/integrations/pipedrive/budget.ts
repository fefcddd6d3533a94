import { ConfigError } from "../../errors";
import type { PipedriveConnection } from "../config";
import type { DailyLimit } from "../http";

/**
 * Pipedrive's published limits (developers.pipedrive.com, "Rate limiting"): a daily token budget per
 * company, 30,000 base tokens × the plan's multiplier × seats (+ top-ups), shared by every user and
 * integration of the account and reset at midnight in Pipedrive's server time zone; each request
 * costs tokens by its kind; exhausted, every request is answered 429 until the reset. On top, a burst
 * limit per token over a rolling 2-second window, by plan. Pipedrive publishes no header with the
 * tokens left (only the burst headers and x-daily-requests-left, the POST/PUT requests left to an
 * api_token today), so the sync counts what it spends, per budget day in the database, and stops
 * before it would pass its share: the budget less `token_reserve_percent` for the account's others.
 */
export const BASE_TOKENS = 30_000;

export const PLANS = {
  lite: { multiplier: 1, burst: 20 },
  growth: { multiplier: 2, burst: 40 },
  premium: { multiplier: 5, burst: 100 },
  ultimate: { multiplier: 7, burst: 120 },
} as const;
export type Plan = keyof typeof PLANS;

export const DEFAULT_RESERVE_PERCENT = 25;

/** Token cost of one request, by the published table: single GET 2, list 20, search 40, write 10, delete 6. */
export function tokenCost(method: string, path: string): number {
  if (method === "GET") {
    if (/\/search$/.test(path)) return 40;
    return /\/\d+$/.test(path) ? 2 : 20;
  }
  if (method === "DELETE") return /\/\d+$/.test(path) ? 6 : 10;
  return 10;
}

/** The company's daily budget, if declared (outright, or plan × seats); undefined: not known to us. */
export function dailyTokenBudget(conn: PipedriveConnection): number | undefined {
  if (conn.daily_token_budget) return conn.daily_token_budget;
  if (!conn.plan || !conn.seats) return undefined;
  return BASE_TOKENS * PLANS[conn.plan].multiplier * conn.seats + (conn.token_topups ?? 0);
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The budget day of a time, YYYY-MM-DD in the server's time zone. */
export function budgetDay(ms: number, timeZone: string): string {
  // asked before every request: building a formatter each time was a tenth of the sync's CPU
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormats.set(timeZone, f);
  }
  return f.format(new Date(ms));
}

/** When the next budget day begins after `ms` (its midnight in `timeZone`), to the minute. */
export function nextMidnight(ms: number, timeZone: string): number {
  const day = budgetDay(ms, timeZone);
  let t = ms - (ms % 60_000);
  while (budgetDay(t, timeZone) === day) t += 15 * 60_000;
  while (budgetDay(t - 60_000, timeZone) !== day) t -= 60_000;
  return t;
}

/** The budget day `now` falls in for this connection (its server's time zone; a bad zone is named). */
export function budgetDayOf(conn: PipedriveConnection, now: number): string {
  const tz = conn.budget_timezone ?? "UTC";
  try {
    return budgetDay(now, tz);
  } catch {
    throw new ConfigError(`pipedrive: budget_timezone "${tz}" is not an IANA time zone`);
  }
}

/**
 * Our share of the day (the budget less the reserve), starting from what earlier runs of the day
 * spent; undefined when no budget is declared (then only Pipedrive's 429 stops a run).
 */
export function dailyLimit(conn: PipedriveConnection, now: number, spentToday: number): DailyLimit | undefined {
  const budget = dailyTokenBudget(conn);
  if (budget === undefined) return undefined;
  const tz = conn.budget_timezone ?? "UTC";
  const reserve = conn.token_reserve_percent ?? DEFAULT_RESERVE_PERCENT;
  return {
    limit: Math.floor((budget * (100 - reserve)) / 100),
    day: budgetDayOf(conn, now),
    spent: spentToday,
    dayOf: (ms) => budgetDay(ms, tz),
    nextResetAt: (ms) => nextMidnight(ms, tz),
  };
}

/** The burst limit the client paces itself to: declared, else the plan's, else Lite's. */
export function burstPer2s(conn: PipedriveConnection): number {
  return conn.burst_per_2s ?? (conn.plan ? PLANS[conn.plan].burst : PLANS.lite.burst);
}
