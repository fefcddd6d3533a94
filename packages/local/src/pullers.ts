import { appendFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Cron } from "croner";
import { Import, Pullers, Sources, createLogger, type Needs, type Notifier, type Pool } from "@leadpipe/core";
import { openTransport, pgDeltaLinks } from "@leadpipe/core/adapters/pullers";
import { homePaths } from "./home";

/** `$LEADPIPE_HOME/pullers.json`: the local runtime's pullers (none when the file is absent). */
export function pullersFile(home?: string): string {
  return path.join(homePaths(home).root, "pullers.json");
}

export function readPullers(home?: string): Pullers.PullerSpec[] {
  const file = pullersFile(home);
  if (!existsSync(file)) return [];
  return Pullers.parsePullers(readFileSync(file, "utf8"), file);
}

/** A local pull's or delivery's dependencies: the Needs shape, less the logger each run makes for itself. */
export type LocalPullDeps = Needs<"pool" | "store" | "notifier", "bucket"> & { retryMinMs?: number };

/** Alerts when no SNS endpoint is at hand (a platform running in another process): the alert file and stderr. */
export function fileNotifier(
  home?: string,
  write: (line: string) => void = (l) => process.stderr.write(l + "\n"),
): Notifier {
  return {
    async alert(subject, message) {
      appendFileSync(
        homePaths(home).alerts,
        JSON.stringify({ time: new Date().toISOString(), topicArn: "local-file", subject, message }) + "\n",
      );
      write(`ALERT ${subject}\n${message}`);
    },
  };
}

/** Runs one puller once with its transport, closing the connection afterwards. */
export async function runPuller(
  spec: Pullers.PullerSpec,
  deps: LocalPullDeps,
  trigger: "cli" | "schedule",
): Promise<Pullers.PullResult[]> {
  const log = createLogger({ service: "leadpipe", component: "puller" });
  let transport: Awaited<ReturnType<typeof openTransport>>;
  try {
    transport = await openTransport(spec, undefined, pgDeltaLinks(deps.pool));
  } catch (err) {
    const reason = `${(err as Error).name}: ${(err as Error).message}`;
    await deps.notifier.alert(
      `leadpipe puller ${spec.name} FAILED`.slice(0, 99),
      `Puller ${spec.name} could not start: ${reason}`,
    );
    return [{ puller: spec.name, path: "", size: 0, outcome: "failed", reason }];
  }
  try {
    return await Pullers.pull(
      spec,
      transport,
      { ...deps, log, sourceOf: (name) => Sources.fromFileName(name)?.name },
      { trigger },
    );
  } finally {
    await transport.close();
  }
}

/**
 * Waits until the imports of what a run landed reach a terminal state (the platform imports them
 * from the landing bucket's events), then fills in each result's import id ('duplicate' when the
 * pipeline found the content imported before).
 */
export async function waitForPulledImports(
  pool: Pool,
  results: Pullers.PullResult[],
  timeoutMs = 6 * 3600_000,
): Promise<Pullers.PullResult[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const linked = await Pullers.linkImports(pool, results);
    const ids = linked.filter((r) => r.import_id).map((r) => r.import_id!);
    const waiting = linked.filter((r) => r.outcome === "landed" && !r.import_id).length;
    const { rows } = await pool.query<{ status: Import.ImportStatus }>(
      "SELECT status FROM imports WHERE id = ANY($1::uuid[])",
      [ids],
    );
    if (waiting === 0 && rows.every((r) => Import.TERMINAL.includes(r.status))) return linked;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for the imports of ${linked
          .filter((r) => r.key)
          .map((r) => r.key)
          .join(", ")}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The local stand-in for the pullers' EventBridge Scheduler schedules: each puller on its cron in
 * its own time zone (croner keeps local wall-clock time across daylight saving, running once),
 * and after each run the `expected_by` check. Never keeps the process alive.
 */
export function startPullerSchedules(
  specs: readonly Pullers.PullerSpec[],
  deps: LocalPullDeps,
  log: (line: string) => void,
): { stop(): void } {
  const jobs = specs
    .filter((s) => s.schedule && s.direction === "pull")
    .map(
      (spec) =>
        new Cron(spec.schedule!, { timezone: spec.timezone, unref: true, protect: true }, async () => {
          try {
            const results = await runPuller(spec, deps, "schedule");
            log(`puller ${spec.name}: ${results.map((r) => `${r.outcome} ${r.path}`).join(", ") || "nothing listed"}`);
            await Pullers.checkExpected(spec, deps, new Date());
          } catch (err) {
            log(`puller ${spec.name} failed: ${(err as Error).message}`);
          }
        }),
    );
  // expected_by is also checked on its own, in case the schedule runs before it.
  const expected = specs
    .filter((s) => s.expected_by && s.direction === "pull")
    .map((spec) => {
      const [hh, mm] = spec.expected_by!.split(":") as [string, string];
      return new Cron(
        `${Number(mm)} ${Number(hh)} * * *`,
        { timezone: spec.timezone, unref: true, protect: true },
        async () => {
          await Pullers.checkExpected(spec, deps, new Date()).catch((err: Error) =>
            log(`puller ${spec.name} expected_by check failed: ${err.message}`),
          );
        },
      );
    });
  return { stop: () => [...jobs, ...expected].forEach((c) => c.stop()) };
}

/** Delivers one object of the landing bucket to an outbound destination (`direction: "push"`). */
export async function runDelivery(
  spec: Pullers.PullerSpec,
  deps: LocalPullDeps,
  key: string,
): Promise<Pullers.DeliveryResult> {
  const log = createLogger({ service: "leadpipe", component: "delivery" });
  const transport = Pullers.lazyTransport(() => openTransport(spec));
  try {
    return await Pullers.deliver(spec, () => transport.get(), { ...deps, log }, key);
  } finally {
    await transport.close();
  }
}
