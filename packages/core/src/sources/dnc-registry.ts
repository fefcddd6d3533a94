import type { SourceSpec } from "./spec";
import { registryNumber, rowSchema } from "./fields";
import { promotionTarget } from "./target";

/** Registry chunks and full-file completions take turns, so a full file and a change never miss each other. */
const DNC_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dnc_numbers'))";

export const dncNumbersTarget = promotionTarget({
  kind: "dnc_numbers",
  columns: ["phone", "action"],
  key: ["phone"],
  promoteFn: "promote_dnc_numbers",
  lock: DNC_LOCK,
  async complete(client, importId) {
    await client.query(DNC_LOCK);
    const { rows } = await client.query<{ delisted: number }>("SELECT complete_dnc_full_file($1) AS delisted", [
      importId,
    ]);
    return rows[0]!.delisted;
  },
});

type Action = "full" | "add" | "remove";

/**
 * The national do-not-call registry: headerless text, one number per line, either 10 digits or
 * "area code,number". Three kinds of file, told apart by name: a full file replaces the numbers
 * of every area code it contains; change files add or remove numbers.
 */
function registryFile(name: string, action: Action, fileName: RegExp, description: string): SourceSpec {
  return {
    name,
    partner: null,
    description,
    schemaVersion: 1,
    fileName,
    // A tab never occurs in these files: each line is one field, "212,5550101" included. Strict: a
    // damaged line must not let a full file replace an area code's numbers with fewer of them.
    reader: { format: "csv", delimiter: "\t", encoding: "utf-8", header: false, strict: true },
    columns: { number: "number" },
    row: rowSchema({ number: registryNumber({ required: true }) }, (r) => ({ phone: r.number, action })),
    target: dncNumbersTarget,
  };
}

export const dncFull = registryFile(
  "dnc-full",
  "full",
  /^dnc[-_]full.*\.(txt|csv)$/i,
  "Do-not-call registry, full file (replaces the area codes it contains)",
);
export const dncAdditions = registryFile(
  "dnc-additions",
  "add",
  /^dnc[-_](additions|adds)\b.*\.(txt|csv)$/i,
  "Do-not-call registry, change file: numbers added",
);
export const dncRemovals = registryFile(
  "dnc-removals",
  "remove",
  /^dnc[-_](removals|deletions|deletes)\b.*\.(txt|csv)$/i,
  "Do-not-call registry, change file: numbers removed",
);
