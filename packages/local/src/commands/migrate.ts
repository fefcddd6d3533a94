import os from "node:os";
import { Command } from "commander";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Migration } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform, type Dropped } from "../platform";
import { quietLog } from "./connect";

export interface MigrateOptions {
  from: string;
  mapping?: string;
  only?: string[];
  resume?: string;
  rangeRows?: number;
  /** MySQL: ranges read at once on one snapshot (default 2; needs the RELOAD privilege, else one). */
  parallel?: number;
  timeZone?: string;
  log?: (line: string) => void;
  /**
   * Filled with the milliseconds of each stage: read (the source), cast (cast and build the objects),
   * land (checkpoints, quarantine, puts), then the waits: imports (staging and promotion), people
   * (their resolution into golden records), reconcile (the source read again, checksums).
   */
  timings?: Record<string, number>;
}

/** Where a run's manifest lands: beside the imports' reports (reports/<import id>/). */
export const manifestKey = Migration.manifestKey;

/** The platform's pool and landing bucket, where a run's manifest is written. */
const platformStore = (platform: LocalPlatform) => ({
  pool: platform.pool,
  store: s3Store(platform.s3),
  settings: { bucket: platform.bucket },
});

/**
 * Migrates a legacy source into a running platform: lands every key range as an import, waits for
 * them, then reads the source again and reconciles (the manifest). With `resume`, continues a run
 * after its last checkpoint; ranges landed before are landed again (identical bytes: DUPLICATE imports).
 */
/** Ranges a MySQL source is read in at once by default (this machine has two cores). */
export const DEFAULT_PARALLEL = 2;

export async function migrateSource(platform: LocalPlatform, opts: MigrateOptions): Promise<Migration.Manifest> {
  const reader = await Migration.openReader(opts.from, {
    parallel: opts.parallel ?? DEFAULT_PARALLEL,
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
  try {
    const runId = opts.resume
      ? (await Migration.resumableRun(platform.pool, reader, opts.resume)).run_id
      : await Migration.beginRun(platform.pool, reader, {
          mapping: opts.mapping ? Migration.readMappingFile(opts.mapping) : undefined,
          only: opts.only,
          rangeRows: opts.rangeRows,
          timeZone: opts.timeZone,
          parallel: opts.parallel,
        });
    const runOptions = (await Migration.getRun(platform.pool, runId)).options;
    opts.log?.(`migration run ${runId}`);
    const lander = landerOf(platform, runId);
    let t = Date.now();
    const lap = (stage: string) => {
      if (opts.timings) opts.timings[stage] = Date.now() - t;
      t = Date.now();
    };
    const deps = { pool: platform.pool, reader, land: lander.land, progress: opts.log, timings: opts.timings };
    // Touchpoints name campaigns and person records landed by the other tables' imports: they land after those.
    const first = await Migration.landTables(deps, runId, runOptions, (s) => !Migration.landsLater(s));
    t = Date.now();
    await lander.waitFor(first);
    const later = await Migration.landTables(deps, runId, runOptions, Migration.landsLater);
    if (later.length) await lander.waitFor(later);
    lap("imports");
    // Reconciling reads what the imports promoted, which resolving people does not change: both at once.
    const since = (stage: string) => {
      const start = Date.now();
      return () => {
        if (opts.timings) opts.timings[stage] = Date.now() - start;
      };
    };
    const reconciled = since("reconcile");
    const resolved = since("people");
    const [manifest, people] = await Promise.allSettled([
      Migration.reconcile(platform.pool, reader, runId).finally(reconciled),
      peopleResolved(platform, runId).finally(resolved),
    ]);
    if (manifest.status === "rejected") throw manifest.reason;
    if (people.status === "rejected") throw people.reason;
    await Migration.closeRun(platformStore(platform), manifest.value);
    return manifest.value;
  } finally {
    await reader.close();
  }
}

/**
 * Lands a run's objects and waits for their imports. Ranges checkpointed by an earlier (killed)
 * invocation are waited for too; an object whose event died with that process (no import of it) is
 * put again: the same bytes, a new event. A DUPLICATE's rows are its original's: one still in flight
 * (recovered after a kill) is waited for as well.
 */
function landerOf(platform: LocalPlatform, runId: string) {
  const dropped: Dropped[] = [];
  const land = async (key: string, body: Buffer) => {
    const {
      rows: [last],
    } = await platform.pool.query<{ seq: string | null }>(
      "SELECT max(seq) AS seq FROM imports WHERE bucket = $1 AND object_key = $2",
      [platform.bucket, key],
    );
    await platform.s3.send(
      new PutObjectCommand({
        Bucket: platform.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        Metadata: { "uploaded-by": os.userInfo().username, "migration-run": runId },
      }),
    );
    dropped.push({ file: key, key, afterSeq: Number(last?.seq ?? 0) });
  };
  const waitFor = async (landed: Migration.LandedRange[]) => {
    const now = new Set(dropped.map((d) => d.key));
    for (const r of landed) {
      if (now.has(r.objectKey)) continue;
      const { rowCount } = await platform.pool.query("SELECT 1 FROM imports WHERE bucket = $1 AND object_key = $2", [
        platform.bucket,
        r.objectKey,
      ]);
      if (rowCount) dropped.push({ file: r.objectKey, key: r.objectKey, afterSeq: 0 });
      else {
        const got = await platform.s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: r.objectKey }));
        await land(r.objectKey, Buffer.from(await got.Body!.transformToByteArray()));
      }
    }
    await platform.pool.query("UPDATE migration_runs SET status = 'LANDED' WHERE run_id = $1 AND status = 'RUNNING'", [
      runId,
    ]);
    const imports = await platform.waitFor(dropped);
    const originals = [
      ...new Set(imports.flatMap((i) => (i.status === "DUPLICATE" && i.duplicate_of ? [i.duplicate_of] : []))),
    ];
    if (originals.length) await platform.waitForImports(originals);
    return [...new Set([...imports.filter((i) => i.status !== "DUPLICATE").map((i) => i.id), ...originals])];
  };
  return { land, waitFor };
}

/**
 * Waits until the people of the run's imports are resolved into golden records (the people consumer
 * runs after imports, on their success): the state machine's AwaitPeople, polled the same way
 * (Migration.runProgress). An import whose resolution failed for good is named in the error.
 */
async function peopleResolved(platform: LocalPlatform, runId: string): Promise<void> {
  for (;;) {
    const progress = await Migration.runProgress(platform.pool, runId);
    if (progress.people_failed) throw new Error(`resolving the people of ${progress.people_failed}`);
    if (!progress.people_pending) return;
    platform.resolvePeopleSoon();
    await platform.peopleIdle();
  }
}

export interface ReplayQuarantineOptions {
  table?: string;
  /** A fixed mapping file the quarantined rows are cast with. */
  mapping?: string;
  /** The source, when its URL needs credentials the run did not store (verify reads it again). */
  from?: string;
  log?: (line: string) => void;
}

/**
 * Casts a run's quarantined rows again (after a mapping fix), lands those that now cast, waits for
 * their imports and reconciles the run: the manifest counts them as loaded, and the quarantine
 * keeps only what is still refused. Running it again with nothing new to land changes nothing.
 */
export async function replayQuarantine(
  platform: LocalPlatform,
  runId: string,
  opts: ReplayQuarantineOptions = {},
): Promise<Migration.Manifest> {
  const run = await Migration.getRun(platform.pool, runId);
  return Migration.withReader(opts.from ?? run.source, async (reader) => {
    if (reader.label !== run.source) throw new Error(`run ${runId} migrated ${run.source}, not ${reader.label}`);
    if (run.status === "RUNNING") throw new Error(`run ${runId} is still RUNNING: finish it with --resume first`);
    const lander = landerOf(platform, runId);
    const landed = await Migration.replayQuarantine(
      { pool: platform.pool, reader, land: lander.land, progress: opts.log },
      runId,
      {
        table: opts.table,
        mapping: opts.mapping ? Migration.readMappingFile(opts.mapping) : undefined,
      },
    );
    await lander.waitFor(landed);
    const manifest = await Migration.reconcile(platform.pool, reader, runId);
    await Migration.writeManifest(platformStore(platform), manifest);
    return manifest;
  });
}

/**
 * Reads a finished run's source again and reconciles it with what landed, on `parallel` lanes (MySQL;
 * default one: no read lock on a source that may be live; more lanes line up their snapshots under
 * FLUSH TABLES WITH READ LOCK): the same checks, whatever the lanes.
 */
export async function verifyRun(
  platform: LocalPlatform,
  runId: string,
  from?: string,
  parallel?: number,
  log?: (line: string) => void,
): Promise<Migration.Manifest> {
  const run = await Migration.getRun(platform.pool, runId);
  const source = from ?? run.source;
  const lanes = parallel ?? 1;
  return Migration.withReader(
    source,
    async (reader) => {
      if (reader.label !== run.source) throw new Error(`run ${runId} migrated ${run.source}, not ${reader.label}`);
      const manifest = await Migration.reconcile(platform.pool, reader, runId);
      await Migration.writeManifest(platformStore(platform), manifest);
      return manifest;
    },
    { parallel: lanes, log: log ?? ((line) => process.stderr.write(`${line}\n`)) },
  );
}

function print(manifest: Migration.Manifest, json?: boolean): void {
  const s = Migration.summary(manifest);
  if (json) {
    process.stdout.write(JSON.stringify(s) + "\n");
    return;
  }
  const lines = [
    `run ${s.run_id}: ${s.status}`,
    "table                    source_rows     loaded  quarantined    dropped  checksums",
  ];
  for (const t of s.tables) {
    lines.push(
      `${t.table.padEnd(24)} ${String(t.source_rows).padStart(11)} ${String(t.loaded).padStart(10)} ${String(t.quarantined).padStart(12)} ` +
        `${String(t.dropped).padStart(10)}  ${t.checksums_match ? "match" : "DIFFER"}`,
    );
    for (const d of t.differences ?? [])
      lines.push(`  ${t.table} ${d.pk}: ${d.reason}${d.columns.length ? ` (${d.columns.join(", ")})` : ""}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
}

/** `--parallel`'s value: 1 to 64 lanes. */
function parallelOf(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--parallel must be 1 to 64, got "${v}"`);
  return n;
}

const FROM_HELP =
  "mysql://user@host:port/database (password in LEADPIPE_MIGRATE_PASSWORD), sqlite:<file> or csv:<folder>";

export function migrateCommand(): Command {
  const verify = new Command("verify")
    .description("read a run's source again and compare it with what landed (the same manifest)")
    .argument("<run_id>")
    .option("--from <source>", "the source, when its URL needs credentials the run did not store")
    .option(
      "--parallel <n>",
      "MySQL: key ranges read at once (default 1; more take a brief global read lock to line up snapshots)",
      parallelOf,
    )
    .option("--json", "print {run_id, status, tables: [...]}")
    .action(async (runId: string, opts: { from?: string; parallel?: number; json?: boolean }) => {
      const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
      try {
        const manifest = await verifyRun(platform, runId, opts.from, opts.parallel);
        print(manifest, opts.json);
        process.exitCode = manifest.status === "COMPLETE" ? 0 : 1;
      } finally {
        await platform.close();
      }
    });
  const replay = new Command("replay-quarantine")
    .description("cast a run's quarantined rows again (after a mapping fix), land those that now cast, reconcile")
    .argument("<run_id>")
    .option("--table <table>", "only this table's quarantined rows")
    .option("--mapping <file>", "the fixed mapping file (targets and keys as the run's)")
    .option("--from <source>", "the source, when its URL needs credentials the run did not store")
    .option("--json", "print {run_id, status, tables: [...]}")
    .action(async (runId: string, opts: { table?: string; mapping?: string; from?: string; json?: boolean }) => {
      const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
      try {
        const manifest = await replayQuarantine(platform, runId, {
          ...opts,
          log: opts.json ? undefined : (l) => process.stderr.write(l + "\n"),
        });
        print(manifest, opts.json);
        process.exitCode = manifest.status === "COMPLETE" ? 0 : 1;
      } finally {
        await platform.close();
      }
    });
  return new Command("migrate")
    .description(
      "migrate a legacy MySQL/MariaDB database, SQLite file or CSV folder through the pipeline, with a reconciliation manifest",
    )
    .option("--from <source>", FROM_HELP)
    .option("--mapping <file>", "JSON mapping file (tables → target, columns → field | extra | drop, casts, time zone)")
    .option("--only <tables>", "comma-separated tables (or CSV file names without .csv)")
    .option("--dry-run", "print the mapping for review; land nothing")
    .option("--resume <run_id>", "continue a run after its last checkpoint")
    .option("--time-zone <zone>", "the IANA time zone of the source's DATETIME values (default UTC)")
    .option(
      "--parallel <n>",
      `MySQL: key ranges read (and verified) at once, on one snapshot (default ${DEFAULT_PARALLEL}; needs RELOAD, else 1)`,
      parallelOf,
    )
    .option("--range-rows <n>", "rows per key range (one import each)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--range-rows must be a positive integer, got "${v}"`);
      return n;
    })
    .option("--json", "print {run_id, status, tables: [...]}")
    .addCommand(verify)
    .addCommand(replay)
    .action(
      async (opts: {
        from?: string;
        mapping?: string;
        only?: string;
        dryRun?: boolean;
        resume?: string;
        timeZone?: string;
        rangeRows?: number;
        parallel?: number;
        json?: boolean;
      }) => {
        if (!opts.from) throw new Error(`--from is required: ${FROM_HELP}`);
        const only = opts.only
          ?.split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (opts.dryRun) {
          const mapping = opts.mapping ? Migration.readMappingFile(opts.mapping) : { tables: {} };
          const specs = await Migration.withReader(opts.from, async (reader) =>
            Migration.tableSpecs(await reader.tables(), mapping, only),
          );
          process.stdout.write(Migration.describeSpecs(specs) + "\n");
          return;
        }
        const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
        try {
          const manifest = await migrateSource(platform, {
            from: opts.from,
            mapping: opts.mapping,
            only,
            resume: opts.resume,
            rangeRows: opts.rangeRows,
            parallel: opts.parallel,
            timeZone: opts.timeZone,
            log: opts.json ? undefined : (l) => process.stderr.write(l + "\n"),
          });
          print(manifest, opts.json);
          process.exitCode = manifest.status === "COMPLETE" ? 0 : 1;
        } finally {
          await platform.close();
        }
      },
    );
}
