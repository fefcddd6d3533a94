import type { SourceSpec } from "./spec";
import { registryNumber, rowSchema } from "./fields";
import { dncNumbersTarget } from "../compliance/targets";

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
