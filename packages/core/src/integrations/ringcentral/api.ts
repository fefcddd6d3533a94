import { z } from "zod";
import type { RingCentralConnection } from "../config";
import { ApiClient, ApiError, RequestBudget } from "../http";
import type { CredentialStore } from "../sync";

/**
 * RingCentral's REST API as the call-log sync uses it: the JWT auth flow (tokens refreshed and
 * stored back), the account call-log sync (FSync/ISync) and the account call log (paged), within
 * the Heavy rate-limit group (10 requests a minute) and the Auth group (5 a minute).
 */

/** The Heavy group: the call log and its sync. */
export const HEAVY = { maxRequests: 10, windowMs: 60_000 } as const;
/** The Auth group: the token endpoint. */
export const AUTH = { maxRequests: 5, windowMs: 60_000 } as const;

const RATE_HEADERS = { remainingHeader: "x-rate-limit-remaining", resetHeader: "x-rate-limit-window" } as const;

export const CallRecord = z
  .object({
    id: z.string().min(1),
    sessionId: z.string().optional(),
    startTime: z.string(),
    duration: z.number().optional(),
    direction: z.enum(["Inbound", "Outbound"]),
    result: z.string().optional(),
    from: z.object({ phoneNumber: z.string().optional() }).passthrough().optional(),
    to: z.object({ phoneNumber: z.string().optional() }).passthrough().optional(),
    lastModifiedTime: z.string().optional(),
    deleted: z.boolean().optional(),
  })
  .passthrough();
export type CallRecord = z.infer<typeof CallRecord>;

const SyncResponse = z.object({
  records: z.array(CallRecord),
  syncInfo: z.object({ syncType: z.enum(["FSync", "ISync"]), syncToken: z.string(), syncTime: z.string() }),
});
export type SyncResponse = z.infer<typeof SyncResponse>;

const CallLogResponse = z.object({
  records: z.array(CallRecord),
  navigation: z
    .object({ nextPage: z.object({ uri: z.string() }).optional() })
    .passthrough()
    .optional(),
  paging: z.object({ page: z.number(), totalPages: z.number().optional() }).passthrough().optional(),
});

export interface CallPage {
  page: number;
  records: CallRecord[];
}

const TokenResponse = z.object({
  access_token: z.string(),
  expires_in: z.number(),
  refresh_token: z.string().optional(),
  refresh_token_expires_in: z.number().optional(),
});

interface Tokens {
  access_token: string;
  /** ms since the epoch */
  expires_at: number;
  refresh_token?: string;
  refresh_expires_at?: number;
}

/** A sync token RingCentral no longer accepts (CMN-101 on syncToken): the caller falls back to a full sync. */
export class InvalidSyncTokenError extends Error {
  override readonly name = "InvalidSyncTokenError";
}

export class RingCentralResponseError extends Error {
  override readonly name = "RingCentralResponseError";
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RingCentralResponseError(`${what}: unexpected response (${issue?.path.join(".")}: ${issue?.message})`);
  }
  return r.data;
}

export interface RingCentralApiOptions {
  credentials?: CredentialStore;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** The Heavy group's pace (the benchmark raises it against a fake that allows more, and says so). */
  heavy?: { maxRequests: number; windowMs: number };
}

/** One run's connection to RingCentral: its two budgets, its tokens, the two call-log reads. */
export class RingCentralApi {
  readonly heavy: RequestBudget;
  readonly auth: RequestBudget;
  private readonly api: ApiClient;
  private readonly oauth: ApiClient;
  private tokens?: Tokens;
  private loaded = false;
  private readonly now: () => number;

  constructor(
    private readonly conn: RingCentralConnection,
    private readonly o: RingCentralApiOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.heavy = new RequestBudget({ ...(o.heavy ?? HEAVY), ...RATE_HEADERS, sleep: o.sleep, now: o.now });
    this.auth = new RequestBudget({ ...AUTH, ...RATE_HEADERS, sleep: o.sleep, now: o.now });
    this.oauth = new ApiClient({ baseUrl: conn.server_url, budget: this.auth });
    this.api = new ApiClient({
      baseUrl: conn.server_url,
      budget: this.heavy,
      auth: async () => ({ authorization: `Bearer ${await this.accessToken()}` }),
      onUnauthorized: async () => {
        if (this.tokens) this.tokens.expires_at = 0;
      },
    });
  }

  /** Requests sent to RingCentral by this run, both groups. */
  get requests(): number {
    return this.heavy.requests + this.auth.requests;
  }

  private async accessToken(): Promise<string> {
    if (!this.loaded) {
      this.loaded = true;
      const stored = await this.o.credentials?.load("ringcentral");
      if (stored && typeof stored.access_token === "string") this.tokens = stored as unknown as Tokens;
    }
    // a minute's margin: a token that would expire mid-request is renewed first
    if (!this.tokens || this.tokens.expires_at - 60_000 <= this.now()) await this.renew();
    return this.tokens!.access_token;
  }

  /** A new access token: by the refresh token while it lives, else by the JWT; stored back. */
  private async renew(): Promise<void> {
    const basic = Buffer.from(`${this.conn.client_id}:${this.conn.client_secret}`).toString("base64");
    const post = (form: Record<string, string>) =>
      this.oauth.request("POST", "restapi/oauth/token", { form, headers: { authorization: `Basic ${basic}` } });
    const t = this.tokens;
    let body: unknown;
    if (t?.refresh_token && (t.refresh_expires_at ?? 0) > this.now()) {
      try {
        body = (await post({ grant_type: "refresh_token", refresh_token: t.refresh_token })).body;
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 400 || err.status === 401))) throw err;
      }
    }
    body ??= (await post({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: this.conn.jwt })).body;
    const r = parse(TokenResponse, body, "POST /restapi/oauth/token");
    const at = this.now();
    this.tokens = {
      access_token: r.access_token,
      expires_at: at + r.expires_in * 1000,
      refresh_token: r.refresh_token,
      refresh_expires_at: r.refresh_token_expires_in ? at + r.refresh_token_expires_in * 1000 : undefined,
    };
    await this.o.credentials?.save("ringcentral", { ...this.tokens });
  }

  /** A full sync's first call: the newest `recordCount` records since dateFrom, and the token to go on from. */
  async fullSync(dateFrom: Date, recordCount = 250): Promise<SyncResponse> {
    const r = await this.api.request("GET", "restapi/v1.0/account/~/call-log-sync", {
      query: { syncType: "FSync", dateFrom: dateFrom.toISOString(), recordCount, showDeleted: true },
    });
    return parse(SyncResponse, r.body, "call-log-sync FSync");
  }

  /** What changed since the token (deleted records included); InvalidSyncTokenError when it is refused. */
  async incrementalSync(syncToken: string): Promise<SyncResponse> {
    try {
      const r = await this.api.request("GET", "restapi/v1.0/account/~/call-log-sync", {
        query: { syncType: "ISync", syncToken, showDeleted: true },
      });
      return parse(SyncResponse, r.body, "call-log-sync ISync");
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && mentionsSyncToken(err.body))
        throw new InvalidSyncTokenError(`RingCentral refused the sync token: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** The account call log between two instants, page by page (newest first), from page `firstPage`. */
  async *callLog(dateFrom: Date, dateTo: Date, perPage = 1000, firstPage = 1): AsyncGenerator<CallPage> {
    for (let page = firstPage; ; page++) {
      const r = await this.api.request("GET", "restapi/v1.0/account/~/call-log", {
        query: {
          dateFrom: dateFrom.toISOString(),
          dateTo: dateTo.toISOString(),
          view: "Simple",
          page,
          perPage,
        },
      });
      const body = parse(CallLogResponse, r.body, "call-log");
      yield { page, records: body.records };
      if (!body.navigation?.nextPage || body.records.length === 0) return;
    }
  }
}

function mentionsSyncToken(body: unknown): boolean {
  const b = body as { errorCode?: string; errors?: { errorCode?: string; parameterName?: string }[] } | undefined;
  return Boolean(
    b?.errors?.some((e) => e.parameterName === "syncToken") ||
      (b?.errorCode === "CMN-101" && JSON.stringify(b).includes("syncToken")),
  );
}
