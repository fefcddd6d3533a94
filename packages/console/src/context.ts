import type { Context } from "hono";
import type { ConsoleDeps, ResolvedOptions } from "./ports";
import type { User } from "./auth/store";
import type { PageContext } from "./layout";

export type Body = Record<string, string | File | (string | File)[]>;

/** What a route's handler gets: the request, who is asking, the platform, and the audit log. */
export interface RequestContext {
  c: Context;
  deps: ConsoleDeps;
  options: ResolvedOptions;
  user: User;
  ip: string;
  page: PageContext;
  /** A fixed, parameterised query as leadpipe_readonly, in a READ ONLY transaction with the statement timeout (pooled). */
  readOnly(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  /** The parsed form of a POST (the CSRF token already checked); {} for a GET. */
  body: Body;
  /** A full page, or the bare fragment when htmx asked for one. */
  render(title: string, body: import("./html").Html, status?: number): Response;
  audit(
    action: string,
    target: string | null,
    outcome?: "ok" | "refused" | "error",
    detail?: Record<string, unknown>,
  ): Promise<void>;
}

export const field = (body: Body, name: string): string | undefined => {
  const v = body[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === "string" ? one : undefined;
};

export class BadRequest extends Error {
  override name = "BadRequest";
}
export class NotFound extends Error {
  override name = "NotFound";
}
