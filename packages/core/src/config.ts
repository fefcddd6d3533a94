import { z } from "zod";
import { ConfigError } from "./errors";

/**
 * Configuration comes from the environment only (SST bindings in AWS, the local runtime
 * locally), parsed once. A missing variable fails with its name.
 */
const schema = z.object({
  LEADPIPE_STAGE: z.string().default("local"),
  LANDING_BUCKET: z.string().min(1),
  /** Either a connection string (local, tests) or an Aurora secret (AWS). */
  DATABASE_URL: z.string().optional(),
  DATABASE_SECRET_ARN: z.string().optional(),
  /** The migrate function only: the login roles' secrets, whose passwords it sets after the migrations. */
  PIPELINE_SECRET_ARN: z.string().optional(),
  READONLY_SECRET_ARN: z.string().optional(),
  CONSOLE_SECRET_ARN: z.string().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(4),
  STATEMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  S3_ENDPOINT: z.string().url().optional(),
  SFN_ENDPOINT: z.string().url().optional(),
  SNS_ENDPOINT: z.string().url().optional(),
  STATE_MACHINE_ARN: z.string().optional(),
  ALERT_TOPIC_ARN: z.string().optional(),
  AWS_REGION: z.string().default("us-east-1"),
  /** AWS: the lead hand-off's outbound destinations, a JSON array of pullers.json entries (secrets by name only). */
  LEAD_DELIVERIES: z.string().optional(),
  /** Local: $LEADPIPE_HOME/pullers.json, whose `direction: "push"` entries receive the lead hand-off. */
  PULLERS_FILE: z.string().optional(),
  /**
   * AWS: the legacy database a migration state machine reads, a Secrets Manager secret (JSON: engine,
   * host, port, username, password, dbname), so its URL is never on a command line or in a log.
   */
  LEGACY_SECRET_ARN: z.string().optional(),
  /** Local runtime and tests: the legacy source itself (mysql://… or sqlite:<file>), in place of the secret. */
  LEGACY_SOURCE: z.string().optional(),
  CHUNK_ROWS: z.coerce.number().int().min(1).default(50_000),
  MAX_FILE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 ** 3),
  /**
   * The people consumer: the most candidates a resolution batch holds (~0.4 KB each; People.MAX_CANDIDATES when
   * unset, sized for the function's 2 GB), for a function given less memory.
   */
  PEOPLE_MAX_CANDIDATES: z.coerce.number().int().positive().optional(),
  /** The most memory a workbook's shared-strings table may take while it is staged (xlsx/read.ts). */
  XLSX_MAX_SHARED_STRING_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join(".")} (${i.message})`).join(", ");
    throw new ConfigError(`leadpipe configuration: missing or invalid environment variable ${names}`);
  }
  if (!parsed.data.DATABASE_URL && !parsed.data.DATABASE_SECRET_ARN) {
    throw new ConfigError("leadpipe configuration: set DATABASE_URL or DATABASE_SECRET_ARN");
  }
  return parsed.data;
}

/** The configuration of this process, parsed at first use (cold start). */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** For tests and the local runtime, which set the environment before first use. */
export function resetConfig(): void {
  cached = undefined;
}
