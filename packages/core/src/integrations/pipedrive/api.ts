import type { PipedriveConnection } from "../config";
import { ApiClient, type ApiClientOptions, type Clock, type DailyLimit, RequestBudget } from "../http";
import { burstPer2s, tokenCost } from "./budget";
import type { Entity, RemoteRecord } from "./mapping";

/**
 * The Pipedrive endpoints the sync calls (API v2 persons and deals, v1 fields), over the frame's
 * ApiClient with one RequestBudget configured from Pipedrive's published limits: a rolling
 * 2-second burst window per token (the plan's, or `burst_per_2s`), the x-ratelimit-remaining/-reset
 * headers obeyed, 429 waited out as Retry-After says; each request's token cost spent against our
 * share of the company's daily budget (budget.ts), x-daily-requests-left read (0: no more writes),
 * and a 429 asking to wait past `MAX_WAIT_MS` (the day's budget gone) ending the run as partial.
 */
export const BURST_WINDOW_MS = 2000;
export const LITE_BURST = 20;
/** A burst 429 asks for seconds; a wait longer than this is the day's budget, not worth sleeping through. */
export const MAX_WAIT_MS = 120_000;

const PATH: Record<Entity, string> = { person: "api/v2/persons", deal: "api/v2/deals" };
const FIELDS_PATH: Record<Entity, string> = { person: "api/v1/personFields", deal: "api/v1/dealFields" };

interface Envelope<T> {
  success: boolean;
  data: T;
  additional_data?: { next_cursor?: string | null };
}

export interface RemoteField {
  key: string;
  name: string;
}

export interface PipedriveApiOptions {
  /** Test seam: ApiClient options (a fetch, a prepared budget …). */
  client?: Partial<ApiClientOptions>;
  /** Our share of the day's token budget, from what earlier runs of the day spent. */
  daily?: DailyLimit;
  /** The clock the budget paces by (a virtual one in the benchmark). */
  clock?: Clock;
}

export class PipedriveApi {
  readonly client: ApiClient;

  constructor(conn: PipedriveConnection, o: PipedriveApiOptions = {}) {
    const budget =
      o.client?.budget ??
      new RequestBudget({
        maxRequests: burstPer2s(conn),
        windowMs: BURST_WINDOW_MS,
        remainingHeader: "x-ratelimit-remaining",
        resetHeader: "x-ratelimit-reset",
        writesLeftHeader: "x-daily-requests-left",
        daily: o.daily,
        maxWaitMs: MAX_WAIT_MS,
        clock: o.clock,
      });
    this.client = new ApiClient({
      baseUrl: conn.api_url,
      budget,
      auth: () => ({ "x-api-token": conn.api_token }),
      maxThrottleRetries: 10,
      cost: tokenCost,
      ...o.client,
    });
  }

  get requests(): number {
    return this.client.budget.requests;
  }

  async fields(entity: Entity): Promise<RemoteField[]> {
    const r = await this.client.request<Envelope<RemoteField[]>>("GET", FIELDS_PATH[entity], {
      query: { limit: 500 },
    });
    return r.body.data ?? [];
  }

  /**
   * Every record (sorted by id), or those updated since a time (sorted by update_time, oldest
   * first), one page at a time as v2's cursor pagination gives them.
   */
  async *list(
    entity: Entity,
    o: { updatedSince?: string; pageSize: number },
  ): AsyncGenerator<RemoteRecord[], void, undefined> {
    let cursor: string | undefined;
    do {
      const r = await this.client.request<Envelope<RemoteRecord[]>>("GET", PATH[entity], {
        query: {
          limit: o.pageSize,
          cursor,
          updated_since: o.updatedSince,
          sort_by: o.updatedSince ? "update_time" : "id",
          sort_direction: "asc",
        },
      });
      yield r.body.data ?? [];
      cursor = r.body.additional_data?.next_cursor ?? undefined;
    } while (cursor);
  }

  /** The record carrying our marker in a custom field, if one exists (a POST whose answer was lost). */
  async findByMarker(entity: Entity, marker: string, markerKey: string): Promise<RemoteRecord | undefined> {
    const r = await this.client.request<Envelope<{ items: { item: RemoteRecord }[] }>>(
      "GET",
      `${PATH[entity]}/search`,
      { query: { term: marker, fields: "custom_fields", exact_match: true, limit: 2 } },
    );
    const hit = (r.body.data?.items ?? []).find((i) => i.item.custom_fields?.[markerKey] === marker);
    if (!hit) return undefined;
    return this.get(entity, hit.item.id);
  }

  async get(entity: Entity, id: number): Promise<RemoteRecord> {
    return (await this.client.request<Envelope<RemoteRecord>>("GET", `${PATH[entity]}/${id}`)).body.data;
  }

  async create(entity: Entity, body: Record<string, unknown>): Promise<RemoteRecord> {
    return (await this.client.request<Envelope<RemoteRecord>>("POST", PATH[entity], { json: body })).body.data;
  }

  async update(entity: Entity, id: number, body: Record<string, unknown>): Promise<RemoteRecord> {
    return (await this.client.request<Envelope<RemoteRecord>>("PATCH", `${PATH[entity]}/${id}`, { json: body })).body
      .data;
  }
}
