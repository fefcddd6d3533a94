/**
 * A local RingCentral (node:http on 127.0.0.1) implementing the endpoints the sync calls, as
 * RingCentral's public API reference describes them:
 * - POST /restapi/oauth/token: the JWT bearer grant (grant_type
 *   urn:ietf:params:oauth:grant-type:jwt-bearer, assertion = the JWT credential) and the
 *   refresh_token grant, both authenticated by HTTP Basic client_id:client_secret; access tokens
 *   expire after `expires_in` seconds; errors as {error, error_description, errors: [{errorCode}]}.
 * - GET /restapi/v1.0/account/~/call-log-sync: syncType=FSync (dateFrom, recordCount; the newest
 *   records first) and syncType=ISync (syncToken: what changed since, deleted records included, at
 *   most 250 records, oldest change first); {uri, records, syncInfo: {syncType, syncToken, syncTime}}.
 *   An unknown or expired token is 400 CMN-101 "Parameter [syncToken] value is invalid".
 * - GET /restapi/v1.0/account/~/call-log: dateFrom/dateTo, page/perPage (at most 1000), newest
 *   first, with navigation and paging.
 * - Rate limits by group: Heavy (the call log) 10 requests per 60 s, Auth 5 per 60 s; each answer
 *   carries X-Rate-Limit-Group/-Limit/-Remaining/-Window; over the limit, 429 CMN-301 with
 *   Retry-After.
 * Error modes are switched by the test (`fail`, `invalidateSyncTokens`, `expireAccessTokens`), and
 * time is the test's clock (`now`) so windows and expiries pass without waiting.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeCall {
  id: string;
  sessionId: string;
  startTime: string;
  duration: number;
  type: "Voice";
  direction: "Inbound" | "Outbound";
  action: string;
  result: string;
  from: { phoneNumber?: string; name?: string };
  to: { phoneNumber?: string; name?: string };
  lastModifiedTime: string;
  deleted?: boolean;
}

export interface FakeRingCentralOptions {
  clientId?: string;
  clientSecret?: string;
  jwt?: string;
  /** Seconds an access token lives (RingCentral: 3600). */
  accessTokenTtl?: number;
  /** The Heavy group's limit per 60 s (RingCentral: 10). The benchmark raises it and says so. */
  heavyLimit?: number;
  now?: () => number;
  /**
   * For the benchmark: `count` more calls computed from their index (call i starts at
   * startMs + i × stepMs; every tenth is outbound), never held in memory; they never change.
   */
  synthetic?: { count: number; startMs: number; stepMs: number };
}

type Failure = "429" | "500" | "401";

export interface FakeRingCentral {
  url: string;
  /** The records as RingCentral holds them now (deleted ones included, flagged). */
  records: Map<string, FakeCall>;
  /** Requests answered per path (token, call-log-sync, call-log), 429s included. */
  hits: Record<string, number>;
  /** Every call-log request's query, in order. */
  log: { path: string; query: Record<string, string>; status: number; at: number }[];
  tokensIssued: { grant: string }[];
  /** Adds calls (as new changes). */
  add(calls: FakeCall[]): void;
  /** A change to a record: a new version with a later (or the same, `sameInstant`) lastModifiedTime. */
  update(id: string, change: Partial<FakeCall>, opts?: { atMs?: number }): FakeCall;
  /** Deletes a record: ISync reports it with deleted: true; the call log no longer lists it. */
  remove(id: string): void;
  /** Every sync token issued so far becomes invalid (as after RingCentral's sporadic resync). */
  invalidateSyncTokens(): void;
  /** Every access token issued so far expires now (a 401 on its next use). */
  expireAccessTokens(): void;
  /**
   * Call-log requests fail this way (429 with Retry-After `retryAfter` s, 500, 401): `times` of them,
   * after `after` more have succeeded.
   */
  fail(mode: Failure, o?: { times?: number; retryAfter?: number; after?: number }): void;
  /** Forgets the requests counted in the current rate-limit windows. */
  resetRateWindows(): void;
  close(): Promise<void>;
}

const ISYNC_LIMIT = 250;
const WINDOW_MS = 60_000;

export function fakeCall(i: number, at: number, over: Partial<FakeCall> = {}): FakeCall {
  const start = new Date(at).toISOString();
  return {
    id: `RC${String(i).padStart(9, "0")}`,
    sessionId: `S${i}`,
    startTime: start,
    duration: 30 + (i % 300),
    type: "Voice",
    direction: "Inbound",
    action: "Phone Call",
    result: "Accepted",
    from: { phoneNumber: `+1212${String(5_550_000 + (i % 10_000)).padStart(7, "0")}` },
    to: { phoneNumber: "+18005550100" },
    lastModifiedTime: start,
    ...over,
  };
}

export async function startFakeRingCentral(o: FakeRingCentralOptions = {}): Promise<FakeRingCentral> {
  const clientId = o.clientId ?? "test-client";
  const clientSecret = o.clientSecret ?? "test-secret";
  const jwt = o.jwt ?? "eyJ.test.jwt";
  const ttl = o.accessTokenTtl ?? 3600;
  const now = o.now ?? Date.now;
  const limits: Record<string, number> = { Heavy: o.heavyLimit ?? 10, Auth: 5 };

  const records = new Map<string, FakeCall>();
  /** The change log: seq -> record id (a record's latest change is its highest seq). */
  const changes: { seq: number; id: string }[] = [];
  let seq = 0;
  let tokenEpoch = 1;
  const access = new Map<string, number>(); // token -> expires at (ms)
  const refresh = new Map<string, number>();
  let tokenCounter = 0;
  const windows: Record<string, number[]> = { Heavy: [], Auth: [] };
  const failures: ({ mode: Failure; retryAfter: number } | undefined)[] = [];
  const hits: Record<string, number> = {};
  const log: FakeRingCentral["log"] = [];
  const tokensIssued: { grant: string }[] = [];

  const change = (id: string) => changes.push({ seq: ++seq, id });
  const syncToken = () => Buffer.from(`${tokenEpoch}:${seq}`).toString("base64url");
  const readToken = (t: string): number | undefined => {
    const m = /^(\d+):(\d+)$/.exec(Buffer.from(t, "base64url").toString());
    return m && Number(m[1]) === tokenEpoch ? Number(m[2]) : undefined;
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }
  const apiError = (code: string, message: string, extra: Record<string, unknown> = {}) => ({
    errorCode: code,
    message,
    errors: [{ errorCode: code, message, ...extra }],
  });

  /** Counts the request in its group's window; the headers to send, or a 429 already sent. */
  function rate(group: "Heavy" | "Auth", res: ServerResponse): Record<string, string> | undefined {
    const t = now();
    const w = windows[group]!;
    while (w.length && w[0]! <= t - WINDOW_MS) w.shift();
    const limit = limits[group]!;
    const headers = {
      "x-rate-limit-group": group.toLowerCase(),
      "x-rate-limit-limit": String(limit),
      "x-rate-limit-window": "60",
    };
    if (w.length >= limit) {
      const retry = Math.max(1, Math.ceil((w[0]! + WINDOW_MS - t) / 1000));
      send(res, 429, apiError("CMN-301", "Request rate exceeded"), {
        ...headers,
        "x-rate-limit-remaining": "0",
        "retry-after": String(retry),
      });
      return undefined;
    }
    w.push(t);
    return { ...headers, "x-rate-limit-remaining": String(limit - w.length) };
  }

  function issueTokens(grant: string) {
    tokensIssued.push({ grant });
    const a = `access-${++tokenCounter}`;
    const r = `refresh-${tokenCounter}`;
    access.set(a, now() + ttl * 1000);
    refresh.set(r, now() + 7 * 86_400_000);
    return {
      access_token: a,
      token_type: "bearer",
      expires_in: ttl,
      refresh_token: r,
      refresh_token_expires_in: 604_800,
      scope: "ReadCallLog",
      owner_id: "1001",
    };
  }

  async function token(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const headers = rate("Auth", res);
    if (!headers) return;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [id, secret] = Buffer.from(basic ?? "", "base64")
      .toString()
      .split(":");
    const oauthError = (status: number, error: string, description: string, code: string) =>
      send(
        res,
        status,
        { error, error_description: description, errors: [{ errorCode: code, message: description }] },
        headers,
      );
    if (id !== clientId || secret !== clientSecret)
      return oauthError(401, "invalid_client", "Invalid client", "OAU-123");
    const form = new URLSearchParams(body);
    const grant = form.get("grant_type");
    if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      if (form.get("assertion") !== jwt) return oauthError(400, "invalid_grant", "Invalid token", "OAU-213");
      return send(res, 200, issueTokens("jwt"), headers);
    }
    if (grant === "refresh_token") {
      const r = form.get("refresh_token") ?? "";
      const exp = refresh.get(r);
      if (exp === undefined || exp <= now()) return oauthError(400, "invalid_grant", "Token not found", "OAU-211");
      refresh.delete(r);
      return send(res, 200, issueTokens("refresh_token"), headers);
    }
    return oauthError(400, "unsupported_grant_type", "Unsupported grant type", "OAU-250");
  }

  const live = () => [...records.values()].filter((r) => !r.deleted);
  const syn = o.synthetic;
  const synCall = (i: number) =>
    fakeCall(
      i,
      syn!.startMs + i * syn!.stepMs,
      i % 10 === 0
        ? {
            direction: "Outbound",
            from: { phoneNumber: "+18005550100" },
            to: { phoneNumber: `+1312555${String(i % 10_000).padStart(4, "0")}` },
          }
        : {},
    );
  /** Synthetic calls started in [from, to], newest first, the slice [skip, skip + take). */
  const synRange = (from: number, to: number, skip: number, take: number): { total: number; calls: FakeCall[] } => {
    if (!syn) return { total: 0, calls: [] };
    const lo = Math.max(1, Math.ceil((from - syn.startMs) / syn.stepMs));
    const hi = Math.min(syn.count, Math.floor((to - syn.startMs) / syn.stepMs));
    const total = Math.max(0, hi - lo + 1);
    const calls: FakeCall[] = [];
    for (let i = hi - skip; i >= lo && i > hi - skip - take; i--) calls.push(synCall(i));
    return { total, calls };
  };
  const newestFirst = (a: FakeCall, b: FakeCall) => b.startTime.localeCompare(a.startTime) || b.id.localeCompare(a.id);
  const ms = (v: string | null, fallback: number) => {
    if (v === null) return fallback;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  };

  function callLogSync(q: URLSearchParams, res: ServerResponse, headers: Record<string, string>, base: string) {
    const type = q.get("syncType") ?? "FSync";
    const syncTime = new Date(now()).toISOString();
    const uri = `${base}/restapi/v1.0/account/~/call-log-sync?${q.toString()}`;
    if (type === "FSync") {
      const from = ms(q.get("dateFrom"), now() - 86_400_000);
      if (from === undefined)
        return send(
          res,
          400,
          apiError("CMN-101", "Parameter [dateFrom] value is invalid", { parameterName: "dateFrom" }),
          headers,
        );
      const count = Math.min(Number(q.get("recordCount") ?? 250) || 250, 250);
      const rs = [...live().filter((r) => Date.parse(r.startTime) >= from), ...synRange(from, now(), 0, count).calls]
        .sort(newestFirst)
        .slice(0, count);
      return send(
        res,
        200,
        { uri, records: rs, syncInfo: { syncType: "FSync", syncToken: syncToken(), syncTime } },
        headers,
      );
    }
    if (type !== "ISync")
      return send(
        res,
        400,
        apiError("CMN-101", "Parameter [syncType] value is invalid", { parameterName: "syncType" }),
        headers,
      );
    const since = readToken(q.get("syncToken") ?? "");
    if (since === undefined)
      return send(
        res,
        400,
        apiError("CMN-101", "Parameter [syncToken] value is invalid", { parameterName: "syncToken" }),
        headers,
      );
    // what changed after the token, each record once (its latest version), oldest change first
    const latest = new Map<string, number>();
    for (const c of changes) if (c.seq > since) latest.set(c.id, c.seq);
    const ordered = [...latest.entries()].sort((a, b) => a[1] - b[1]).slice(0, ISYNC_LIMIT);
    const upTo = ordered.length === ISYNC_LIMIT ? ordered[ordered.length - 1]![1] : seq;
    const rs = ordered.map(([id]) => records.get(id)!);
    const token = Buffer.from(`${tokenEpoch}:${upTo}`).toString("base64url");
    return send(res, 200, { uri, records: rs, syncInfo: { syncType: "ISync", syncToken: token, syncTime } }, headers);
  }

  function callLog(q: URLSearchParams, res: ServerResponse, headers: Record<string, string>, base: string) {
    const from = ms(q.get("dateFrom"), now() - 86_400_000);
    const to = ms(q.get("dateTo"), now());
    if (from === undefined || to === undefined)
      return send(
        res,
        400,
        apiError("CMN-101", "Parameter [dateFrom] value is invalid", { parameterName: "dateFrom" }),
        headers,
      );
    const perPage = Math.min(Math.max(Number(q.get("perPage") ?? 100) || 100, 1), 1000);
    const page = Math.max(Number(q.get("page") ?? 1) || 1, 1);
    const all = live()
      .filter((r) => {
        const t = Date.parse(r.startTime);
        return t >= from && t <= to;
      })
      .sort(newestFirst);
    // the synthetic calls come after the stored ones (the benchmark uses one kind or the other)
    const skip = (page - 1) * perPage;
    const synthetic = synRange(from, to, Math.max(0, skip - all.length), perPage);
    const totalElements = all.length + synthetic.total;
    const totalPages = Math.max(1, Math.ceil(totalElements / perPage));
    const rs = [...all.slice(skip, skip + perPage), ...synthetic.calls].slice(0, perPage);
    const link = (p: number) => {
      const u = new URLSearchParams(q);
      u.set("page", String(p));
      return { uri: `${base}/restapi/v1.0/account/~/call-log?${u.toString()}` };
    };
    send(
      res,
      200,
      {
        uri: link(page).uri,
        records: rs,
        paging: {
          page,
          totalPages,
          perPage,
          totalElements,
          pageStart: (page - 1) * perPage,
          pageEnd: (page - 1) * perPage + Math.max(rs.length - 1, 0),
        },
        navigation: {
          firstPage: link(1),
          lastPage: link(totalPages),
          ...(page < totalPages ? { nextPage: link(page + 1) } : {}),
          ...(page > 1 ? { previousPage: link(page - 1) } : {}),
        },
      },
      headers,
    );
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const u = new URL(req.url ?? "/", "http://127.0.0.1");
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const name = u.pathname.split("/").pop() ?? "";
      hits[name] = (hits[name] ?? 0) + 1;
      if (req.method === "POST" && u.pathname === "/restapi/oauth/token") return void token(req, res, body);
      const at = now();
      res.on("finish", () =>
        log.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), status: res.statusCode, at }),
      );
      if (
        req.method !== "GET" ||
        !["/restapi/v1.0/account/~/call-log-sync", "/restapi/v1.0/account/~/call-log"].includes(u.pathname)
      ) {
        return send(res, 404, apiError("CMN-102", `Resource for parameter [${u.pathname}] is not found`));
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const exp = access.get(bearer);
      if (exp === undefined || exp <= now()) {
        return send(
          res,
          401,
          apiError(
            exp === undefined ? "OAU-149" : "TokenInvalid",
            exp === undefined ? "Invalid token" : "Access token expired",
          ),
        );
      }
      const headers = rate("Heavy", res);
      if (!headers) return;
      const f = failures.shift();
      if (f?.mode === "429") {
        return send(res, 429, apiError("CMN-301", "Request rate exceeded"), {
          ...headers,
          "retry-after": String(f.retryAfter),
        });
      }
      if (f?.mode === "500") {
        return send(res, 500, apiError("CMN-201", "Service temporary unavailable"), headers);
      }
      if (f?.mode === "401") {
        access.delete(bearer);
        return send(res, 401, apiError("TokenInvalid", "Access token expired"));
      }
      if (u.pathname.endsWith("call-log-sync")) return callLogSync(u.searchParams, res, headers, base);
      return callLog(u.searchParams, res, headers, base);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    records,
    hits,
    log,
    tokensIssued,
    add(calls) {
      for (const c of calls) {
        records.set(c.id, c);
        change(c.id);
      }
    },
    update(id, delta, opts = {}) {
      const old = records.get(id);
      if (!old) throw new Error(`fake RingCentral: no record ${id}`);
      const at = opts.atMs ?? Math.max(now(), Date.parse(old.lastModifiedTime) + 1);
      const next = { ...old, ...delta, lastModifiedTime: new Date(at).toISOString() };
      records.set(id, next);
      change(id);
      return next;
    },
    remove(id) {
      const old = records.get(id);
      if (!old) throw new Error(`fake RingCentral: no record ${id}`);
      records.set(id, {
        ...old,
        deleted: true,
        lastModifiedTime: new Date(Math.max(now(), Date.parse(old.lastModifiedTime) + 1)).toISOString(),
      });
      change(id);
    },
    invalidateSyncTokens() {
      tokenEpoch++;
    },
    expireAccessTokens() {
      for (const k of access.keys()) access.set(k, now() - 1);
    },
    fail(mode, { times = 1, retryAfter = 30, after = 0 } = {}) {
      for (let i = 0; i < after; i++) failures.push(undefined);
      for (let i = 0; i < times; i++) failures.push({ mode, retryAfter });
    },
    resetRateWindows() {
      windows.Heavy = [];
      windows.Auth = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
