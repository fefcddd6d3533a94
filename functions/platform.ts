import {
  Migration,
  config,
  createLogger,
  createPool,
  type Deps,
  type ExecutionProbe,
  type ExecutionStarter,
  type Notifier,
} from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { createSfnClient, sfnProbe, sfnStarter } from "@leadpipe/core/adapters/sfn";
import { legacySourceFromSecret, poolConfigFromSecret } from "@leadpipe/core/adapters/secrets";

/**
 * Everything a handler needs, built once per cold start from the environment alone: the same
 * code runs in Lambda (SST sets the variables) and in the local runtime (which points the
 * endpoints at its local peers).
 */
let deps: Promise<Deps> | undefined;
let starter: ExecutionStarter | undefined;
let probe: ExecutionProbe | undefined;

export function platform(): Promise<Deps> {
  deps ??= build();
  return deps;
}

async function build(): Promise<Deps> {
  const c = config();
  const connection = c.DATABASE_URL ?? (await poolConfigFromSecret(c.DATABASE_SECRET_ARN!, c.AWS_REGION));
  const pool = createPool(
    typeof connection === "string"
      ? { connectionString: connection, statement_timeout: c.STATEMENT_TIMEOUT_MS }
      : { ...connection, statement_timeout: c.STATEMENT_TIMEOUT_MS },
    c.DATABASE_POOL_SIZE,
  );
  return {
    pool,
    store: s3Store(createS3Client(c.S3_ENDPOINT, c.AWS_REGION)),
    notifier: notifier(),
    log: createLogger({ service: "leadpipe", stage: c.LEADPIPE_STAGE }),
    settings: {
      bucket: c.LANDING_BUCKET,
      chunkRows: c.CHUNK_ROWS,
      maxFileBytes: c.MAX_FILE_BYTES,
      maxSharedStringBytes: c.XLSX_MAX_SHARED_STRING_BYTES,
    },
  };
}

function notifier(): Notifier {
  const c = config();
  if (!c.ALERT_TOPIC_ARN) throw new Error("ALERT_TOPIC_ARN is not set: failures could not be alerted");
  return snsNotifier(createSnsClient(c.SNS_ENDPOINT, c.AWS_REGION), c.ALERT_TOPIC_ARN);
}

export function executionStarter(): ExecutionStarter {
  const c = config();
  if (!c.STATE_MACHINE_ARN) throw new Error("STATE_MACHINE_ARN is not set");
  starter ??= sfnStarter(createSfnClient(c.SFN_ENDPOINT, c.AWS_REGION), c.STATE_MACHINE_ARN);
  return starter;
}

export function executionProbe(): ExecutionProbe {
  const c = config();
  if (!c.STATE_MACHINE_ARN) throw new Error("STATE_MACHINE_ARN is not set");
  probe ??= sfnProbe(createSfnClient(c.SFN_ENDPOINT, c.AWS_REGION), c.STATE_MACHINE_ARN);
  return probe;
}

/** For the local runtime and tests: forget the cached clients (after the environment changed, or before exit). */
export async function resetPlatform(): Promise<void> {
  const d = deps;
  deps = undefined;
  starter = undefined;
  probe = undefined;
  if (d) await (await d).pool.end().catch(() => undefined);
}

/**
 * Runs `work` with the legacy source of the migration state machine open for this invocation: from
 * LEGACY_SOURCE (local runtime, tests) or the LEGACY_SECRET_ARN secret (AWS). Each invocation reads in
 * a snapshot of its own, closed when `work` ends.
 */
export async function withLegacyReader<T>(work: (reader: Migration.LegacyReader) => Promise<T>): Promise<T> {
  const c = config();
  const source =
    c.LEGACY_SOURCE ??
    (c.LEGACY_SECRET_ARN ? await legacySourceFromSecret(c.LEGACY_SECRET_ARN, c.AWS_REGION) : undefined);
  if (!source) throw new Error("set LEGACY_SECRET_ARN (or LEGACY_SOURCE locally): the legacy source to migrate");
  return Migration.withReader(source, work);
}
