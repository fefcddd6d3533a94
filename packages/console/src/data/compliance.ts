import { Audience, type Queryable } from "@leadpipe/core";

/** The compliance page: what the rules excluded over time, how fresh the DNC registry is, opt-outs, last waterfalls. */
export async function compliance(db: Queryable) {
  const { rows: exclusions } = await db.query(
    `SELECT p.published_at::date AS day, w->>'step' AS rule, sum((w->>'excluded')::bigint)::bigint AS excluded
       FROM audience_publications p CROSS JOIN LATERAL jsonb_array_elements(p.waterfall) w
      WHERE p.published_at > now() - interval '90 days' AND (w->>'excluded')::bigint > 0
      GROUP BY 1, 2 ORDER BY 1 DESC, 2`,
  );
  const { rows: dnc } = await db.query(
    `SELECT area_code, max(applied_at) AS last_full_file,
            round(extract(epoch FROM now() - max(applied_at)) / 86400, 1)::float8 AS age_days
       FROM dnc_full_files GROUP BY area_code ORDER BY age_days DESC, area_code`,
  );
  const { rows: optOuts } = await db.query(
    `SELECT channel, count(*)::bigint AS opt_outs, count(*) FILTER (WHERE opted_out_at > now() - interval '30 days')::bigint AS last_30_days,
            max(opted_out_at) AS latest
       FROM opt_outs GROUP BY channel ORDER BY channel`,
  );
  const { rows: waterfalls } = await db.query(
    `SELECT DISTINCT ON (campaign, channel) campaign, channel, as_of, rows, published_at, waterfall
       FROM audience_publications ORDER BY campaign, channel, published_at DESC`,
  );
  return {
    exclusions,
    dnc,
    optOuts,
    waterfalls: waterfalls as {
      campaign: string;
      channel: string;
      as_of: string;
      rows: number;
      published_at: Date;
      waterfall: { step: string; remaining: number; excluded: number }[];
    }[],
  };
}

/**
 * The risk of the last publication of a campaign on a channel, re-evaluated per compliance check
 * (Audience.riskIfSkipped on its as-of day), beside what its waterfall removed (the upper bound).
 * `reader` runs as leadpipe_readonly; undefined when the campaign never published on the channel.
 */
export async function riskOfLastPublication(db: Queryable, reader: Queryable, campaign: string, channel: string) {
  const {
    rows: [p],
  } = await db.query<{ as_of: string; published_at: Date; waterfall: { step: string; excluded: number }[] }>(
    `SELECT as_of::text AS as_of, published_at, waterfall FROM audience_publications
      WHERE campaign = $1 AND channel = $2 ORDER BY published_at DESC LIMIT 1`,
    [campaign, channel],
  );
  if (!p) return undefined;
  const risks = await Audience.riskIfSkipped(reader, {
    campaign,
    channel,
    asOf: p.as_of,
    steps: p.waterfall.map((s) => s.step),
  });
  return {
    asOf: p.as_of,
    publishedAt: p.published_at,
    checks: risks.map((r) => ({
      check: r.step,
      removed_in_waterfall: p.waterfall.find((s) => s.step === r.step)?.excluded ?? 0,
      contacted_if_skipped: r.contacted_if_skipped,
    })),
  };
}
