export { reports, get, markdown, rollupReports, viewsStaleAfter } from "./catalogue";
export type { Report } from "./catalogue";
export { markStale, refreshPending, refreshAll } from "./refresh";
export {
  show,
  table,
  list,
  query,
  parseFilter,
  type Filter,
  type RunQuery,
  type RunTable,
  type Shown,
  type Table,
} from "./read";
