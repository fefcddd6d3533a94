import { Pullers, type Pool } from "@leadpipe/core";

/** The outcomes a run counts (puller_runs.outcomes), in the order the pages show them. */
export const OUTCOMES = ["landed", "duplicate", "already-landed", "unstable", "skipped", "failed"] as const;

/**
 * The pullers on today's page: each declared puller's last run with its outcome counts (a puller that
 * never ran is listed with none), the ledger's failed files with their reasons, and the files expected
 * but missing (`expected_by` passed, nothing landed that local day: the decision `checkExpected` alerts on).
 */
export async function pullerSummary(pool: Pool, specs: readonly Pullers.PullerSpec[], at: Date) {
  const pulling = specs.filter((s) => s.direction === "pull");
  const [runs, failed, missing] = await Promise.all([
    Pullers.lastRuns(pool),
    Pullers.ledger(pool, { limit: 20, state: "failed" }),
    Pullers.missingFiles(pulling, pool, at),
  ]);
  const byName = new Map(runs.map((r) => [r.puller, r]));
  const names = [...new Set([...pulling.map((s) => s.name), ...runs.map((r) => r.puller)])].sort();
  const lastRuns = names.map((puller) => {
    const r = byName.get(puller);
    const spec = pulling.find((s) => s.name === puller);
    return {
      puller,
      schedule: spec?.schedule ? `${spec.schedule} ${spec.timezone}` : null,
      expected_by: spec?.expected_by ? `${spec.expected_by} ${spec.timezone}` : null,
      started_at: r?.started_at ?? null,
      finished_at: r?.finished_at ?? null,
      trigger: r?.trigger ?? "never ran",
      ...Object.fromEntries(OUTCOMES.map((o) => [o, r ? (r.outcomes[o] ?? 0) : null])),
      error: r?.error ?? null,
    };
  });
  return { lastRuns, failed, missing };
}
