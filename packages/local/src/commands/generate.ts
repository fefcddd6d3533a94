import { mkdirSync } from "node:fs";
import { Command } from "commander";
import { dayWriters, writeDay } from "../generate/day";
import { wholeNumber } from "./numbers";

export function generateCommand(): Command {
  return new Command("generate")
    .description("write a deterministic day of every source's files, of any size")
    .requiredOption("--day <YYYY-MM-DD>", "the business day")
    .option("--rows <n>", "rows per file", wholeNumber(1), 1000)
    .option("--bad-every <n>", "make every n-th row invalid (0: none)", wholeNumber(0), 0)
    .option(
      "--only <sources>",
      `comma-separated sources to write (default all: ${dayWriters.map((w) => w.source).join(", ")})`,
    )
    .requiredOption("--out <dir>", "output folder")
    .action(async (opts: { day: string; rows: number; out: string; badEvery: number; only?: string }) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.day)) throw new Error("--day must be YYYY-MM-DD");
      const only = opts.only
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = only?.filter((s) => !dayWriters.some((w) => w.source === s)) ?? [];
      if (unknown.length > 0) throw new Error(`unknown source(s) for --only: ${unknown.join(", ")}`);
      mkdirSync(opts.out, { recursive: true });
      const files = await writeDay(opts.out, { day: opts.day, rows: opts.rows, badEvery: opts.badEvery }, only);
      for (const f of files) process.stdout.write(`${f}\n`);
    });
}
