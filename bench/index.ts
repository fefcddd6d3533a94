/**
 * The benchmarks: lists them, or runs one.
 *
 *   npm run bench                          list every benchmark with its purpose and usage
 *   npm run bench -- <name> [args...]      run bench/<name>.ts with those arguments
 *   npm run bench -- imb 100000            a quick one (the barcode codec, a few seconds)
 *
 * A benchmark is a file bench/<name>.ts whose leading doc comment shows how it is run
 * (`npx tsx bench/<name>.ts …`); its first sentence (cut at 160 characters) is its purpose. Helper modules (harness.ts, people-truth.ts,
 * stats.ts) have no such line and are not listed. Figures of record live in docs/, dated, each
 * with the command that reproduced it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface Benchmark {
  name: string;
  /** The first sentence of the file's doc comment (cut at 160 characters). */
  purpose: string;
  /** The lines of the doc comment that run it (`npx tsx bench/<name>.ts …`). */
  usage: string[];
}

/** The leading /** … *\/ comment of a source file, without its stars. */
function docComment(source: string): string[] {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match) return [];
  return match[1]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
}

/** Every runnable benchmark under `dir`, by name. */
export function benchmarks(dir = BENCH_DIR): Benchmark[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && file !== "index.ts")
    .sort()
    .flatMap((file) => {
      const name = file.slice(0, -3);
      const doc = docComment(readFileSync(path.join(dir, file), "utf8"));
      const usage = doc.map((l) => l.trim()).filter((l) => l.includes(`bench/${name}.ts`));
      if (usage.length === 0) return [];
      const prose = doc.join(" ").replace(/\s+/g, " ").trim();
      const sentence = /^(.*?\.)(\s|$)/.exec(prose)?.[1] ?? prose;
      const purpose = sentence.length <= 160 ? sentence : `${sentence.slice(0, 160).replace(/\s\S*$/, "")} …`;
      return [{ name, purpose, usage }];
    });
}

export function listing(list: Benchmark[]): string {
  const lines = ["Benchmarks (npm run bench -- <name> [args...]; a quick one: npm run bench -- imb 100000):", ""];
  for (const b of list) lines.push(`  ${b.name}`, `    ${b.purpose}`, ...b.usage.map((u) => `    ${u}`), "");
  lines.push("On a shared machine, bench/priority.sh <command> gives a run CPU priority (root only).");
  return lines.join("\n") + "\n";
}

function main(argv: string[]): number {
  const [name, ...args] = argv;
  const list = benchmarks();
  if (!name || name === "--help" || name === "-h" || name === "list") {
    process.stdout.write(listing(list));
    return 0;
  }
  const bench = list.find((b) => b.name === name);
  if (!bench) {
    const names = list.map((b) => b.name).join(", ");
    process.stderr.write(`no benchmark named ${JSON.stringify(name)}; there are: ${names}\n`);
    return 2;
  }
  // The same node, with tsx's loader, as `npx tsx bench/<name>.ts` would run it; the arguments
  // are passed as they are (no shell).
  const file = path.join(BENCH_DIR, `${bench.name}.ts`);
  const run = spawnSync(process.execPath, ["--import", "tsx", file, ...args], { stdio: "inherit" });
  if (run.error) throw run.error;
  return run.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
