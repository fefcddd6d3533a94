import type { Queryable } from "../db";
import { stepFlag } from "./publish";

/** The waterfall's checks that a rule imposes (consent, opt-outs, suppressions, the DNC registry, caps). */
export const COMPLIANCE_STEPS = [
  "consent",
  "not_opted_out",
  "not_suppressed",
  "not_on_dnc_registry",
  "frequency_cap",
] as const;

export interface CheckRisk {
  step: (typeof COMPLIANCE_STEPS)[number];
  /** People (a golden record, or a customer without one) who would be in the audience if only this check were skipped. */
  contacted_if_skipped: number;
}

/**
 * Who would be contacted against a rule if one check were skipped: for each compliance check among
 * `steps` (a publication's waterfall), the people who fail that check and pass every other step, and
 * who are not in the audience already through another of their customer ids. Re-evaluated with
 * audience_evaluation() on the as-of day, each check switched off on its own (the waterfall's
 * `excluded` is only an upper bound: a later check may remove the same people).
 */
export async function riskIfSkipped(
  db: Queryable,
  req: { campaign: string; channel: string; asOf: string; steps: readonly string[] },
): Promise<CheckRisk[]> {
  const flags = req.steps.map((s) => {
    const f = stepFlag(s);
    if (f === undefined) throw new Error(`unknown waterfall step ${JSON.stringify(s)}`);
    return f;
  });
  // one customer id per person is the outcome counted here (distinct people), not a check
  const others = flags.filter((f): f is string => f !== null && f !== "first_of_person");
  const checks = COMPLIANCE_STEPS.filter((c) => req.steps.includes(c));
  if (!checks.length) return [];
  const all = others.join(" AND ") || "true";
  const columns = checks.map((c) => {
    const flag = stepFlag(c)!;
    const rest = others.filter((f) => f !== flag);
    const pass = rest.length ? rest.join(" AND ") : "true";
    return `count(DISTINCT e.who) FILTER (WHERE NOT e.${flag} AND ${pass} AND a.who IS NULL)::bigint AS ${c}`;
  });
  // Column names come from the fixed step table above, never from the request.
  const { rows } = await db.query<Record<string, number>>(
    `WITH e AS MATERIALIZED (
       SELECT coalesce('p' || person_id, 'c' || customer_id) AS who, * FROM audience_evaluation($1, $2, $3::date)),
     already AS (SELECT DISTINCT who FROM e WHERE ${all})
     SELECT ${columns.join(", ")} FROM e LEFT JOIN already a ON a.who = e.who`,
    [req.campaign, req.channel, req.asOf],
  );
  return checks.map((step) => ({ step, contacted_if_skipped: Number(rows[0]![step]) }));
}
