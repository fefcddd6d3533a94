/**
 * Checksum and Stage of a large partner-B file (default ~2 GB) against the local platform, with
 * this process's resident memory sampled every 50 ms: memory must stay flat whatever the file
 * size (both steps stream; Stage holds at most two chunk uploads in flight). The file, the
 * platform's folder and its database are deleted afterwards.
 *
 *   npx tsx bench/stage-memory.ts [--gb 2] [--chunk-rows 50000]
 *
 * s3rver (the local S3 endpoint) runs in this process, so its memory is counted too.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Import } from "@leadpipe/core";
import { LocalPlatform } from "../packages/local/src/platform";
import { writePartnerB } from "../packages/local/src/generate/partner-b";

const { values } = parseArgs({
  options: { gb: { type: "string", default: "2" }, "chunk-rows": { type: "string", default: "50000" } },
});
const targetBytes = Number(values.gb) * 1024 ** 3;
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-stage-memory-"));
process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? "warn";
const MB = 1024 ** 2;

// ~171 bytes a generated row: size the file from a small sample.
const probe = path.join(tmp, "probe.csv");
await writePartnerB(probe, { day: "2026-11-20", rows: 10_000 });
const rows = Math.round(targetBytes / (statSync(probe).size / 10_000));
rmSync(probe);
const file = path.join(tmp, "partner-b-mortgages-2026-11-20.csv");
const t = Date.now();
await writePartnerB(file, { day: "2026-11-20", rows });
const size = statSync(file).size;
console.error(
  `generated ${rows.toLocaleString("en-US")} rows (${(size / MB).toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(0)} s`,
);

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
const measure = async <T>(fn: () => Promise<T>) => {
  global.gc?.();
  const before = process.memoryUsage.rss();
  peak = before;
  const started = Date.now();
  const result = await fn();
  peak = Math.max(peak, process.memoryUsage.rss());
  return { result, before, peak, seconds: (Date.now() - started) / 1000 };
};

const platform = await LocalPlatform.start({
  home: path.join(tmp, "home"),
  chunkRows: Number(values["chunk-rows"]),
  log: () => undefined,
});
try {
  // Landed outside inbox/ so only the steps measured here run (no execution starts).
  const key = `bench/${path.basename(file)}`;
  const upload = await measure(() => platform.put(key, file));
  const { importId } = await Import.register(platform.pool, {
    bucket: platform.bucket,
    key,
    eventKey: `bench-${Date.now()}`,
  });
  await platform.invoke("validate", { importId });
  const checksum = await measure(() => platform.invoke("checksum", { importId }));
  const stage = await measure(() => platform.invoke("stage", { importId }) as Promise<{ chunks: Import.ChunkRef[] }>);
  clearInterval(sampler);
  const row = (label: string, m: { before: number; peak: number; seconds: number }) =>
    `| ${label} | ${(size / MB).toFixed(0)} MB | ${(m.before / MB).toFixed(0)} MB | ${(m.peak / MB).toFixed(0)} MB | ${((m.peak - m.before) / MB).toFixed(0)} MB | ${m.seconds.toFixed(1)} s (${(size / MB / m.seconds).toFixed(0)} MB/s) |`;
  console.log("| step | file | RSS before | peak RSS | peak − before | time |");
  console.log("|---|---:|---:|---:|---:|---:|");
  console.log(row("upload to the local S3 endpoint (PutObject, streamed)", upload));
  console.log(row("checksum (sha256, streamed)", checksum));
  console.log(
    row(
      `stage (${stage.result.chunks.length} chunks of ${values["chunk-rows"]} rows, ${stage.result.chunks.filter((c) => c.range).length} of them byte ranges of the file)`,
      stage,
    ),
  );
} finally {
  clearInterval(sampler);
  await platform.close();
  if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
