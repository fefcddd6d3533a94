import type { PipedriveConnection } from "../config";
import { ApiClient, type ApiClientOptions, RequestBudget } from "../http";
import type { Entity, RemoteRecord } from "./mapping";

/**
 * The Pipedrive endpoints the sync calls (API v2 persons and deals, v1 fields), over the frame's
 * ApiClient with one RequestBudget configured from Pipedrive's published limits: a rolling
 * 2-second burst window per token (Lite 20 requests; `burst_per_2s` for other plans), the
 * x-ratelimit-remaining/-reset headers obeyed, 429 waited out as Retry-After says.
 */
export const BURST_WINDOW_MS = 2000;
export const LITE_BURST = 20;

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

export class PipedriveApi {
  readonly client: ApiClient;

  constructor(conn: PipedriveConnection, extra: Partial<ApiClientOptions> = {}) {
    const budget =
      extra.budget ??
      new RequestBudget({
        maxRequests: conn.burst_per_2s ?? LITE_BURST,
        windowMs: BURST_WINDOW_MS,
        remainingHeader: "x-ratelimit-remaining",
        resetHeader: "x-ratelimit-reset",
      });
    this.client = new ApiClient({
      baseUrl: conn.api_url,
      budget,
      auth: () => ({ "x-api-token": conn.api_token }),
      maxThrottleRetries: 10,
      ...extra,
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
