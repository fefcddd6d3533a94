import type { RequestContext } from "./context";
import { ADMINS, AUDITORS, MARKETERS, OPS, READERS, STEWARDS, type Role } from "./auth/roles";
import { running, todayPage } from "./pages/today";
import { importPage, importsCsv, importsPage, rejectsCsv, replay, reportFile, upload } from "./pages/imports";
import { reportCsv, reportPage, reportsPage } from "./pages/reports";
import { runSql, sqlCsv, sqlPage } from "./pages/sql";
import { handoff, leadsPage } from "./pages/leads";
import { compliancePage, riskPage } from "./pages/compliance";
import { mergeAction, overrideAction, peoplePage, personPage, unmergeAction } from "./pages/people";
import { audiencesPage, publish } from "./pages/audiences";
import { auditCsv, auditPage } from "./pages/audit";
import { addUserAction, disableUserAction, usersPage } from "./pages/users";
import { forcePull, pullsPage } from "./pages/pullers";
import { apiImport, apiImports, apiReplay, apiSql } from "./pages/api";

export interface Route {
  method: "GET" | "POST";
  path: string;
  /** The roles that may call it; everyone else gets 403 (and an audit entry), nobody without a login gets anything. */
  roles: readonly Role[];
  handle(x: RequestContext): Promise<Response>;
}

/**
 * Every page and action of the console, and who may use it: the one place authorization is declared
 * (test/integration/console-auth.test.ts walks it). Outside it only /login, /logout and /assets/* exist.
 */
export const routes: readonly Route[] = [
  { method: "GET", path: "/", roles: READERS, handle: todayPage },
  { method: "GET", path: "/fragments/running", roles: READERS, handle: running },
  { method: "GET", path: "/imports", roles: READERS, handle: importsPage },
  { method: "GET", path: "/imports/csv", roles: READERS, handle: importsCsv },
  { method: "POST", path: "/imports/upload", roles: OPS, handle: upload },
  { method: "GET", path: "/imports/:id", roles: READERS, handle: importPage },
  { method: "GET", path: "/imports/:id/rejects/csv", roles: READERS, handle: rejectsCsv },
  { method: "GET", path: "/imports/:id/files/:which", roles: READERS, handle: reportFile },
  { method: "POST", path: "/imports/:id/replay", roles: OPS, handle: replay },
  { method: "GET", path: "/pulls", roles: READERS, handle: pullsPage },
  { method: "POST", path: "/pulls/force", roles: OPS, handle: forcePull },
  { method: "GET", path: "/reports", roles: READERS, handle: reportsPage },
  { method: "GET", path: "/reports/:name", roles: READERS, handle: reportPage },
  { method: "GET", path: "/reports/:name/csv", roles: READERS, handle: reportCsv },
  { method: "GET", path: "/sql", roles: READERS, handle: sqlPage },
  { method: "POST", path: "/sql", roles: READERS, handle: runSql },
  { method: "POST", path: "/sql/csv", roles: READERS, handle: sqlCsv },
  { method: "GET", path: "/leads", roles: READERS, handle: leadsPage },
  { method: "POST", path: "/leads/handoff", roles: OPS, handle: handoff },
  { method: "GET", path: "/compliance", roles: READERS, handle: compliancePage },
  { method: "GET", path: "/compliance/risk", roles: READERS, handle: riskPage },
  { method: "GET", path: "/people", roles: READERS, handle: peoplePage },
  { method: "GET", path: "/people/:id", roles: READERS, handle: personPage },
  { method: "POST", path: "/people/merge", roles: STEWARDS, handle: mergeAction },
  { method: "POST", path: "/people/unmerge", roles: STEWARDS, handle: unmergeAction },
  { method: "POST", path: "/people/:id/override", roles: STEWARDS, handle: overrideAction },
  { method: "GET", path: "/audiences", roles: MARKETERS, handle: audiencesPage },
  { method: "POST", path: "/audiences/publish", roles: MARKETERS, handle: publish },
  { method: "GET", path: "/audit", roles: AUDITORS, handle: auditPage },
  { method: "GET", path: "/audit/csv", roles: AUDITORS, handle: auditCsv },
  { method: "GET", path: "/users", roles: ADMINS, handle: usersPage },
  { method: "POST", path: "/users", roles: ADMINS, handle: addUserAction },
  { method: "POST", path: "/users/disable", roles: ADMINS, handle: disableUserAction },
  // The CLI against a deployed stage (pages/api.ts): bearer tokens from POST /api/login.
  { method: "GET", path: "/api/imports", roles: READERS, handle: apiImports },
  { method: "GET", path: "/api/imports/:id", roles: READERS, handle: apiImport },
  { method: "POST", path: "/api/imports/:id/replay", roles: OPS, handle: apiReplay },
  { method: "POST", path: "/api/sql", roles: READERS, handle: apiSql },
];

/** Served without a login: the login page, its form, and the two static assets. */
export const PUBLIC_PATHS = [
  "GET /login",
  "POST /login",
  "POST /api/login",
  "GET /favicon.ico",
  "GET /assets/console.css",
  "GET /assets/htmx-2.0.11.min.js",
] as const;
