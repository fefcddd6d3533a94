import type { SourceSpec } from "./spec";
import { channelField, dateOrTimestamp, rowSchema, text } from "./fields";
import { channelOf } from "../compliance/channels";
import { promotionTarget, sqlRule } from "./target";

/**
 * Campaign and touchpoint rows of a legacy database, written by `leadpipe migrate` (migration/):
 * each row carries `legacy_id` (source/table/primary key, the canonical row's lineage). The rules
 * (names made slugs, touchpoints resolved to the campaign and person record landed from the
 * legacy rows they name) are sql/functions/legacy_migration.sql.
 */
const csv = { format: "csv", delimiter: ",", encoding: "utf-8" } as const;

export const legacyCampaigns: SourceSpec = {
  name: "legacy-campaigns",
  partner: null,
  description: "Legacy campaign rows written by leadpipe migrate (legacy_id, name, description, channel, created_at)",
  schemaVersion: 1,
  fileName: /^legacy-campaigns.*\.csv$/i,
  reader: csv,
  columns: {
    legacy_id: "legacy_id",
    name: "name",
    description: "description",
    channel: "channel",
    created_at: "created_at",
  },
  row: rowSchema(
    {
      legacy_id: text({ required: true, max: 300 }),
      name: text({ required: true, max: 200 }),
      description: text({ max: 500 }),
      channel: channelField({ required: true }),
      created_at: dateOrTimestamp(),
    },
    (r) => ({ ...r, channel: channelOf(r.channel) }),
  ),
  target: promotionTarget({
    kind: "legacy_campaigns",
    columns: ["legacy_id", "name", "description", "channel", "created_at"],
    key: ["legacy_id"],
    promoteFn: "promote_legacy_campaigns",
    refuse: {
      when: "before",
      rule: sqlRule("SELECT source_row, field, value, reason FROM legacy_campaigns_refused($1, $2)"),
    },
  }),
};

export const legacyTouchpoints: SourceSpec = {
  name: "legacy-touchpoints",
  partner: null,
  description: "Legacy touchpoint rows written by leadpipe migrate (legacy_id, campaign, person, channel, touched_at)",
  schemaVersion: 1,
  fileName: /^legacy-touchpoints.*\.csv$/i,
  reader: csv,
  columns: {
    legacy_id: "legacy_id",
    campaign: "campaign",
    person: "person",
    channel: "channel",
    touched_at: "touched_at",
  },
  row: rowSchema(
    {
      legacy_id: text({ required: true, max: 300 }),
      campaign: text({ required: true, max: 300 }),
      person: text({ required: true, max: 300 }),
      channel: channelField({ required: true }),
      touched_at: dateOrTimestamp({ required: true }),
    },
    (r) => ({
      legacy_id: r.legacy_id,
      campaign_ref: r.campaign,
      person_ref: r.person,
      channel: channelOf(r.channel),
      touched_at: r.touched_at,
    }),
  ),
  target: promotionTarget({
    kind: "legacy_touchpoints",
    columns: ["legacy_id", "campaign_ref", "person_ref", "channel", "touched_at"],
    key: ["legacy_id"],
    promoteFn: "promote_legacy_touchpoints",
    refuse: {
      when: "before",
      rule: sqlRule("SELECT source_row, field, value, reason FROM legacy_touchpoints_refused($1, $2)"),
    },
  }),
};
