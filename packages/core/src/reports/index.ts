export { reports, get, markdown, rollupReports, viewsStaleAfter } from "./catalogue";
export type { Report } from "./catalogue";
export { markStale, refreshPending, refreshAll } from "./refresh";
export { show, list, query, parseFilter, type Filter, type RunQuery, type Shown } from "./read";
