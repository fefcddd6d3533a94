export {
  reports,
  get,
  markdown,
  materializedViews,
  rollupReports,
  viewsStaleAfter,
  UnknownReportError,
} from "./catalogue";
export type { Report, ReportColumn, Refresh } from "./catalogue";
export { markStale, refreshPending, refreshAll, type RefreshResult } from "./refresh";
export {
  show,
  list,
  query,
  parseFilter,
  dataAsOf,
  ReportFilterError,
  type Filter,
  type RunQuery,
  type Shown,
} from "./read";
export { loadZipCounties, zipCounties, type ZipCounty } from "./geography";
