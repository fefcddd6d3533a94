import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import crypto from "node:crypto";
import { Hono, type Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AdhocSql, createPool, type Pool } from "@leadpipe/core";
import { resolveOptions, type ConsoleDeps, type ConsoleOptions, type ResolvedOptions } from "./ports";
import {
  CSRF_FIELD,
  CSRF_HEADER,
  LOGIN_CSRF_COOKIE,
  SESSION_COOKIE,
  csrfToken,
  safeEqual,
  signSession,
  verifySession,
} from "./auth/cookies";
import {
  audit,
  checkLogin,
  createSession,
  endSession,
  externalLogin,
  sessionUser,
  signingKey,
  type LoginResult,
  type User,
} from "./auth/store";
import { errorPage, loginPage, page, type PageContext } from "./layout";
import { BadRequest, NotFound, type Body, type RequestContext } from "./context";
import { routes } from "./routes";
import type { Html } from "./html";

/** Next to the package's source; in a Lambda bundle, where its stack copies them (CONSOLE_ASSETS_DIR). */
const assetsDir =
  process.env.CONSOLE_ASSETS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../assets");
const ASSET_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
/** The assets, read once: the names are fixed, nothing a request says reaches the file system. */
const assets = new Map(["htmx-2.0.11.min.js", "console.css"].map((f) => [f, readFileSync(path.join(assetsDir, f))]));

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** The client's address: the socket's (Node), or the function URL's source IP (Lambda); never a header the client sets. */
function clientIp(c: Context): string {
  const env = c.env as
    | { incoming?: { socket?: { remoteAddress?: string } }; requestContext?: { http?: { sourceIp?: string } } }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.requestContext?.http?.sourceIp ?? "unknown";
}

/** The caller of a request, and how it proved who it is. */
interface Caller {
  user: User;
  /** The console session (absent for a provider's bearer token). */
  sessionId?: string;
  /** The CSRF token its forms carry ("" for bearer tokens, which need none). */
  csrf: string;
  bearer: boolean;
}

/** What a refused login says, by reason: the same words for an unknown user and a wrong password. */
const LOGIN_REFUSALS: Record<
  Exclude<LoginResult & { ok: false }, never>["reason"] & string,
  {
    status: 401 | 503;
    message: string;
  }
> = {
  invalid: { status: 401, message: "Wrong user name or password." },
  "no-role": {
    status: 401,
    message: "This user is in none of the console's groups (analyst, marketer, ops, steward, admin).",
  },
  "password-change-required": {
    status: 401,
    message: "This user must set a new password first (ask an admin to set a permanent one).",
  },
  unavailable: { status: 503, message: "The identity provider could not be reached: try again shortly." },
  "rate-limited": { status: 401, message: "Too many failed logins." },
};

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)/;

const safeNext = (n: string | undefined) => (n && /^\/(?![/\\])[\w\-./?=&%]*$/.test(n) ? n : "/");

/**
 * The pages' reads as leadpipe_readonly over a small pool (a connection per page view would cost a
 * backend start and a SCRAM exchange each time). Only fixed SQL from the console comes here; what a
 * user types goes through AdhocSql (its own connection, one statement, cancellable).
 */
function readOnlyRunner(pool: Pool, timeoutMs: number) {
  return async (sql: string, params: unknown[]) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN TRANSACTION READ ONLY");
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
      const r = await client.query(sql, params);
      await client.query("COMMIT");
      return { rows: r.rows as Record<string, unknown>[] };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
}

export function createApp(deps: ConsoleDeps, opts: ConsoleOptions = {}): Hono & { close(): Promise<void> } {
  const options: ResolvedOptions = resolveOptions(opts);
  const app = new Hono() as Hono & { close(): Promise<void> };
  const readonlyPool = createPool(deps.readonlyUrl, 4);
  const readOnly = readOnlyRunner(readonlyPool, options.sqlTimeoutMs);
  app.close = () => readonlyPool.end();
  let key: Promise<Buffer> | undefined;
  const hmacKey = () =>
    (key ??= signingKey(deps.pool).catch((e: Error) => {
      key = undefined;
      throw e;
    }));
  const cookieBase = { httpOnly: true, sameSite: "Strict" as const, path: "/", secure: options.secureCookies };

  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  app.get("/assets/:file", (c) => {
    const body = assets.get(c.req.param("file"));
    if (!body) return c.text("not found", 404);
    return c.body(new Uint8Array(body), 200, {
      "content-type": ASSET_TYPES[path.extname(c.req.param("file"))] ?? "application/octet-stream",
      "cache-control": "public, max-age=86400",
    });
  });

  const loginForm = (c: Context, message?: string, status: 200 | 401 | 403 | 429 | 503 = 200) => {
    // One token per browser until it logs in: a second tab (or the favicon's redirect) must not void the first form.
    const existing = getCookie(c, LOGIN_CSRF_COOKIE);
    const token = existing && /^[\w-]{32}$/.test(existing) ? existing : crypto.randomBytes(24).toString("base64url");
    setCookie(c, LOGIN_CSRF_COOKIE, token, { ...cookieBase, maxAge: 3600 });
    return c.html(loginPage(token, message, safeNext(c.req.query("next") ?? undefined)), status);
  };

  app.get("/login", (c) => loginForm(c));
  app.get("/favicon.ico", (c) => c.body(null, 204));

  type LoginOutcome =
    | { ok: true; user: User; token: string; expiresAt: Date }
    | { ok: false; status: 401 | 429 | 503; message: string; retryAfterS?: number };

  /**
   * One login, from the form or from `POST /api/login` (the CLI): rate-limited per user name and address,
   * checked by the identity provider (AWS: Cognito) or the console's own scrypt hashes (local), a session
   * opened, and the attempt in the audit log either way.
   */
  const attemptLogin = async (c: Context, name: string, password: string): Promise<LoginOutcome> => {
    const ip = clientIp(c);
    const limits = { maxFailures: options.maxFailures, windowMs: options.failureWindowMs };
    const result: LoginResult = deps.identity
      ? await externalLogin(deps.pool, deps.identity, name, password, ip, limits)
      : await checkLogin(deps.pool, name, password, ip, limits);
    if (!result.ok) {
      await audit(deps.pool, {
        username: name.slice(0, 64) || "?",
        action: "login",
        outcome: "refused",
        detail: { reason: result.reason, ...(result.detail ? { detail: result.detail } : {}) },
        ip,
      });
      if (result.reason === "rate-limited") {
        const s = result.retryAfterS ?? 60;
        return { ok: false, status: 429, retryAfterS: s, message: `Too many failed logins: try again in ${s} s.` };
      }
      return { ok: false, ...LOGIN_REFUSALS[result.reason] };
    }
    const session = await createSession(deps.pool, result.user, ip, options.sessionTtlMs);
    await audit(deps.pool, {
      username: result.user.username,
      role: result.user.role,
      action: "login",
      outcome: "ok",
      detail: deps.identity ? { provider: deps.identity.name } : {},
      ip,
    });
    const token = signSession(await hmacKey(), session.id, session.expiresAt);
    return { ok: true, user: result.user, token, expiresAt: session.expiresAt };
  };

  app.post("/login", async (c) => {
    const body = (await c.req.parseBody()) as Body;
    if (!safeEqual(str(body[CSRF_FIELD]), getCookie(c, LOGIN_CSRF_COOKIE)))
      return loginForm(c, "The form expired: please log in again.", 403);
    const r = await attemptLogin(c, str(body.username) ?? "", str(body.password) ?? "");
    if (!r.ok) {
      if (r.retryAfterS) c.header("retry-after", String(r.retryAfterS));
      return loginForm(c, r.message, r.status);
    }
    setCookie(c, SESSION_COOKIE, r.token, { ...cookieBase, expires: r.expiresAt });
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
    return c.redirect(safeNext(str(body.next)), 303);
  });

  /**
   * The CLI's login (`leadpipe login`): JSON in, a bearer token out. No cookie is set, so no CSRF token is
   * needed; a cross-site page cannot send application/json without a preflight this app never answers.
   */
  app.post("/api/login", async (c) => {
    if (!/^application\/json\b/.test(c.req.header("content-type") ?? ""))
      return c.json({ error: "send application/json" }, 415);
    const body = (await c.req.json().catch(() => undefined)) as { username?: unknown; password?: unknown } | undefined;
    if (typeof body?.username !== "string" || typeof body.password !== "string")
      return c.json({ error: "username and password (strings) are required" }, 400);
    const r = await attemptLogin(c, body.username, body.password);
    if (!r.ok) {
      if (r.retryAfterS) c.header("retry-after", String(r.retryAfterS));
      return c.json({ error: r.message }, r.status);
    }
    return c.json({
      token: r.token,
      expiresAt: r.expiresAt.toISOString(),
      username: r.user.username,
      role: r.user.role,
    });
  });

  /**
   * Who is asking: a bearer token (the CLI: a console session token, or a token of the identity provider),
   * else the session cookie; with the CSRF token a cookie's forms must carry. Undefined: no login, a forged
   * or expired one, an ended session, a disabled user.
   */
  const authenticate = async (c: Context): Promise<Caller | undefined> => {
    const k = await hmacKey();
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const token = /^Bearer ([\w.~+/=-]{16,4096})$/.exec(header)?.[1];
      if (!token) return undefined;
      const sessionId = verifySession(k, token);
      const user = sessionId
        ? await sessionUser(deps.pool, sessionId)
        : await deps.identity?.verify(token).catch(() => undefined);
      return user ? { user, sessionId, csrf: "", bearer: true } : undefined;
    }
    const sessionId = verifySession(k, getCookie(c, SESSION_COOKIE));
    if (!sessionId) return undefined;
    const user = await sessionUser(deps.pool, sessionId);
    return user ? { user, sessionId, csrf: csrfToken(k, sessionId), bearer: false } : undefined;
  };

  const csrfOk = (body: Body, c: Context, expected: string) =>
    safeEqual(str(body[CSRF_FIELD]) ?? c.req.header(CSRF_HEADER), expected);

  app.post("/logout", async (c) => {
    const who = await authenticate(c);
    if (!who) return c.redirect("/login", 303);
    const body = who.bearer ? {} : ((await c.req.parseBody()) as Body);
    if (!who.bearer && !csrfOk(body, c, who.csrf))
      return c.html(errorPage(undefined, 403, "The form's CSRF token is missing or wrong."), 403);
    if (who.sessionId) await endSession(deps.pool, who.sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    await audit(deps.pool, {
      username: who.user.username,
      role: who.user.role,
      action: "logout",
      outcome: "ok",
      ip: clientIp(c),
    });
    return c.redirect("/login", 303);
  });

  /**
   * A POST's form. A bearer token is no ambient credential (a browser never sends one by itself): no CSRF
   * token, and an API's JSON is left to its handler. A cookie's POST must be a form carrying the CSRF token.
   */
  const readForm = async (
    c: Context,
    who: Caller,
    pageCtx: PageContext,
    auditCsrf: () => Promise<void>,
  ): Promise<Body | Response> => {
    const isForm = FORM_TYPE.test(c.req.header("content-type") ?? "");
    if (!isForm && !who.bearer) return c.html(errorPage(pageCtx, 415, "Send a form."), 415);
    if (isForm && Number(c.req.header("content-length") ?? 0) > options.maxUploadBytes)
      return c.html(errorPage(pageCtx, 413, `At most ${options.maxUploadBytes} bytes.`), 413);
    if (who.bearer) return isForm ? ((await c.req.parseBody({ all: true })) as Body) : {};
    const body = (await c.req.parseBody({ all: true })) as Body;
    if (csrfOk(body, c, who.csrf)) return body;
    await auditCsrf();
    return c.html(
      errorPage(pageCtx, 403, "The form's CSRF token is missing or wrong: reload the page and try again."),
      403,
    );
  };

  for (const route of routes) {
    app.on(route.method, route.path, async (c) => {
      const who = await authenticate(c);
      const ip = clientIp(c);
      if (!who) {
        if (route.method === "GET") return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 302);
        return c.html(errorPage(undefined, 401, "Log in first."), 401);
      }
      const pageCtx = { user: who.user, csrf: who.csrf, path: c.req.path };
      const doAudit = (
        action: string,
        target: string | null,
        outcome: "ok" | "refused" | "error" = "ok",
        detail: Record<string, unknown> = {},
      ) => audit(deps.pool, { username: who.user.username, role: who.user.role, action, target, outcome, detail, ip });
      if (!route.roles.includes(who.user.role)) {
        await doAudit(`${route.method} ${route.path}`, c.req.path, "refused", {
          reason: `role ${who.user.role} may not`,
        });
        return c.html(
          errorPage(
            pageCtx,
            403,
            `Your role (${who.user.role}) may not use ${route.method} ${c.req.path}: ` +
              `it is for ${route.roles.join(", ")}.`,
          ),
          403,
        );
      }
      const auditCsrf = () => doAudit(`${route.method} ${route.path}`, c.req.path, "refused", { reason: "csrf" });
      const form = route.method === "POST" ? await readForm(c, who, pageCtx, auditCsrf) : {};
      if (form instanceof Response) return form;
      const body = form;
      const ctx: RequestContext = {
        c,
        deps,
        options,
        user: who.user,
        ip,
        page: pageCtx,
        body,
        readOnly,
        render: (title: string, content: Html, status = 200) =>
          c.html(
            c.req.header("hx-request") && c.req.header("hx-target") ? content.text : page(pageCtx, title, content),
            status as 200,
          ),
        audit: doAudit,
      };
      try {
        return await route.handle(ctx);
      } catch (err) {
        if (err instanceof BadRequest) return c.html(errorPage(pageCtx, 400, err.message), 400);
        if (err instanceof NotFound) return c.html(errorPage(pageCtx, 404, err.message), 404);
        if (err instanceof AdhocSql.SqlRefusedError || err instanceof AdhocSql.SqlTimeoutError) {
          return c.html(errorPage(pageCtx, 400, err.message), 400);
        }
        deps.log.error("console request failed", { path: c.req.path, error: (err as Error).message });
        await doAudit(`${route.method} ${route.path}`, c.req.path, "error", { error: (err as Error).message }).catch(
          () => undefined,
        );
        return c.html(errorPage(pageCtx, 500, `Something failed: ${(err as Error).message}`), 500);
      }
    });
  }

  app.notFound(async (c) => {
    const who = await authenticate(c).catch(() => undefined);
    if (!who) return c.redirect("/login", 302);
    return c.html(
      errorPage({ user: who.user, csrf: who.csrf, path: c.req.path }, 404, `No page at ${c.req.path}.`),
      404,
    );
  });
  return app;
}

const str = (v: Body[string] | undefined): string | undefined => {
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === "string" ? one : undefined;
};

export interface RunningConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** One answer's server time: from the request received to its last byte written (benchmarks, metrics). */
export type ServedHook = (req: { method: string; url: string; status: number }, ms: number) => void;

export interface ServeOptions extends ConsoleOptions {
  port?: number;
  host?: string;
  onServed?: ServedHook;
}

/** Serves the console on 127.0.0.1 (port 0: a free one). */
export async function startConsole(deps: ConsoleDeps, opts: ServeOptions = {}): Promise<RunningConsole> {
  const app = createApp(deps, opts);
  const host = opts.host ?? "127.0.0.1";
  let server!: ServerType;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, (info: AddressInfo) =>
      resolve(info.port),
    );
    server.once("error", reject);
  });
  const onServed = opts.onServed;
  if (onServed) {
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const t0 = performance.now();
      res.once("finish", () =>
        onServed({ method: req.method ?? "", url: req.url ?? "", status: res.statusCode }, performance.now() - t0),
      );
    });
  }
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      });
      await app.close();
    },
  };
}
