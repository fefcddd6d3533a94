import { existsSync, openAsBlob, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { Import } from "@leadpipe/core";
import { homePaths } from "./home";
import { writePrivate } from "./secrets";

/**
 * A deployed stage's console, for the CLI's `status`, `replay` and `sql --stage NAME`: its URL and a login
 * token (`leadpipe login --stage NAME`), kept in LEADPIPE_HOME/stages/NAME.json, mode 0600. The token is a
 * console session: logging out, disabling the user or its expiry (8 h) ends it.
 */
export interface StageLogin {
  stage: string;
  url: string;
  token: string;
  username: string;
  role: string;
  expiresAt: string;
}

const STAGE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export class RemoteError extends Error {
  override name = "RemoteError";
}

export function stageLoginFile(stage: string, root = homePaths().root): string {
  if (!STAGE.test(stage)) throw new RemoteError(`not a stage name: "${stage}" (a-z, 0-9, -)`);
  return path.join(root, "stages", `${stage}.json`);
}

/** The console's base URL: https (or http to 127.0.0.1 only, the local console), no path, query or credentials. */
export function consoleUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RemoteError(`not a URL: ${text}`);
  }
  const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback))
    throw new RemoteError(`the console URL must be https (http only on 127.0.0.1): ${text}`);
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== ""))
    throw new RemoteError(`give the console's base URL only (no path, query or credentials): ${text}`);
  return u.origin;
}

export function readStageLogin(stage: string, root?: string): StageLogin | undefined {
  const file = stageLoginFile(stage, root);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as StageLogin;
}

/** Logs in to a stage's console (its identity provider checks the password) and keeps the token. */
export async function login(
  stage: string,
  url: string | undefined,
  username: string,
  password: string,
  root?: string,
): Promise<StageLogin> {
  const base = consoleUrl(url ?? readStageLogin(stage, root)?.url ?? "");
  const res = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
    redirect: "manual",
  });
  const body = (await res.json().catch(() => ({}))) as Partial<StageLogin> & { error?: string };
  if (!res.ok || !body.token) throw new RemoteError(`login to ${base} refused (${res.status}): ${body.error ?? ""}`);
  const saved: StageLogin = {
    stage,
    url: base,
    token: body.token,
    username: body.username ?? username,
    role: body.role ?? "?",
    expiresAt: body.expiresAt ?? "",
  };
  writePrivate(stageLoginFile(stage, root), JSON.stringify(saved, null, 2) + "\n");
  return saved;
}

/** The console API of a stage the user logged in to. */
export class RemoteConsole {
  constructor(readonly login: StageLogin) {}

  static forStage(stage: string, root?: string): RemoteConsole {
    const l = readStageLogin(stage, root);
    if (!l) throw new RemoteError(`not logged in to stage ${stage}: npx leadpipe login --stage ${stage} --url URL`);
    if (l.expiresAt && Date.parse(l.expiresAt) <= Date.now())
      throw new RemoteError(`the login to stage ${stage} expired: npx leadpipe login --stage ${stage}`);
    return new RemoteConsole(l);
  }

  private async call<T>(method: "GET" | "POST", p: string, body?: unknown): Promise<T> {
    return this.parse<T>(await this.fetch(method, p, body), method, p);
  }

  private async fetch(method: "GET" | "POST", p: string, body?: unknown): Promise<Response> {
    const res = await fetch(this.login.url + p, {
      method,
      redirect: "manual",
      headers: {
        authorization: `Bearer ${this.login.token}`,
        ...(body === undefined || body instanceof FormData ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
    if (res.status === 302 || res.status === 401)
      throw new RemoteError(
        `the login to stage ${this.login.stage} is no longer valid: npx leadpipe login --stage ${this.login.stage}`,
      );
    return res;
  }

  /** A JSON answer: its value, or its error (a refused replay's 409 answers with its reason). */
  private async parse<T>(res: Response, method: string, p: string): Promise<T> {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new RemoteError(
        `${method} ${p}: ${res.status} ${text
          .replace(/<[^>]*>/g, " ")
          .trim()
          .slice(0, 300)}`,
      );
    }
    // A refused replay (409) answers with its reason, as the local replay does.
    if (!res.ok && res.status !== 409)
      throw new RemoteError(
        `${method} ${p}: ${res.status} ${(parsed as { error?: string }).error ?? text.slice(0, 300)}`,
      );
    return parsed as T;
  }

  recent(limit: number) {
    return this.call<{ imports: Record<string, unknown>[] }>("GET", `/api/imports?limit=${limit}`);
  }

  describe(importId: string) {
    return this.call<Import.ImportDescription>("GET", `/api/imports/${encodeURIComponent(importId)}`);
  }

  /** Starts a replay; an errors-only one's corrected file goes up with it (multipart, streamed from disk). */
  async replay(importId: string, mode: Import.ReplayMode, file?: string) {
    const p = `/api/imports/${encodeURIComponent(importId)}/replay`;
    if (!file) return this.call<Import.ReplayResult>("POST", p, { mode });
    const form = new FormData();
    form.set("mode", mode);
    form.set("file", await openAsBlob(file), path.basename(file));
    return this.call<Import.ReplayResult>("POST", p, form);
  }

  /**
   * One read-only statement through the console, its rows handed to `onRow` as they stream in (NDJSON:
   * memory flat). `limit` 0: the console's export limit. An answer cut short (no end line) is an error.
   */
  async sql(
    sql: string,
    limit: number,
    onFields: (fields: string[]) => void | Promise<void>,
    onRow: (row: Record<string, unknown>) => void | Promise<void>,
  ): Promise<{ rows: number; more: boolean }> {
    const res = await this.fetch("POST", "/api/sql", { sql, limit });
    if (!/^application\/x-ndjson\b/.test(res.headers.get("content-type") ?? "")) {
      await this.parse(res, "POST", "/api/sql");
      throw new RemoteError(`POST /api/sql: ${res.status}: not a stream of rows`);
    }
    const lines = createInterface({ input: Readable.fromWeb(res.body as NodeReadableStream), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      const m = JSON.parse(line) as {
        fields?: string[];
        row?: Record<string, unknown>;
        end?: { rows: number; more: boolean };
        error?: string;
      };
      if (m.row) await onRow(m.row);
      else if (m.fields) await onFields(m.fields);
      else if (m.end) return m.end;
      else if (m.error !== undefined) throw new RemoteError(`POST /api/sql: the query failed midway: ${m.error}`);
    }
    throw new RemoteError("POST /api/sql: the answer was cut short (no end line): try again");
  }

  /** Polls the import until it is no longer running (the replay's execution runs in the stage). */
  async waitFor(importId: string, timeoutMs: number, everyMs = 2000): Promise<Import.ImportDescription> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.describe(importId);
      if (!["PENDING", "STAGING", "PROCESSING"].includes(d.import.status)) return d;
      if (Date.now() > until)
        throw new RemoteError(`import ${importId} still ${d.import.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
