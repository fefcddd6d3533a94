import { z } from "zod";
import { ConfigError } from "../errors";

/**
 * The connections to external systems (issue 23): `$LEADPIPE_HOME/integrations.json` locally, one
 * Secrets Manager secret per system in AWS. The field names are the file's contract: snake_case.
 * Secrets (tokens, client secrets, JWTs) are read from here only and never logged.
 */

const url = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "an http(s) URL");

/** The local schedules of a connection (in AWS the stage config's): five-field crons in `timezone`. */
const scheduled = {
  /** The incremental sync. */
  schedule: z.string().min(1).optional(),
  /** The full reconciliation (`--full`). */
  full_schedule: z.string().min(1).optional(),
  /** IANA time zone the crons are read in (default UTC); daylight saving neither moves nor doubles a run. */
  timezone: z.string().min(1).optional(),
};

export const PipedriveConnection = z
  .object({
    /** e.g. https://api.pipedrive.com (v2 paths are appended) or a local fake's URL. */
    api_url: url,
    api_token: z.string().min(1),
    /**
     * Our field -> Pipedrive custom field key (the 40-hex key from personFields/dealFields), e.g.
     * {"person.leadpipe_id": "9dc8…", "deal.leadpipe_id": "…"}: the names are the Pipedrive sync's
     * mapping (packages/core/src/integrations/pipedrive/mapping.ts).
     */
    owner_field_map: z
      .record(z.string(), z.string().regex(/^[0-9a-f]{40}$/, "a 40-hex Pipedrive field key"))
      .optional(),
    /** The owner (Pipedrive user id) of the persons and deals we create; Pipedrive's default otherwise. */
    owner_id: z.number().int().positive().optional(),
    /** The stage a new deal starts in; the pipeline's first stage otherwise. */
    stage_id: z.number().int().positive().optional(),
    /**
     * The company's plan: sets the burst limit (api_token: Lite 20, Growth 40, Premium 100, Ultimate
     * 120 requests per 2 s) and, with `seats`, the daily token budget (30,000 × multiplier × seats).
     */
    plan: z.enum(["lite", "growth", "premium", "ultimate"]).optional(),
    /** Paid seats of the company (the daily token budget is per company, shared by every user). */
    seats: z.number().int().positive().optional(),
    /** API token top-ups bought, added to the day's budget. */
    token_topups: z.number().int().min(0).optional(),
    /** The company's daily token budget, when known outright (overrides plan × seats). */
    daily_token_budget: z.number().int().positive().optional(),
    /** Share of the daily budget left to the account's other users and integrations (default 25). */
    token_reserve_percent: z.number().min(0).max(100).optional(),
    /** The time zone of Pipedrive's server midnight, when the budget resets (default UTC). */
    budget_timezone: z.string().min(1).optional(),
    /** Requests per rolling 2-second window (Pipedrive's burst limit per plan: Lite 20, Growth 40 …). */
    burst_per_2s: z.number().int().positive().max(1000).optional(),
    /** Golden records written at once (default 1); the request budget paces them together. */
    write_concurrency: z.number().int().min(1).max(16).optional(),
    /** Records per page of a v2 list (at most 500). */
    page_size: z.number().int().min(1).max(500).optional(),
    ...scheduled,
  })
  .passthrough();
export type PipedriveConnection = z.infer<typeof PipedriveConnection>;

export const RingCentralConnection = z
  .object({
    server_url: url,
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    /** A JWT credential (the JWT auth flow), exchanged for an access token. */
    jwt: z.string().min(1),
    ...scheduled,
  })
  .passthrough();
export type RingCentralConnection = z.infer<typeof RingCentralConnection>;

export const Integrations = z
  .object({
    pipedrive: PipedriveConnection.optional(),
    ringcentral: RingCentralConnection.optional(),
  })
  .strict();
export type Integrations = z.infer<typeof Integrations>;

export const SYSTEMS = ["pipedrive", "ringcentral"] as const;
export type System = (typeof SYSTEMS)[number];

/** Parses the file's text; a bad file is refused naming the field and never echoing a secret's value. */
export function parseIntegrations(text: string, where: string): Integrations {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not JSON (${(err as Error).message})`);
  }
  const parsed = Integrations.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
    throw new ConfigError(`${where}: ${issues.join("; ")}`);
  }
  return parsed.data;
}

/** The connection of one system, or a ConfigError saying where to declare it. */
export function connectionOf<S extends System>(
  all: Integrations,
  system: S,
  where: string,
): NonNullable<Integrations[S]> {
  const c = all[system];
  if (!c) throw new ConfigError(`${where}: no "${system}" connection declared`);
  return c as NonNullable<Integrations[S]>;
}
