import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { Command } from "commander";
import { parse as csvParser } from "csv-parse";
import { People, csvLine } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { wholeNumber } from "./numbers";

export interface MatchOptions {
  id?: string;
  map?: string;
  identifiers?: string;
  maxBlock?: number;
  /** "rules" (the tiered rules, default) or "fs" (the Fellegi–Sunter model trained on the list: Matching.clusterContactsWithModel). */
  model?: "rules" | "fs";
  /** With --model fs: the match probability a link needs (default 0.5). */
  threshold?: number;
  /** Lists of at least this many rows are standardized on a worker thread while the file is read (Matching.clusterContactsOnWorker); default 20,000. */
  workerFrom?: number;
}

/** Below this, starting a worker costs more than it saves. */
const WORKER_FROM = 20_000;

/**
 * Clusters the people of a list file: one output row per input row (id, cluster_id, score,
 * reason). Needs no platform, no database: the same engine the pipeline uses, in memory.
 */
export async function matchFile(
  file: string,
  out: Writable,
  options: MatchOptions = {},
): Promise<Matching.ClusterSummary & { problems: number; seconds: number; proposed: string[] }> {
  const started = performance.now();
  const source = createReadStream(file);
  const parser = source.pipe(
    csvParser({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }),
  );
  try {
    return await clusterFile(file, parser, out, options, started);
  } finally {
    // Read to the end, or stopped by a bad header, option or row: either way the file is closed.
    parser.destroy();
    source.destroy();
  }
}

async function clusterFile(
  file: string,
  parser: AsyncIterable<string[]>,
  out: Writable,
  options: MatchOptions,
  started: number,
): Promise<Matching.ClusterSummary & { problems: number; seconds: number; proposed: string[] }> {
  const records = parser[Symbol.asyncIterator]();
  let read = 0;
  // The next record; a file that stops being CSV says after how many rows.
  const nextRecord = async () => {
    try {
      return await records.next();
    } catch (err) {
      if (err instanceof Error && "code" in err && String(err.code).startsWith("CSV_")) {
        throw new Error(`match: ${file} is not readable CSV after ${read} rows: ${err.message}`, { cause: err });
      }
      throw err;
    }
  };
  const first = await nextRecord();
  if (first.done) throw new Error(`match: ${file} is empty (expected a header row)`);
  const header = first.value.map((h) => h.trim());
  const keys = header.map(People.headerKey);
  let idIndex = 0;
  if (options.id !== undefined) {
    idIndex = keys.indexOf(People.headerKey(options.id));
    if (idIndex < 0) throw new Error(`--id ${options.id}: no such column (header: ${header.join(", ")})`);
  }
  const identifiers =
    options.identifiers
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean) ?? [];
  const mapping = People.mapHeaders(header, People.parseMapping(options.map), identifiers);
  if (mapping.fields.size === 0)
    throw new Error(
      `no column maps to a person field (header: ${header.join(", ")}); map them with --map field=column`,
    );
  const rowOf = (record: string[]): Matching.ClusterInput => ({
    id: record[idIndex] ?? "",
    input: People.contactFromRow(record, mapping),
  });

  // A short list is matched here; a long one (known once this many rows are read) goes on to a worker as the rest is read.
  const matching = options.maxBlock === undefined ? {} : { maxBlock: options.maxBlock };
  const workerFrom = options.workerFrom ?? WORKER_FROM;
  async function* dataRows(): AsyncGenerator<Matching.ClusterInput> {
    for (let r = await nextRecord(); !r.done; r = await nextRecord()) {
      read++;
      yield rowOf(r.value);
    }
  }
  const rest = dataRows();
  const head: Matching.ClusterInput[] = [];
  let ended = false;
  while (!ended && head.length < workerFrom) {
    const r = await rest.next();
    if (r.done) ended = true;
    else head.push(r.value);
  }
  async function* all(): AsyncGenerator<Matching.ClusterInput> {
    yield* head;
    yield* rest;
  }
  let result: { rows: Matching.ClusteredRow[]; summary: Matching.ClusterSummary };
  if (options.model === "fs") {
    const rows: Matching.ClusterInput[] = [];
    for await (const row of all()) rows.push(row);
    result = Matching.clusterContactsWithModel(rows, { threshold: options.threshold, maxBlock: options.maxBlock });
  } else {
    result = ended ? Matching.clusterContacts(head, matching) : await Matching.clusterContactsOnWorker(all(), matching);
  }
  let buf = csvLine(["id", "cluster_id", "score", "reason"]);
  let problems = 0;
  for (const r of result.rows) {
    problems += r.problems.length;
    buf += csvLine([r.id, r.clusterId, r.score, r.reason]);
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.write(buf);
  return { ...result.summary, problems, seconds: (performance.now() - started) / 1000, proposed: mapping.proposed };
}

export function matchCommand(): Command {
  return new Command("match")
    .description(
      "find the same person across the rows of a list file (CSV): one line per row with its cluster, score and reason",
    )
    .argument("<file>", "CSV file with a header row; columns are mapped to person fields by name")
    .option("--id <column>", "column that identifies a row in the output (default: the first column)")
    .option(
      "--map <field=column,...>",
      `explicit mapping, overriding the guess by name (fields: ${People.CONTACT_FIELDS.join(", ")})`,
    )
    .option(
      "--identifiers <columns>",
      "comma-separated columns whose equal values are the same person (customer number …)",
    )
    .option(
      "--max-block <n>",
      "largest block compared (guard against huge blocks)",
      wholeNumber(1, People.MAX_BLOCK_LIMIT),
      200,
    )
    .option(
      "--model <rules|fs>",
      "the tiered rules, or a Fellegi–Sunter model trained on the list (EM) with explained weights",
      "rules",
    )
    .option("--threshold <p>", "with --model fs: the match probability a link needs", "0.5")
    .requiredOption("--out <file>", "where to write the clusters CSV ('-' for stdout)")
    .action(
      async (
        file: string,
        opts: {
          id?: string;
          map?: string;
          identifiers?: string;
          maxBlock: number;
          model: string;
          threshold: string;
          out: string;
        },
      ) => {
        if (opts.model !== "rules" && opts.model !== "fs")
          throw new Error(`--model is rules or fs (got "${opts.model}")`);
        const threshold = Number(opts.threshold);
        if (!(threshold > 0 && threshold < 1))
          throw new Error(`--threshold is a probability between 0 and 1, exclusive (got "${opts.threshold}")`);
        const out = opts.out === "-" ? process.stdout : createWriteStream(opts.out);
        const s = await matchFile(file, out, {
          id: opts.id,
          map: opts.map,
          identifiers: opts.identifiers,
          maxBlock: opts.maxBlock,
          model: opts.model,
          threshold,
        });
        if (out !== process.stdout) {
          out.end();
          await once(out, "finish");
        }
        if (s.proposed.length)
          process.stderr.write(
            `match: identifiers taken from the header: ${s.proposed.join(", ")} (--identifiers declares your own)\n`,
          );
        process.stderr.write(
          `match: ${s.rows.toLocaleString("en-US")} rows → ${s.clusters.toLocaleString("en-US")} people, ${s.links.toLocaleString("en-US")} links` +
            `${s.problems ? `, ${s.problems} field value(s) not standardizable (left out)` : ""}` +
            `${s.oversizedBlocks ? `, ${s.oversizedBlocks} block(s) over the guard` : ""} (${s.seconds.toFixed(2)} s, ${Math.round(s.rows / Math.max(s.seconds, 1e-6)).toLocaleString("en-US")} rows/s)\n`,
        );
      },
    );
}
