import { Roles, createLogger, createPool, migrate, type Needs, type Pool } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { homePaths } from "../home";
import { mirrorObject } from "../mirror";
import { LocalPlatform } from "../platform";
import { startPostgres } from "../postgres";
import { fileNotifier } from "../pullers";
import { readRuntime } from "../runtime-file";
import { localSecrets } from "../secrets";

/**
 * The one way a CLI command reaches the platform: the running one (npm start in another
 * terminal, found by its runtime file), else one booted for this command and stopped after it.
 * - `connect`: the database, the bucket and the alerts, for commands that write objects;
 * - `withPool` / `withDatabase`: the database only (an embedded PostgreSQL booted and migrated,
 *   without the bucket or the state machine, when nothing runs).
 */

/** What a command that writes files for people needs: the database, the bucket, and the mirror of what it wrote. */
export interface Connection {
  deps: Needs<"pool" | "store" | "log" | "notifier", "bucket">;
  /** LEADPIPE_HOME of the platform (its pullers.json, its alerts). */
  home: string;
  /**
   * The object `key` this command wrote, as a plain file under LEADPIPE_HOME (mirror.ts): its
   * path, or undefined when the key cannot be a file path there or the copy failed (never throws:
   * the object itself is written).
   */
  mirror(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Handler logs are JSON lines for machines; on the CLI only alerts and errors reach the terminal
 * (alerts only, when the command prints JSON).
 */
export function quietLog(json?: boolean): (line: string) => void {
  return (line) => {
    if (line.startsWith("ALERT") || !json) process.stderr.write(line + "\n");
  };
}

/**
 * The running platform's database and bucket (npm start in another terminal), else a platform
 * started for this command. `log` gets the platform's lines when the command starts one.
 */
export async function connect(log: (line: string) => void): Promise<Connection> {
  const running = readRuntime();
  if (running) {
    const pool = createPool(running.databaseUrl, 2);
    const store = s3Store(createS3Client(running.s3Endpoint));
    return {
      deps: { pool, store, log: cliLogger(), notifier: fileNotifier(), settings: { bucket: running.bucket } },
      home: homePaths().root,
      // The running platform mirrors it too, when its event arrives; copying here means the path printed exists.
      // The object is written either way: a copy that fails is said on stderr, and no path is printed.
      mirror: (key) =>
        mirrorObject(store, running.bucket, key, homePaths().root).catch((err: Error) => {
          process.stderr.write(
            `could not copy s3://${running.bucket}/${key} under ${homePaths().root}: ${err.message}\n`,
          );
          return undefined;
        }),
      close: () => pool.end(),
    };
  }
  const platform = await LocalPlatform.start({ log });
  return platformConnection(platform, () => platform.close());
}

/** A platform running in this process (started for a command, or by a test): it mirrors what is written to it. */
export function platformConnection(platform: LocalPlatform, close = async (): Promise<void> => undefined): Connection {
  return {
    deps: {
      pool: platform.pool,
      store: s3Store(platform.s3),
      log: cliLogger(),
      notifier: snsNotifier(createSnsClient(process.env.SNS_ENDPOINT), platform.topicArn),
      settings: { bucket: platform.bucket },
    },
    home: platform.paths.root,
    mirror: (key) => platform.mirror(key),
    close,
  };
}

/** Runs `fn` on a connection (`given`: a test's), closed after it. */
export async function withConnection<T>(
  log: (line: string) => void,
  fn: (c: Connection) => Promise<T>,
  given?: () => Promise<Connection>,
): Promise<T> {
  const c = await (given ?? (() => connect(log)))();
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The database of a running platform (owner's URL), else the embedded one started just for this command. */
export async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const running = readRuntime();
  if (running) return fn(running.databaseUrl);
  const pg = await startPostgres(homePaths().pg, undefined, { secretsFile: homePaths().secrets });
  try {
    const pool = createPool(pg.url, 1);
    try {
      await migrate(pool);
      await Roles.setRolePasswords(pool, {
        leadpipe_readonly: pg.secrets.readonly,
        leadpipe_pipeline: pg.secrets.pipeline,
      });
    } finally {
      await pool.end();
    }
    return await fn(pg.url);
  } finally {
    await pg.stop();
  }
}

/** Like withDatabase, logged in as the read-only role (its password is this LEADPIPE_HOME's). */
export async function withReadOnlyDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const { readonly } = localSecrets(homePaths().secrets);
  return withDatabase((url) => fn(Roles.urlAs(url, Roles.READONLY_ROLE, readonly)));
}

/** withDatabase with a pool of one connection (as `role` when given: its password is this LEADPIPE_HOME's), ended after `fn`. */
export async function withPool<T>(fn: (pool: Pool) => Promise<T>, role?: "pipeline"): Promise<T> {
  const as = role === "pipeline" ? localSecrets(homePaths().secrets).pipeline : undefined;
  return withDatabase(async (url) => {
    const pool = createPool(as === undefined ? url : Roles.urlAs(url, Roles.PIPELINE_ROLE, as), 1);
    try {
      return await fn(pool);
    } finally {
      await pool.end();
    }
  });
}

function cliLogger() {
  return createLogger({ service: "leadpipe-cli" });
}
