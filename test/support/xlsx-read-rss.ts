/**
 * Reads a workbook with readSheetRows in a process of its own and prints what it read, the error
 * if any, and the process's peak RSS (from the kernel: VmHWM), as one JSON line. The XLSX memory
 * tests run it so the figure is the reader's alone.
 *
 *   node --import tsx test/support/xlsx-read-rss.ts <file.xlsx> [maxSharedStringBytes]
 */
import { createReadStream, readFileSync } from "node:fs";
import { readSheetRows } from "../../packages/core/src/xlsx/read";

const [file, cap] = process.argv.slice(2);
const rows: string[][] = [];
let error: string | null = null;
try {
  await readSheetRows(
    createReadStream(file!),
    (cells) => {
      rows.push(cells);
    },
    cap ? { maxSharedStringBytes: Number(cap) } : {},
  );
} catch (err) {
  error = `${(err as Error).name}: ${(err as Error).message}`;
}
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
process.stdout.write(
  JSON.stringify({
    rows: rows.length,
    first: rows[0],
    error,
    peakRssMB: hwm ? Math.round(Number(hwm[1]) / 1024) : null,
  }) + "\n",
);
