import type { Writable } from "node:stream";
import { Command } from "commander";
import { Pullers } from "@leadpipe/core";
import { readPullers, pullersFile, runDelivery, runPuller, waitForPulledImports, type LocalPullDeps } from "../pullers";
import { quietLog, withConnection } from "./connect";

/** The running platform (npm start elsewhere), else one booted for this command, as `ingest` does (`given`: tests). */
async function withPlatform<T>(
  json: boolean | undefined,
  fn: (p: LocalPullDeps) => Promise<T>,
  given?: LocalPullDeps,
): Promise<T> {
  if (given) return fn(given);
  return withConnection(quietLog(json), ({ deps }) => fn(deps));
}

function describe(r: Pullers.PullResult): string {
  const extra = r.import_id ? `import ${r.import_id}` : (r.reason ?? "");
  return `${r.puller}\t${r.outcome}\t${r.path}\t${r.size} bytes${extra ? `\t${extra}` : ""}\n`;
}

export function selectPullers(names: string[]): Pullers.PullerSpec[] {
  const all = readPullers().filter((s) => s.direction === "pull");
  if (!all.length) throw new Error(`no pullers are declared: write them into ${pullersFile()} (see docs/pullers.md)`);
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(`unknown puller ${unknown.join(", ")}; declared: ${all.map((s) => s.name).join(", ")}`);
  return names.length ? all.filter((s) => names.includes(s.name)) : all;
}

export function pullCommand(out: Writable = process.stdout, given?: LocalPullDeps): Command {
  return new Command("pull")
    .description(
      "run the named pullers (default: all in $LEADPIPE_HOME/pullers.json) once now and wait for the imports of what they landed",
    )
    .argument("[names...]", "pullers to run")
    .option("--json", "one JSON object per remote file considered: {puller, path, size, outcome, import_id?, reason?}")
    .option(
      "--force <path>",
      "land this remote file again (its newest version), even if it was landed before; needs one puller name",
    )
    .action(async (names: string[], opts: { json?: boolean; force?: string }) => {
      const specs = selectPullers(names);
      if (opts.force !== undefined && names.length !== 1)
        throw new Error("--force <path> needs exactly one puller name");
      const results = await withPlatform(
        opts.json,
        async (p) => {
          if (opts.force !== undefined && !(await Pullers.force(p.pool, names[0]!, opts.force))) {
            throw new Error(`puller ${names[0]} has never seen ${opts.force}: nothing to force (see leadpipe pulls)`);
          }
          const all: Pullers.PullResult[] = [];
          for (const spec of specs) all.push(...(await runPuller(spec, p, "cli")));
          return waitForPulledImports(p.pool, all);
        },
        given,
      );
      for (const r of results) {
        if (opts.json) {
          const { puller, path, size, outcome, import_id, reason } = r;
          out.write(
            JSON.stringify({
              puller,
              path,
              size,
              outcome,
              ...(import_id ? { import_id } : {}),
              ...(reason ? { reason } : {}),
            }) + "\n",
          );
        } else out.write(describe(r));
      }
      process.exitCode = results.some((r) => r.outcome === "failed") ? 1 : 0;
    });
}

export function pullsCommand(out: Writable = process.stdout, given?: LocalPullDeps): Command {
  return new Command("pulls")
    .description("recent puller runs and the ledger of remote files")
    .option("--json", "JSON lines: {run: ...} then {file: ...}")
    .option("--limit <n>", "rows of each", "50")
    .action(async (opts: { json?: boolean; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new Error("--limit must be a whole number from 1 to 10000");
      await withPlatform(
        opts.json,
        async ({ pool }) => {
          const runs = await Pullers.recentRuns(pool, { limit });
          const files = await Pullers.ledger(pool, { limit });
          if (opts.json) {
            for (const run of runs) out.write(JSON.stringify({ run }) + "\n");
            for (const file of files) out.write(JSON.stringify({ file }) + "\n");
            return;
          }
          out.write("runs:\n");
          for (const r of runs) {
            out.write(
              `  ${r.started_at.toISOString()}  ${r.puller}  ${r.trigger}  ${JSON.stringify(r.outcomes)}${r.error ? `  ${r.error}` : ""}\n`,
            );
          }
          out.write("files:\n");
          for (const f of files) {
            out.write(`  ${f.puller}  ${f.state}  ${f.path}  ${f.size} bytes  ${f.import_id ?? f.reason ?? ""}\n`);
          }
        },
        given,
      );
    });
}

export function deliverCommand(out: Writable = process.stdout): Command {
  return new Command("deliver")
    .description(
      "send an object of the landing bucket (e.g. outbox/leads/<day>/leads-<day>.csv) to an outbound destination " +
        '(direction "push" in pullers.json); the same content is never sent twice',
    )
    .argument("<destination>", "the destination's name in pullers.json")
    .argument("<key>", "the object key in the landing bucket")
    .option("--json", "print the delivery as JSON")
    .action(async (name: string, key: string, opts: { json?: boolean }) => {
      const spec = readPullers().find((s) => s.name === name && s.direction === "push");
      if (!spec) throw new Error(`no outbound destination ${name} (direction "push") in ${pullersFile()}`);
      if (!/^[\w./-]+$/.test(key) || key.includes("..")) throw new Error(`not an object key: ${JSON.stringify(key)}`);
      const r = await withPlatform(opts.json, (p) => runDelivery(spec, p, key));
      out.write(
        opts.json
          ? `${JSON.stringify(r)}\n`
          : `${r.destination}\t${r.outcome}\t${r.key} -> ${r.remote_path}\t${r.size} bytes\t${r.answer ?? r.reason ?? ""}\n`,
      );
      process.exitCode = r.outcome === "failed" ? 1 : 0;
    });
}
