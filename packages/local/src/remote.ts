import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
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
    const res = await fetch(this.login.url + p, {
      method,
      redirect: "manual",
      headers: {
        authorization: `Bearer ${this.login.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 302 || res.status === 401)
      throw new RemoteError(
        `the login to stage ${this.login.stage} is no longer valid: npx leadpipe login --stage ${this.login.stage}`,
      );
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

  replay(importId: string, mode: Import.ReplayMode) {
    return this.call<Import.ReplayResult>("POST", `/api/imports/${encodeURIComponent(importId)}/replay`, { mode });
  }

  sql(sql: string, limit: number) {
    return this.call<{ fields: string[]; rows: Record<string, unknown>[]; more: boolean }>("POST", "/api/sql", {
      sql,
      limit,
    });
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
