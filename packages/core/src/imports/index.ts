export { register, type LandedObject } from "./register";
export { validate, sniffCsv } from "./validate";
export { checksum } from "./checksum";
export { stage, chunkKey, chunkText, LINE_COLUMN, type ChunkRef, type ChunkRange } from "./stage";
export { processChunk, parseChunk, type ChunkCounts, type RowReject } from "./process-chunk";
export { finalize, reconciliationOf, type Reconciliation } from "./finalize";
export { markFailed, errorMessage, type StepError } from "./mark-failed";
export * as Lifecycle from "./lifecycle";
export { recover, resume, type Recovery, type RecoverOptions } from "./recover";
export { getImport, chunkTotals, TERMINAL, type ImportRow, type ImportStatus, type ChunkTotals } from "./repo";
export { replay, ReplayRefusedError, type ReplayMode, type ReplayRequest, type ReplayResult } from "./replay";
export {
  writeReports,
  successReport,
  checklist,
  errorReportLines,
  reportsPrefix,
  REPORT_FILES,
  SUCCESS_HEADER,
  ERROR_HEADER,
  type Checklist,
} from "./reports";
export {
  describe,
  replayCommand,
  RECENT_IMPORTS_SQL,
  type ImportDescription,
  type ImportProgress,
  type RejectSummary,
} from "./describe";
