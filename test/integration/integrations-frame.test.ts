/**
 * The frame every external sync runs in: recorded runs (one live run per system, a crashed run
 * abandoned after its lease, failures closed and alerted), cursors, and the request budget's
 * pacing, rate-limit headers, Retry-After and 401 refresh against a real HTTP server on loopback.
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, Integrations, type Pool } from "@leadpipe/core";
import { useDatabase } from "../support/database";

let pool: Pool;
const log = createLogger({ service: "test" }, () => undefined);

useDatabase("leadpipe-integrations-", (db) => ({ pool } = db));

describe("sync runs", () => {
  const opts = { trigger: "cli", full: false, dryRun: false } as const;

  it("refuses a second live run, abandons a silent one, closes a failure with its reason and alerts", async () => {
    const alerts: string[] = [];
    const first = await Integrations.beginSyncRun(pool, "ringcentral", opts);
    await expect(Integrations.beginSyncRun(pool, "ringcentral", opts)).rejects.toThrow(
      /a ringcentral sync is already running \(run [0-9a-f-]{36} since/,
    );
    // the first run's process died: its heartbeat goes stale, and the next run takes over
    await pool.query("UPDATE integration_sync_runs SET heartbeat_at = now() - interval '1 hour' WHERE run_id = $1", [
      first,
    ]);
    const boom: Integrations.SyncFn = async (ctx) => {
      ctx.counts.read = 7;
      ctx.counts.requests = 2;
      await ctx.heartbeat();
      throw new Error("the server said no");
    };
    await expect(
      Integrations.runSync(
        { pool, log, notifier: { alert: async (s, m) => void alerts.push(`${s}|${m}`) } },
        "ringcentral",
        boom,
        {},
        opts,
      ),
    ).rejects.toThrow("the server said no");
    const { rows } = await pool.query(
      "SELECT status, error, read, requests FROM integration_sync_runs WHERE system = 'ringcentral' ORDER BY started_at",
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ status: "failed", read: 0 });
    expect(rows[0].error).toMatch(/^abandoned: no heartbeat since /);
    expect(rows[1]).toEqual({ status: "failed", error: "Error: the server said no", read: 7, requests: 2 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatch(
      /^leadpipe ringcentral sync FAILED\|The ringcentral sync run .* failed: Error: the server said no/,
    );
  });

  it("returns the run's counts as the CLI's JSON shape, and keeps cursors", async () => {
    const ok: Integrations.SyncFn = async (ctx) => {
      Object.assign(ctx.counts, { read: 3, created: 1, updated: 1, unchanged: 1, requests: 4 });
      await Integrations.writeCursor(ctx.pool, "pipedrive", "updated_since", "2026-12-01T00:00:00Z");
    };
    const r = await Integrations.runSync({ pool, log }, "pipedrive", ok, {}, opts);
    expect(Object.keys(r)).toEqual([
      "system",
      "run_id",
      "read",
      "created",
      "updated",
      "unchanged",
      "deleted",
      "failed",
      "requests",
    ]);
    expect(r).toMatchObject({
      system: "pipedrive",
      read: 3,
      created: 1,
      updated: 1,
      unchanged: 1,
      deleted: 0,
      requests: 4,
    });
    expect(await Integrations.readCursor(pool, "pipedrive", "updated_since")).toBe("2026-12-01T00:00:00Z");
    await Integrations.writeCursor(pool, "pipedrive", "updated_since", "2026-12-02T00:00:00Z");
    expect(await Integrations.readCursor(pool, "pipedrive", "updated_since")).toBe("2026-12-02T00:00:00Z");
    // a second run may start once the first is closed
    const again = await Integrations.runSync({ pool, log }, "pipedrive", async () => {}, {}, opts);
    expect(again.run_id).not.toBe(r.run_id);
  });
});

describe("integrations.json", () => {
  it("names the bad field and never echoes a secret", () => {
    expect(() =>
      Integrations.parseIntegrations(
        JSON.stringify({ pipedrive: { api_url: "ftp://x", api_token: "s3cr3t-token" } }),
        "integrations.json",
      ),
    ).toThrow(/^integrations.json: pipedrive.api_url: an http\(s\) URL$/);
    expect(() => Integrations.parseIntegrations(JSON.stringify({ hubspot: {} }), "f")).toThrow(/Unrecognized key/);
    const ok = Integrations.parseIntegrations(
      JSON.stringify({
        ringcentral: { server_url: "http://127.0.0.1:1", client_id: "a", client_secret: "b", jwt: "c" },
      }),
      "f",
    );
    expect(() => Integrations.connectionOf(ok, "pipedrive", "f")).toThrow('f: no "pipedrive" connection declared');
    expect(Integrations.connectionOf(ok, "ringcentral", "f").client_id).toBe("a");
  });
});

describe("request budget and API client", () => {
  let server: Server;
  let base: string;
  const seen: { path: string; auth?: string; at: number }[] = [];
  let mode = "ok";
  const token = "t1";

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization, at: Date.now() });
      const n = seen.length;
      if (mode === "429" && n === 1) {
        res.writeHead(429, { "retry-after": "1", "content-type": "application/json" });
        return res.end('{"error":"slow down"}');
      }
      if (mode === "401" && req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { "content-type": "application/json" });
        return res.end('{"error":"expired"}');
      }
      if (mode === "remaining0" && n === 1) {
        res.writeHead(200, {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": "1",
          "content-type": "application/json",
        });
        return res.end('{"n":1}');
      }
      if (mode === "400") {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end('{"error":"field x is unknown"}');
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ n }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const fresh = (m: string, o: Partial<Integrations.BudgetOptions> = {}) => {
    mode = m;
    seen.length = 0;
    // a clock of the test's own: waiting advances it at once
    const clock = { now: Date.now() };
    const slept: number[] = [];
    const budget = new Integrations.RequestBudget({
      maxRequests: 100,
      windowMs: 1000,
      remainingHeader: "x-ratelimit-remaining",
      resetHeader: "x-ratelimit-reset",
      now: () => clock.now,
      sleep: async (ms) => {
        slept.push(ms);
        clock.now += ms;
      },
      ...o,
    });
    return { budget, slept, clock };
  };

  it("waits out a 429 as Retry-After says, counting both requests", async () => {
    const { budget, slept } = fresh("429");
    const api = new Integrations.ApiClient({ baseUrl: base, budget });
    const r = await api.request<{ n: number }>("GET", "/v2/persons", { query: { limit: 2, cursor: undefined } });
    expect(r.body).toEqual({ n: 2 });
    expect(seen.map((s) => s.path)).toEqual(["/v2/persons?limit=2", "/v2/persons?limit=2"]);
    expect(budget.requests).toBe(2);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(900);
    expect(slept[0]).toBeLessThanOrEqual(1000);
  });

  it("pauses when the server's window is spent, and paces to maxRequests per window", async () => {
    const a = fresh("remaining0");
    const api = new Integrations.ApiClient({ baseUrl: base, budget: a.budget });
    await api.request("GET", "/a");
    await api.request("GET", "/b");
    expect(a.slept).toHaveLength(1);
    expect(a.slept[0]).toBeGreaterThan(900);

    const b = fresh("ok", { maxRequests: 2, windowMs: 60_000 });
    const start = b.clock.now;
    const paced = new Integrations.ApiClient({ baseUrl: base, budget: b.budget });
    for (let i = 0; i < 5; i++) await paced.request("GET", `/p${i}`);
    // 5 requests at 2 a minute: the 3rd waits a minute, the 5th two
    expect(b.clock.now - start).toBe(120_000);
    expect(b.budget.waitedMs).toBe(120_000);
  });

  it("refreshes credentials once on a 401, and reports a refusal with its status and reason", async () => {
    const { budget } = fresh("401");
    let refreshes = 0;
    let current = "old";
    const api = new Integrations.ApiClient({
      baseUrl: base,
      budget,
      auth: () => ({ authorization: `Bearer ${current}` }),
      onUnauthorized: async () => {
        refreshes++;
        current = token;
      },
    });
    expect((await api.request<{ n: number }>("GET", "/x")).body).toEqual({ n: 2 });
    expect(refreshes).toBe(1);
    expect(seen.map((s) => s.auth)).toEqual(["Bearer old", "Bearer t1"]);

    fresh("400");
    const refused = new Integrations.ApiClient({ baseUrl: base, budget }).request("POST", "/v2/deals", {
      json: { title: "x" },
    });
    await expect(refused).rejects.toMatchObject({ status: 400, body: { error: "field x is unknown" } });
    await expect(refused).rejects.toThrow("POST /v2/deals: HTTP 400: field x is unknown");
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(Integrations.retryAfterMs("3")).toBe(3000);
    expect(Integrations.retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(Integrations.retryAfterMs(null)).toBeUndefined();
    expect(Integrations.retryAfterMs("soon")).toBeUndefined();
  });
});
