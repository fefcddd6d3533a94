/**
 * The feeds end to end at volume: a partner's delivery confirmations and the call center's
 * responses, each against a raw COPY of the same file into an unindexed table, same database,
 * same run. The mail pieces the rows refer to are loaded first (COPY), so deliveries are applied
 * and calls matched as on a real day, not left pending.
 *
 *   npx tsx bench/feeds.ts [--rows 1000000] [--chunk-rows 50000] [--partners A,C]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { copyRows } from "../packages/core/src/copy";
import { withTransaction } from "../packages/core/src/db";
import {
  FEED_PARTNERS,
  deliverySpecOf,
  writeCallResponses,
  writeDeliveries,
  type Partner,
} from "../packages/local/src/generate/feeds";
import { trackingCodeFor } from "../packages/local/src/generate/random";
import { TABLE_HEADER, measure, startBench, tableRow, type Measured } from "./harness";
import { chunkDialect } from "../packages/core/src/sources/spec";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "chunk-rows": { type: "string", default: "50000" },
    partners: { type: "string", default: "A,C" },
  },
});
const rows = Number(values.rows);
const partners = values.partners.split(",").map((p) => p.trim().toUpperCase()) as Partner[];
const unknown = partners.filter((p) => !FEED_PARTNERS.includes(p));
if (unknown.length) throw new Error(`unknown partner(s) ${unknown.join(", ")}; known: ${FEED_PARTNERS.join(", ")}`);

const day = "2026-11-20";
const opts = { day, rows };
const bench = await startBench(Number(values["chunk-rows"]));
const results: Measured[] = [];
try {
  const { platform } = bench;
  let t = Date.now();
  await withTransaction(platform.pool, async (client) => {
    function* pieces() {
      for (const p of FEED_PARTNERS) {
        for (let i = 0; i < rows; i++) {
          const id = `${p}-${100_000 + i}`;
          yield [trackingCodeFor(id), p, id, "00000000-0000-0000-0000-000000000000", i + 1, i + 1];
        }
      }
    }
    await copyRows(
      client,
      "mail_pieces",
      ["tracking_code", "partner", "mortgage_id", "import_id", "source_row", "src_seq"],
      pieces(),
    );
  });
  console.error(`loaded ${FEED_PARTNERS.length * rows} mail pieces in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  for (const p of partners) {
    const spec = deliverySpecOf(p);
    const file = path.join(bench.tmp, `${spec.name}-${day}.csv`);
    t = Date.now();
    await writeDeliveries(file, p, opts);
    console.error(`generated ${spec.name} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    results.push(await measure(platform, spec.name, file, rows, { delimiter: chunkDialect(spec.reader).delimiter }));
    console.error(tableRow(results.at(-1)!));
  }
  const calls = path.join(bench.tmp, `call-center-responses-${day}.csv`);
  await writeCallResponses(calls, opts);
  results.push(await measure(platform, "call-center-responses", calls, rows));
  console.error(tableRow(results.at(-1)!));

  const state = await platform.pool.query(
    `SELECT (SELECT count(*) FROM delivery_events WHERE status = 'applied')::int AS applied,
            (SELECT count(*) FROM delivery_events WHERE status = 'pending')::int AS pending,
            (SELECT count(*) FROM mail_piece_deliveries)::int AS delivered,
            (SELECT count(*) FROM call_responses WHERE match_method IS NOT NULL)::int AS matched,
            (SELECT count(*) FROM call_responses)::int AS responses,
            (SELECT count(*) FROM leads)::int AS leads`,
  );
  console.log(TABLE_HEADER);
  for (const m of results) console.log(tableRow(m));
  const s = state.rows[0]!;
  console.log(
    `\ndelivery events applied ${s.applied}, pending ${s.pending}; pieces delivered ${s.delivered}; responses matched ${s.matched} of ${s.responses}; leads ${s.leads}`,
  );
} finally {
  await bench.close();
}
