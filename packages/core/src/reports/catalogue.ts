/**
 * The reports, in one place: what each answers, its columns and grain, what it reads and how it is
 * kept fresh. The CLI (`leadpipe report`), the refresh and docs/reports.md all read this list; the
 * console will too. A report is a spec, like a source: adding one is a relation in sql/ and an
 * entry here.
 */

export interface ReportColumn {
  name: string;
  description: string;
}

/**
 * How a report stays fresh.
 * - "rollup": a view over rollup tables kept by triggers in the importing transaction and folded
 *   in by the refresh: the mail rollups moved by each dirty piece's new-minus-old facts
 *   (refresh_mail_rollups), the mortgage and call rollups by deltas (refresh_mortgage_rollups,
 *   refresh_call_rollups), barcode-quality, rejects and lead-aging by deltas and dirty marks
 *   (refresh_quality_rollups). The cost grows with the day's data, not the history.
 * - "materialized-view": REFRESH MATERIALIZED VIEW CONCURRENTLY after an import of one of the
 *   `staleAfter` kinds ("*": any import), and nightly.
 */
export type Refresh =
  | { kind: "rollup"; rollups: readonly string[] }
  | { kind: "materialized-view"; staleAfter: readonly string[] };

export interface Report {
  /** What the CLI and the console call it. */
  name: string;
  /** The view or materialized view it is read from. */
  relation: string;
  /** The one question it answers. */
  question: string;
  /** One row per … */
  grain: string;
  columns: readonly ReportColumn[];
  /** The core tables it is computed from. */
  sources: readonly string[];
  refresh: Refresh;
  /** The order rows are shown in. */
  orderBy: readonly string[];
}

const col = (name: string, description: string): ReportColumn => ({ name, description });
const MAIL_ROLLUPS = {
  kind: "rollup",
  rollups: [
    "report_piece_facts",
    "rollup_mail_responses",
    "rollup_mail_delivery",
    "rollup_mail_funnel",
    "rollup_geography_totals",
  ],
} as const;
const MORTGAGE_ROLLUPS = {
  kind: "rollup",
  rollups: ["rollup_mortgages_by_day", "rollup_mortgage_zips", "rollup_mortgage_zip3"],
} as const;
const MAIL_SOURCES = [
  "mail_piece_production",
  "mail_pieces",
  "mortgages",
  "zip_counties",
  "counties",
  "mail_piece_deliveries",
  "call_responses",
  "leads",
  "lead_handoff_items",
];

export const reports: readonly Report[] = [
  {
    name: "ab-response",
    relation: "report_ab_response",
    question: "Which mailer version draws more calls, per campaign and mail week, and is the difference real?",
    grain: "campaign × mail week (Monday) × mailer version",
    columns: [
      col("campaign", "the campaign in the production file"),
      col("mail_week", "Monday of the mail date's ISO week"),
      col("mailer_version", "the A/B creative"),
      col("pieces", "pieces mailed"),
      col("responders", "pieces with at least one call"),
      col("response_rate", "responders / pieces"),
      col("control_version", "the version compared against: the campaign-week's first in sort order"),
      col("diff_vs_control", "response_rate minus the control's (blank on the control row)"),
      col("ci95_low", "95% confidence interval of the difference, low end (unpooled standard error)"),
      col("ci95_high", "95% confidence interval of the difference, high end"),
      col("z", "two-proportion z statistic (pooled standard error)"),
      col("p_value", "two-sided p-value of z"),
    ],
    sources: MAIL_SOURCES,
    refresh: MAIL_ROLLUPS,
    orderBy: ["campaign", "mail_week", "mailer_version"],
  },
  {
    name: "delivery-by-partner",
    relation: "report_delivery_by_partner",
    question: "How does each partner's mail perform from drop to delivery?",
    grain: "partner × mail week",
    columns: [
      col("partner", "the mail partner"),
      col("mail_week", "Monday of the mail date's week"),
      col("mailed", "pieces in the partner's production files"),
      col("delivered", "pieces with a delivery (the first one counts)"),
      col("delivery_rate", "delivered / mailed"),
      col("median_days", "days from mail date to first delivery (UTC dates), median (percentile_disc)"),
      col("p90_days", "the same, 90th percentile"),
    ],
    sources: MAIL_SOURCES,
    refresh: MAIL_ROLLUPS,
    orderBy: ["partner", "mail_week"],
  },
  {
    name: "callbacks-by-geography",
    relation: "report_callbacks_by_geography",
    question: "Where, and for which kind of mail piece, do people call back?",
    grain: "state × county × piece type, all time",
    columns: [
      col("state", "the mortgaged property's state, as given (blank: the piece has no mortgage yet)"),
      col("county_fips", "5-digit county FIPS from the property ZIP; blank when the ZIP table does not know the ZIP"),
      col("county_name", "county name, or 'unknown'"),
      col("piece_type", "letter, postcard or self_mailer"),
      col("pieces", "pieces mailed"),
      col("responders", "pieces with at least one call"),
      col("calls", "calls matched to those pieces"),
      col("callback_rate", "responders / pieces"),
    ],
    sources: MAIL_SOURCES,
    refresh: MAIL_ROLLUPS,
    orderBy: ["state", "county_fips", "piece_type"],
  },
  {
    name: "funnel",
    relation: "report_funnel",
    question:
      "Of the mail each partner dropped on a day, how much got delivered, called, became leads and reached the agency?",
    grain: "partner × mail date (the cohort of pieces dropped that day)",
    columns: [
      col("partner", "the mail partner"),
      col("mail_date", "the day the pieces were mailed"),
      col("mortgages", "pieces linked to their mortgage (one piece per mortgage in a drop)"),
      col("pieces", "pieces mailed"),
      col("delivered", "pieces delivered"),
      col("calls", "calls matched to the pieces"),
      col("interested", "calls with disposition interested"),
      col("leads", "leads on the pieces"),
      col("handed_off", "of those, handed off to the agency"),
    ],
    sources: MAIL_SOURCES,
    refresh: MAIL_ROLLUPS,
    orderBy: ["partner", "mail_date"],
  },
  {
    name: "lead-aging",
    relation: "report_lead_aging",
    question: "How long do leads wait between the interested call and the hand-off, and how many are waiting?",
    grain: "partner × day of the interested call (UTC)",
    columns: [
      col("partner", "the partner of the lead's mail piece"),
      col("interested_on", "day of the earliest interested call"),
      col("leads", "leads"),
      col("handed_off", "leads handed off"),
      col("waiting", "leads not handed off yet"),
      col("median_hours_to_handoff", "hours from interested call to hand-off, median"),
      col("p90_hours_to_handoff", "the same, 90th percentile"),
      col("oldest_waiting_hours", "hours the oldest waiting lead had waited at refresh time"),
    ],
    sources: ["leads", "lead_handoff_items"],
    refresh: { kind: "rollup", rollups: ["rollup_lead_aging"] },
    orderBy: ["partner", "interested_on"],
  },
  {
    name: "imports-health",
    relation: "report_imports_health",
    question: "Are the imports of each source healthy, day by day?",
    grain: "day the file landed (UTC) × source",
    columns: [
      col("day", "day the import was registered"),
      col("source", "the source spec"),
      col("files", "imports registered"),
      col("rows_read", "rows read"),
      col("accepted", "rows accepted"),
      col("rejected", "rows rejected"),
      col("failed", "imports FAILED"),
      col("duplicates", "imports refused as DUPLICATE of a live import"),
      col("in_progress", "imports not finished"),
      col("median_seconds", "landing to finish, median"),
      col("max_seconds", "landing to finish, slowest"),
    ],
    sources: ["imports"],
    refresh: { kind: "materialized-view", staleAfter: ["*"] },
    orderBy: ["day", "source"],
  },
  {
    name: "rejects",
    relation: "report_rejects",
    question: "Which partners' rows are rejected, on which field and why?",
    grain: "partner × source × field × error type × reason",
    columns: [
      col("partner", "the import's partner ('-' for sources without one)"),
      col("source", "the source spec"),
      col("field", "the field blamed ('-' for a whole-row reason)"),
      col("error_type", "the kind of rejection"),
      col("reason", "the message"),
      col("rejected_rows", "rejected rows"),
      col("outstanding", "not resolved by an errors-only replay"),
      col("rejected_later", "rejected after their import ended (a foreign barcode claim)"),
      col("files", "imports with such rows"),
    ],
    sources: ["import_rejects", "imports"],
    refresh: { kind: "rollup", rollups: ["rollup_reject_imports", "rollup_rejects"] },
    orderBy: ["partner", "source", "field", "error_type", "reason"],
  },
  {
    name: "barcode-quality",
    relation: "report_barcode_quality",
    question:
      "How good are each partner's barcodes: repaired, rejected, claimed by another partner, waiting for backfill?",
    grain: "partner",
    columns: [
      col("partner", "the mail partner"),
      col("barcodes_assigned", "tracking codes assigned to a mortgage"),
      col("mail_pieces", "mail pieces linked to their mortgage"),
      col("repaired", "staged barcodes the decoder repaired (error correction)"),
      col("rejected", "rows rejected for their barcode"),
      col("foreign_claims", "barcode-map rows rejected because the mortgage belonged to another partner"),
      col("pending_backfill", "assigned barcodes whose mortgage has not arrived"),
    ],
    sources: [
      "barcode_assignments",
      "mail_pieces",
      "staging_barcode_map",
      "staging_mortgages",
      "import_rejects",
      "imports",
    ],
    refresh: { kind: "rollup", rollups: ["report_pending_barcodes", "rollup_barcode_quality"] },
    orderBy: ["partner"],
  },
  {
    name: "call-matching",
    relation: "report_call_matching",
    question: "How well are call-center calls matched to mail: by tracking code, by mortgage id, or not at all?",
    grain: "day of the call (UTC)",
    columns: [
      col("called_on", "day of the call"),
      col("calls", "calls received"),
      col("by_tracking_code", "matched by the keyed tracking code"),
      col("by_mortgage_id", "matched by the keyed mortgage id"),
      col("unmatched", "matched to neither (yet)"),
      col("match_rate", "matched / calls"),
    ],
    sources: ["call_responses"],
    refresh: { kind: "rollup", rollups: ["rollup_call_matching"] },
    orderBy: ["called_on"],
  },
  {
    name: "compliance-exclusions",
    relation: "report_compliance_exclusions",
    question: "How many people did each compliance rule exclude from each published audience?",
    grain: "campaign × channel × audience day × rule (the waterfall step)",
    columns: [
      col("campaign", "the campaign"),
      col("channel", "mail, call, email or sms"),
      col("as_of", "the audience's as-of day"),
      col("step_order", "the rule's place in the waterfall"),
      col(
        "rule",
        "the waterfall step (consent, not_opted_out, not_suppressed, not_on_dnc_registry, frequency_cap, priority, …)",
      ),
      col("excluded", "customers this rule excluded"),
      col("remaining", "customers left after it"),
    ],
    sources: ["audience_publications"],
    refresh: { kind: "materialized-view", staleAfter: [] },
    orderBy: ["campaign", "channel", "as_of", "step_order"],
  },
  {
    name: "golden-records",
    relation: "report_golden_records",
    question: "How are golden records growing: records, people, links by tier, merges and unmerges per day?",
    grain: "day (UTC)",
    columns: [
      col("day", "the day"),
      col("records", "source records added"),
      col("persons_created", "golden records created"),
      col("links_exact", "duplicate links, exact tier"),
      col("links_strong", "duplicate links, strong tier"),
      col("links_fuzzy", "duplicate links, fuzzy tier"),
      col("links_manual", "duplicate links set by a steward"),
      col("merges", "merges"),
      col("unmerges", "merges undone"),
    ],
    sources: ["person_records", "persons", "person_links", "person_merges"],
    refresh: { kind: "materialized-view", staleAfter: ["mortgages", "contacts"] },
    orderBy: ["day"],
  },
  {
    name: "touchpoints",
    relation: "report_touchpoints",
    question:
      "How many touchpoints does each campaign make per channel and day, and how many people did the frequency cap hold back?",
    grain: "campaign × channel × day",
    columns: [
      col("campaign", "the campaign"),
      col("channel", "the channel"),
      col("touched_on", "the day"),
      col("touchpoints", "touchpoints recorded"),
      col("people", "distinct people (golden record, else customer id)"),
      col("frequency_cap_hits", "customers the frequency cap excluded from that day's audience"),
    ],
    sources: ["touchpoints", "audience_publications"],
    refresh: { kind: "materialized-view", staleAfter: [] },
    orderBy: ["campaign", "channel", "touched_on"],
  },
  {
    name: "geography-coverage",
    relation: "report_geography_coverage",
    question: "For how many mortgages do we know the county, per state and ZIP3?",
    grain: "state × ZIP3",
    columns: [
      col("state", "the property's state, as given"),
      col("zip3", "first three digits of the property ZIP"),
      col("mortgages", "mortgages"),
      col("county_known", "of those, with a county from the ZIP table"),
      col("county_unknown", "of those, whose ZIP the table does not know"),
    ],
    sources: ["mortgages", "zip_counties"],
    refresh: MORTGAGE_ROLLUPS,
    orderBy: ["state", "zip3"],
  },
  {
    name: "mortgages-by-partner-day",
    relation: "report_mortgages_by_partner_day",
    question: "How many mortgages, for how much, did each partner send per closing day?",
    grain: "partner × closing date",
    columns: [
      col("partner", "the partner"),
      col("closing_date", "the loan's closing date"),
      col("mortgages", "mortgages"),
      col("total_loan_amount", "sum of loan amounts"),
    ],
    sources: ["mortgages"],
    refresh: MORTGAGE_ROLLUPS,
    orderBy: ["partner", "closing_date"],
  },
  {
    name: "imports-by-day",
    relation: "report_imports_by_day",
    question: "How many imports of each source ended in each status per day?",
    grain: "day × source × status",
    columns: [
      col("day", "day the import was registered"),
      col("source", "the source"),
      col("status", "the import's status"),
      col("imports", "imports"),
      col("rows_read", "rows read"),
      col("rejected", "rows rejected"),
    ],
    sources: ["imports"],
    refresh: { kind: "materialized-view", staleAfter: ["*"] },
    orderBy: ["day", "source", "status"],
  },
];

const byName = new Map(reports.map((r) => [r.name, r]));

/** The report of that name; a clear error listing the names otherwise. */
export function get(name: string): Report {
  const r = byName.get(name);
  if (!r)
    throw new UnknownReportError(`unknown report "${name}"; the reports are: ${reports.map((x) => x.name).join(", ")}`);
  return r;
}

export class UnknownReportError extends Error {
  override name = "UnknownReportError";
}

/** The materialized views an import of this target kind makes stale. */
export function viewsStaleAfter(kind: string): string[] {
  return reports
    .filter(
      (r) =>
        r.refresh.kind === "materialized-view" &&
        (r.refresh.staleAfter.includes(kind) || r.refresh.staleAfter.includes("*")),
    )
    .map((r) => r.relation);
}

/** Every materialized view of the catalogue. */
export const materializedViews = (): string[] =>
  reports.filter((r) => r.refresh.kind === "materialized-view").map((r) => r.relation);
/** The reports kept by rollups (mail, mortgage and call). */
export const rollupReports = (): Report[] => reports.filter((r) => r.refresh.kind === "rollup");

/** docs/reports.md, generated from this catalogue (`leadpipe report docs`; a test keeps them equal). */
export function markdown(): string {
  const lines = [
    "# Reports",
    "",
    "Generated from `packages/core/src/reports/catalogue.ts` by `npx leadpipe report docs > docs/reports.md`;",
    "a unit test fails when the two differ. Read them with `npx leadpipe report list` and",
    "`npx leadpipe report show NAME [--where column=value ...] [--csv|--json]`; every report says when its",
    'data was last refreshed ("data as of"). How the refresh works: docs/reports-refresh.md.',
    "",
    "| report | question | grain | refresh |",
    "|---|---|---|---|",
    ...reports.map((r) => `| [${r.name}](#${r.name}) | ${r.question} | ${r.grain} | ${refreshText(r.refresh)} |`),
  ];
  for (const r of reports) {
    lines.push(
      "",
      `## ${r.name}`,
      "",
      r.question,
      "",
      `- relation: \`${r.relation}\``,
      `- grain: ${r.grain}`,
      `- sources: ${r.sources.map((s) => `\`${s}\``).join(", ")}`,
      `- refresh: ${refreshText(r.refresh)}`,
      "",
      "| column | meaning |",
      "|---|---|",
      ...r.columns.map((c) => `| ${c.name} | ${c.description} |`),
    );
  }
  return lines.join("\n") + "\n";
}

function refreshText(r: Refresh): string {
  if (r.kind === "rollup") {
    if (r.rollups.includes("rollup_call_matching"))
      return "incremental: each import's call deltas per day folded in (rollup), nightly in full";
    if (r.rollups.includes("rollup_lead_aging"))
      return "incremental: the partner-days whose leads or hand-offs changed are recomputed (rollup), nightly in full";
    if (r.rollups.includes("rollup_rejects"))
      return "incremental: each import's rejected rows folded in per import (rollups), nightly in full";
    if (r.rollups.includes("rollup_barcode_quality"))
      return "incremental: each import's per-partner counts folded in, the changed barcodes' backfill decided (rollup), nightly in full";
    return r.rollups.includes("rollup_mortgages_by_day")
      ? "incremental: each import's mortgage deltas folded in (rollups), nightly in full"
      : "incremental: the pieces an import touched are recomputed and their difference added (rollups), nightly in full";
  }
  if (r.staleAfter.includes("*")) return "materialized view: after every import, nightly";
  if (r.staleAfter.length === 0) return "materialized view: nightly and on demand";
  return `materialized view: after ${r.staleAfter.join(", ")} imports, nightly`;
}
