export { openReader, redact, type LegacyReader, type LegacyTable } from "./readers";
export { castValue, castRow, repairText, zonedToUtc, type LegacyColumn, type ColumnKind } from "./cast";
export { readMappingFile, tableSpecs, describeSpecs, type MappingFile, type TableSpec } from "./mapping";
export {
  startRun,
  getRun,
  landTables,
  replayQuarantine,
  reconcile,
  summary,
  LEGACY_SOURCE,
  type RunOptions,
  type ReplayOptions,
  type Manifest,
  type LandedRange,
} from "./run";
