import type { Queryable } from "@leadpipe/core";

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
