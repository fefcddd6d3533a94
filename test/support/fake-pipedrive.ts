import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small Pipedrive for the sync's tests and benchmark, on 127.0.0.1, following Pipedrive's public
 * API reference: API v2 persons and deals (GET list with cursor pagination `cursor`/`limit`,
 * `updated_since`, `sort_by`/`sort_direction`, `additional_data.next_cursor`; GET /search; POST;
 * PATCH by id; DELETE), v1 personFields/dealFields (custom fields keyed by a 40-hex key), `{success,
 * data}` envelopes, auth by the `x-api-token` header, and the burst limit of a rolling 2-second
 * window per token (Lite: 20) answered with `x-ratelimit-limit`/`-remaining`/`-reset` on every
 * response and 429 with Retry-After when exceeded. Timestamps are RFC 3339 to the second, as v2's.
 * The company's daily token budget (`dailyTokens`: 30,000 × plan multiplier × seats): each request
 * served costs its published tokens, and once the day's budget is spent every request is answered
 * 429 until midnight UTC (the server's time zone here), with Retry-After to then; writes carry
 * x-daily-requests-left (the POST/PUT/PATCH requests the token may still make today, 10,000 a day).
 * Time comes from `clock` (a virtual one lets the benchmark run a day's limits without waiting).
 * Error modes the tests switch on: 429 bursts, a 5xx, a write rejected with 400, a record updated
 * twice within one second, a deleted record, a custom field renamed or re-keyed.
 */

export interface FakeRecord {
  id: number;
  add_time: string;
  update_time: string;
  owner_id: number;
  custom_fields: Record<string, unknown>;
  [k: string]: unknown;
}

export interface FakeField {
  id: number;
  key: string;
  name: string;
  field_type: string;
}

export type Entity = "persons" | "deals";

export interface FakePipedrive {
  url: string;
  token: string;
  /** The API token's user id (what the sync's writes are made as). */
  userId: number;
  persons: Map<number, FakeRecord>;
  deals: Map<number, FakeRecord>;
  personFields: FakeField[];
  dealFields: FakeField[];
  /** Adds a custom field (40-hex key) and returns its key. */
  addField(entity: Entity, name: string, type?: string): string;
  /** A salesperson's edit in the Pipedrive UI: merges the changes and bumps update_time. */
  edit(entity: Entity, id: number, changes: Partial<FakeRecord>): FakeRecord;
  /** A salesperson deletes a record. */
  remove(entity: Entity, id: number): void;
  /** The next `n` requests answer 429 with Retry-After: `seconds`. */
  throttle(n: number, seconds: number): void;
  /** The next `n` requests answer this 5xx. */
  fail(n: number, status?: number): void;
  /** A write whose body matches is refused with 400 and this error. */
  rejectWrites(when: ((entity: Entity, body: Record<string, unknown>) => string | undefined) | undefined): void;
  /** Called after a write is applied and before its answer is sent (a test may kill the client here). */
  onWrite?: (entity: Entity, method: string, record: FakeRecord) => Promise<void> | void;
  /** Pins the clock (seconds precision is what v2 returns): lets a test make two updates in one second. */
  setNow(at: Date | undefined): void;
  /** Tokens spent in the current budget day (what the budget has left: dailyTokens − this). */
  tokensToday(): number;
  /** Another user or integration of the account spends tokens from the shared daily budget. */
  spendTokens(n: number): void;
  readonly stats: {
    requests: number;
    /** Requests refused because the day's token budget was spent. */
    overBudget: number;
    throttled: number;
    posts: number;
    patches: number;
    deletes: number;
    gets: number;
    searches: number;
    /** What the requests would have cost in Pipedrive's token budget (list 20, single 2, write 10, search 40). */
    tokens: number;
  };
  close(): Promise<void>;
}

export interface FakePipedriveOptions {
  /** Requests per rolling 2-second window (Pipedrive's published burst limit: Lite 20). */
  burst?: number;
  windowMs?: number;
  /** The company's daily token budget; undefined: not enforced (tokens still counted). */
  dailyTokens?: number;
  /** POST/PUT/PATCH requests the token may make per day (x-daily-requests-left; default 10,000). */
  dailyWrites?: number;
  /** Where time comes from (default the real clock). */
  clock?: { now(): number };
}

const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
const hexKey = () => randomBytes(20).toString("hex");

export async function startFakePipedrive(o: FakePipedriveOptions = {}): Promise<FakePipedrive> {
  const burst = o.burst ?? 20;
  const windowMs = o.windowMs ?? 2000;
  const token = randomBytes(16).toString("hex");
  const userId = 9001;
  const stores: Record<Entity, Map<number, FakeRecord>> = { persons: new Map(), deals: new Map() };
  const fields: Record<Entity, FakeField[]> = { persons: [], deals: [] };
  const nextId = { persons: 1, deals: 1 };
  let nextFieldId = 1;
  let pinned: Date | undefined;
  let throttleLeft = 0;
  let throttleSeconds = 1;
  let failLeft = 0;
  let failStatus = 500;
  let rejector: ((entity: Entity, body: Record<string, unknown>) => string | undefined) | undefined;
  const window: number[] = [];
  const stats = {
    requests: 0,
    overBudget: 0,
    throttled: 0,
    posts: 0,
    patches: 0,
    deletes: 0,
    gets: 0,
    searches: 0,
    tokens: 0,
  };
  const clock = o.clock ?? { now: () => Date.now() };
  const now = () => pinned ?? new Date(clock.now());
  const DAY = 86_400_000;
  const dailyWrites = o.dailyWrites ?? 10_000;
  const today = { day: -1, tokens: 0, writes: 0 };
  const rollDay = () => {
    const d = Math.floor(clock.now() / DAY);
    if (d !== today.day) Object.assign(today, { day: d, tokens: 0, writes: 0 });
  };
  /** The published cost of a request, by its kind. */
  const costOf = (method: string, sub: string | undefined, fieldsRoute: boolean): number => {
    if (method === "GET") return fieldsRoute || sub === undefined ? 20 : sub === "search" ? 40 : 2;
    if (method === "DELETE") return 6;
    return 10;
  };

  const rateHeaders = (): Record<string, string> => {
    const t = clock.now();
    while (window.length > 0 && window[0]! <= t - windowMs) window.shift();
    const reset = window.length > 0 ? Math.max(1, Math.ceil((window[0]! + windowMs - t) / 1000)) : 0;
    return {
      "x-ratelimit-limit": String(burst),
      "x-ratelimit-remaining": String(Math.max(0, burst - window.length)),
      "x-ratelimit-reset": String(reset),
    };
  };
  const send = (res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...rateHeaders(), ...extra });
    res.end(JSON.stringify(body));
  };
  const error = (res: http.ServerResponse, status: number, message: string, extra: Record<string, string> = {}) =>
    send(res, status, { success: false, error: message, error_info: "See the API reference", data: null }, extra);

  const readBody = async (req: http.IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (text === "") return {};
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("body must be a JSON object");
    return v as Record<string, unknown>;
  };

  /** v2 refuses unknown custom field keys and wrong types (strict input validation). */
  const validate = (entity: Entity, body: Record<string, unknown>): string | undefined => {
    const cf = body.custom_fields;
    if (cf !== undefined) {
      if (!cf || typeof cf !== "object") return "custom_fields must be an object";
      for (const k of Object.keys(cf)) {
        if (!fields[entity].some((f) => f.key === k)) return `Unknown custom field key: ${k}`;
      }
    }
    for (const n of ["owner_id", "stage_id", "person_id", "pipeline_id"])
      if (body[n] !== undefined && typeof body[n] !== "number") return `${n} must be a number`;
    if (entity === "persons" && body.name !== undefined && (typeof body.name !== "string" || body.name === ""))
      return "name must be a non-empty string";
    if (entity === "deals" && body.title !== undefined && (typeof body.title !== "string" || body.title === ""))
      return "title must be a non-empty string";
    return rejector?.(entity, body);
  };

  const apply = (rec: FakeRecord, body: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(body)) {
      if (k === "custom_fields") rec.custom_fields = { ...rec.custom_fields, ...(v as Record<string, unknown>) };
      else if (!["id", "add_time", "update_time"].includes(k)) rec[k] = v;
    }
    rec.update_time = iso(now());
  };

  const create = (entity: Entity, body: Record<string, unknown>): FakeRecord => {
    const id = nextId[entity]++;
    const t = iso(now());
    const rec: FakeRecord = {
      id,
      add_time: t,
      update_time: t,
      owner_id: userId,
      custom_fields: Object.fromEntries(fields[entity].map((f) => [f.key, null])),
      ...(entity === "deals" ? { status: "open", stage_id: 1, pipeline_id: 1, person_id: null } : {}),
      ...(entity === "persons" ? { emails: [], phones: [], first_name: null, last_name: null } : {}),
    };
    apply(rec, body);
    rec.update_time = t;
    stores[entity].set(id, rec);
    return rec;
  };

  /** The v2 list: filtered by updated_since (inclusive), ordered, paged by an opaque cursor. */
  const list = (entity: Entity, q: URLSearchParams) => {
    const limit = Math.min(500, Math.max(1, Number(q.get("limit") ?? 100)));
    const sortBy = q.get("sort_by") ?? "id";
    if (!["id", "update_time", "add_time"].includes(sortBy))
      throw new Error(`sort_by must be id, update_time or add_time`);
    const dir = q.get("sort_direction") === "desc" ? -1 : 1;
    const since = q.get("updated_since");
    const personId = q.get("person_id");
    let rows = [...stores[entity].values()];
    if (since) {
      const s = Date.parse(since);
      if (Number.isNaN(s)) throw new Error("updated_since must be RFC 3339");
      rows = rows.filter((r) => Date.parse(r.update_time) >= s);
    }
    if (personId) rows = rows.filter((r) => String(r.person_id) === personId);
    const key = (r: FakeRecord) => (sortBy === "id" ? "" : (r[sortBy] as string));
    rows.sort((a, b) => dir * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id));
    let start = 0;
    const cursor = q.get("cursor");
    if (cursor) {
      const c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { k: string; id: number };
      start = rows.findIndex((r) => dir * (key(r) < c.k ? -1 : key(r) > c.k ? 1 : r.id - c.id) > 0);
      if (start < 0) start = rows.length;
    }
    const page = rows.slice(start, start + limit);
    const last = page[page.length - 1];
    const more = start + limit < rows.length && last;
    const next = more ? Buffer.from(JSON.stringify({ k: key(last), id: last.id })).toString("base64url") : null;
    return { success: true, data: page, additional_data: { next_cursor: next } };
  };

  const search = (entity: Entity, q: URLSearchParams) => {
    const term = q.get("term") ?? "";
    if (term.length < 2) throw new Error("term must be at least 2 characters");
    const exact = q.get("exact_match") === "true";
    const items = [...stores[entity].values()]
      .filter((r) =>
        Object.values(r.custom_fields).some((v) => typeof v === "string" && (exact ? v === term : v.includes(term))),
      )
      .map((r) => ({ result_score: 1, item: { id: r.id, name: r.name ?? r.title, custom_fields: r.custom_fields } }));
    return { success: true, data: { items }, additional_data: { next_cursor: null } };
  };

  let base = "";
  const server = http.createServer((req, res) => {
    void (async () => {
      stats.requests++;
      const u = new URL(req.url ?? "/", base);
      const t = clock.now();
      while (window.length > 0 && window[0]! <= t - windowMs) window.shift();
      if (req.headers["x-api-token"] !== token) return error(res, 401, "Unauthorized");
      if (throttleLeft > 0 || window.length >= burst) {
        stats.throttled++;
        const wait = throttleLeft > 0 ? throttleSeconds : rateHeaders()["x-ratelimit-reset"]!;
        if (throttleLeft > 0) throttleLeft--;
        return error(res, 429, "Request over limit", { "retry-after": String(wait) });
      }
      const route = u.pathname.match(/^\/api\/(?:v1|v2)\/(persons|deals|personFields|dealFields)(?:\/(search|\d+))?$/);
      const cost = costOf(req.method ?? "GET", route?.[2], Boolean(route?.[1]?.endsWith("Fields")));
      const isWrite = ["POST", "PUT", "PATCH"].includes(req.method ?? "");
      rollDay();
      if (o.dailyTokens !== undefined && today.tokens + cost > o.dailyTokens) {
        stats.overBudget++;
        const midnight = (today.day + 1) * DAY;
        return error(res, 429, "Daily API token budget exceeded", {
          "retry-after": String(Math.ceil((midnight - t) / 1000)),
        });
      }
      window.push(t);
      if (isWrite) {
        if (today.writes >= dailyWrites)
          return error(res, 429, "Daily POST/PUT limit reached", { "x-daily-requests-left": "0" });
        today.writes++;
        res.setHeader("x-daily-requests-left", String(dailyWrites - today.writes));
      }
      today.tokens += cost;
      if (failLeft > 0) {
        failLeft--;
        return error(res, failStatus, "Internal server error");
      }
      const m = u.pathname.match(/^\/api\/(v1|v2)\/(persons|deals|personFields|dealFields)(?:\/(search|\d+))?$/);
      if (!m) return error(res, 404, `Unknown route ${req.method} ${u.pathname}`);
      const [, version, what, sub] = m;
      if (what === "personFields" || what === "dealFields") {
        if (version !== "v1" || req.method !== "GET") return error(res, 404, "Unknown route");
        stats.gets++;
        stats.tokens += 20;
        return send(res, 200, { success: true, data: fields[what === "personFields" ? "persons" : "deals"] });
      }
      if (version !== "v2") return error(res, 404, "Only /api/v2 persons and deals are served");
      const entity = what as Entity;
      try {
        if (req.method === "GET" && sub === "search") {
          stats.searches++;
          stats.tokens += 40;
          return send(res, 200, search(entity, u.searchParams));
        }
        if (req.method === "GET" && sub === undefined) {
          stats.gets++;
          stats.tokens += 20;
          return send(res, 200, list(entity, u.searchParams));
        }
        if (req.method === "GET") {
          stats.gets++;
          stats.tokens += 2;
          const rec = stores[entity].get(Number(sub));
          return rec ? send(res, 200, { success: true, data: rec }) : error(res, 404, "Not found");
        }
        if (req.method === "POST" && sub === undefined) {
          const body = await readBody(req);
          const bad = validate(entity, body);
          if (bad) return error(res, 400, bad);
          stats.posts++;
          stats.tokens += 10;
          const rec = create(entity, body);
          await fake.onWrite?.(entity, "POST", rec);
          return send(res, 200, { success: true, data: rec });
        }
        if (req.method === "PATCH" && sub && sub !== "search") {
          const rec = stores[entity].get(Number(sub));
          if (!rec) return error(res, 404, "Not found");
          const body = await readBody(req);
          const bad = validate(entity, body);
          if (bad) return error(res, 400, bad);
          stats.patches++;
          stats.tokens += 10;
          apply(rec, body);
          await fake.onWrite?.(entity, "PATCH", rec);
          return send(res, 200, { success: true, data: rec });
        }
        if (req.method === "DELETE" && sub && sub !== "search") {
          if (!stores[entity].delete(Number(sub))) return error(res, 404, "Not found");
          stats.deletes++;
          stats.tokens += 6;
          return send(res, 200, { success: true, data: { id: Number(sub) } });
        }
        return error(res, 405, "Method not allowed");
      } catch (err) {
        return error(res, 400, (err as Error).message);
      }
    })().catch((err: Error) => {
      if (!res.headersSent) error(res, 500, err.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakePipedrive = {
    url: base,
    token,
    userId,
    persons: stores.persons,
    deals: stores.deals,
    personFields: fields.persons,
    dealFields: fields.deals,
    addField(entity, name, type = "varchar") {
      const key = hexKey();
      fields[entity].push({ id: nextFieldId++, key, name, field_type: type });
      for (const r of stores[entity].values()) r.custom_fields[key] = null;
      return key;
    },
    edit(entity, id, changes) {
      const rec = stores[entity].get(id);
      if (!rec) throw new Error(`no ${entity} ${id}`);
      apply(rec, changes as Record<string, unknown>);
      return rec;
    },
    remove(entity, id) {
      stores[entity].delete(id);
    },
    throttle(n, seconds) {
      throttleLeft = n;
      throttleSeconds = seconds;
    },
    fail(n, status = 500) {
      failLeft = n;
      failStatus = status;
    },
    rejectWrites(when) {
      rejector = when;
    },
    setNow(at) {
      pinned = at;
    },
    tokensToday() {
      rollDay();
      return today.tokens;
    },
    spendTokens(n) {
      rollDay();
      today.tokens += n;
    },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
