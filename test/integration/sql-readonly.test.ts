import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdhocSql, Roles, createPool, migrate, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

let pg0: RunningPostgres;
let owner: Pool;
let tmp: string;
let readonlyUrl: string;
const ESCAPED = "/tmp/leadpipe-sql-escape-proof";

/** Everything an escape could change: the catalogue, the roles and their settings, and every table's content. */
async function snapshot(): Promise<Record<string, string>> {
  const one = async (sql: string) => String(Object.values((await owner.query(sql)).rows[0] ?? {})[0]);
  const snap: Record<string, string> = {
    pg_class:
      await one(`SELECT md5(string_agg(concat_ws('|', c.oid, n.nspname, c.relname, c.relkind::text, coalesce(c.relacl::text, '')), ',' ORDER BY c.oid))
                           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`),
    pg_authid: await one(`SELECT md5(string_agg(a::text, ',' ORDER BY rolname)) FROM pg_authid a`),
    pg_db_role_setting: await one(
      `SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY s::text), '')) FROM pg_db_role_setting s`,
    ),
    pg_extension: await one(`SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension`),
    pg_largeobject_metadata: await one(`SELECT count(*) FROM pg_largeobject_metadata`),
    pg_proc_acl: await one(`SELECT md5(string_agg(oid || coalesce(proacl::text, ''), ',' ORDER BY oid)) FROM pg_proc`),
    pg_database: await one(`SELECT md5(string_agg(d::text, ',' ORDER BY datname)) FROM pg_database d`),
  };
  const { rows: tables } = await owner.query<{ t: string }>(
    `SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = 'public' ORDER BY 1`,
  );
  for (const { t } of tables) {
    snap[t] = await one(
      `SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM ${t} x`,
    );
  }
  return snap;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-sql-"));
  chmodSync(tmp, 0o755); // the cluster stays here (not relocated under /var/tmp), removed with it
  pg0 = await startPostgres(path.join(tmp, "home", "pg"));
  owner = createPool(pg0.url, 2);
  await migrate(owner);
  await Roles.setRolePasswords(owner, {
    leadpipe_readonly: pg0.secrets.readonly,
    leadpipe_pipeline: pg0.secrets.pipeline,
  });
  readonlyUrl = Roles.urlAs(pg0.url, Roles.READONLY_ROLE, pg0.secrets.readonly);
  // A table created after the migrations, as a later migration would: readable through the default privileges.
  await owner.query(`CREATE TABLE canary (id int PRIMARY KEY, v text);
    INSERT INTO canary SELECT g, md5(g::text) FROM generate_series(1, 100) g`);
  rmSync(ESCAPED, { force: true });
}, 120_000);

afterAll(async () => {
  await owner?.end();
  await pg0?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (text: string, more: Partial<AdhocSql.AdhocOptions> = {}) =>
  AdhocSql.query(readonlyUrl, text, { timeoutMs: 5000, limit: 100, ...more });

/** Issue 22's escapes, each with what the first layer (the keyword check) and the server say. */
const ESCAPES: { sql: string; cli: RegExp; server: RegExp }[] = [
  { sql: "COMMIT; DELETE FROM canary", cli: /runs one query .*not COMMIT/, server: /exactly one statement/ },
  { sql: "SELECT 1; DELETE FROM canary", cli: /exactly one statement/, server: /exactly one statement/ },
  { sql: "DELETE FROM canary", cli: /not DELETE/, server: /read-only/ },
  {
    sql: "SET TRANSACTION READ WRITE; CREATE TABLE owned (x int); COMMIT",
    cli: /not SET/,
    server: /exactly one statement/,
  },
  { sql: "CREATE TABLE owned (x int)", cli: /not CREATE/, server: /read-only/ },
  { sql: "COMMIT; CREATE EXTENSION dblink", cli: /not COMMIT/, server: /exactly one statement/ },
  { sql: "CREATE EXTENSION dblink", cli: /not CREATE/, server: /read-only/ },
  {
    sql: "COMMIT; ALTER ROLE leadpipe_readonly SET statement_timeout = 0",
    cli: /not COMMIT/,
    server: /exactly one statement/,
  },
  { sql: "ALTER ROLE leadpipe_readonly SET statement_timeout = 0", cli: /not ALTER/, server: /read-only/ },
  { sql: `COPY (SELECT 1) TO PROGRAM 'id > ${ESCAPED}'`, cli: /not COPY/, server: /may not do this.*external program/ },
  { sql: `COPY canary TO '${ESCAPED}'`, cli: /not COPY/, server: /may not do this/ },
  {
    sql: "SELECT pg_read_file('/etc/passwd')",
    cli: /may not do this.*pg_read_file/,
    server: /may not do this.*pg_read_file/,
  },
  { sql: "SELECT pg_ls_dir('.')", cli: /may not do this.*pg_ls_dir/, server: /may not do this.*pg_ls_dir/ },
  {
    sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend'",
    cli: /may not do this.*pg_terminate_backend/,
    server: /may not do this.*pg_terminate_backend/,
  },
  {
    sql: "SELECT pg_cancel_backend(pg_backend_pid())",
    cli: /may not do this.*pg_cancel_backend/,
    server: /may not do this.*pg_cancel_backend/,
  },
  { sql: "SET LOCAL statement_timeout = 0", cli: /not SET/, server: /^$/ },
  { sql: "SELECT lo_import('/etc/passwd')", cli: /may not do this.*lo_import/, server: /may not do this.*lo_import/ },
  { sql: `SELECT lo_export(1, '${ESCAPED}')`, cli: /may not do this.*lo_export/, server: /may not do this.*lo_export/ },
  {
    sql: "SELECT lo_from_bytea(0, 'x')",
    cli: /may not do this.*lo_from_bytea/,
    server: /may not do this.*lo_from_bytea/,
  },
  { sql: "SELECT pg_reload_conf()", cli: /may not do this.*pg_reload_conf/, server: /may not do this.*pg_reload_conf/ },
  {
    sql: "SELECT set_config('default_transaction_read_only', 'off', false), nextval('imports_seq_seq')",
    cli: /read-only|may not do this/,
    server: /read-only|may not do this/,
  },
  {
    sql: "/* a comment */ -- and another\n ( DELETE FROM canary )",
    cli: /not DELETE/,
    server: /syntax error|read-only/,
  },
];

describe("leadpipe sql: every escape refused, nothing changed", () => {
  it.each(ESCAPES)("$sql", async ({ sql, cli, server }) => {
    const before = await snapshot();
    await expect(run(sql)).rejects.toThrow(cli);
    if (server.source === "^$") {
      // Legal in itself (it only touches this transaction, then rolled back): the server runs it.
      await expect(run(sql, { skipKeywordCheck: true })).resolves.toMatchObject({ more: false });
    } else {
      await expect(run(sql, { skipKeywordCheck: true })).rejects.toThrow(server);
    }
    expect(await snapshot()).toEqual(before);
    expect(existsSync(ESCAPED)).toBe(false);
  });

  it("a timeout lifted inside the query itself still stops it (the client cancels)", async () => {
    const started = Date.now();
    await expect(
      run("SELECT set_config('statement_timeout', '0', true), pg_sleep(10)", { timeoutMs: 700 }),
    ).rejects.toThrow(/stopped: the statement ran past its 700 ms timeout/);
    expect(Date.now() - started).toBeLessThan(4000);
    // The server-side session is gone too: nothing of ours still sleeps.
    const { rows } = await owner.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(10)%' AND pid <> pg_backend_pid()`,
    );
    expect(rows[0].n).toBe(0);
  });

  it("never runs as a superuser", async () => {
    await expect(AdhocSql.query(pg0.url, "SELECT 1", { timeoutMs: 1000, limit: 1 })).rejects.toThrow(
      /never runs as a superuser \(connected as leadpipe\)/,
    );
  });
});

describe("the read-only role", () => {
  it("has what the design says and nothing more", async () => {
    const {
      rows: [r],
    } =
      await owner.query(`SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolconfig
                                               FROM pg_roles WHERE rolname = 'leadpipe_readonly'`);
    expect(r).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
    });
    expect(r.rolconfig).toEqual(
      expect.arrayContaining([
        "default_transaction_read_only=on",
        "statement_timeout=30s",
        "idle_in_transaction_session_timeout=2min",
      ]),
    );
    const { rows: grants } = await owner.query(
      `SELECT DISTINCT privilege_type FROM information_schema.role_table_grants WHERE grantee = 'leadpipe_readonly'`,
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(["SELECT"]);
    const { rows: memberOf } =
      await owner.query(`SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                                                    JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'leadpipe_readonly'`);
    expect(memberOf).toEqual([]);
    const dangerous = [
      "pg_read_file(text)",
      "pg_read_binary_file(text)",
      "pg_ls_dir(text)",
      "pg_stat_file(text)",
      "pg_reload_conf()",
      "lo_import(text)",
      "lo_export(oid,text)",
      "lo_get(oid)",
      "lo_from_bytea(oid,bytea)",
      "lo_open(oid,integer)",
      "pg_terminate_backend(integer,bigint)",
      "pg_cancel_backend(integer)",
      "pg_rotate_logfile()",
      "pg_promote(boolean,integer)",
    ];
    const { rows: exec } = await owner.query(
      `SELECT f, has_function_privilege('leadpipe_readonly', f, 'EXECUTE') AS may FROM unnest($1::text[]) f`,
      [dangerous],
    );
    expect(exec.filter((e) => e.may)).toEqual([]);
  });

  it("cannot persist a change to its own limits from a direct login, and migrate restates them", async () => {
    const c = new pg.Client({ connectionString: readonlyUrl });
    await c.connect();
    try {
      // Its sessions are read-only by default: ALTER ROLE fails there.
      await expect(c.query("ALTER ROLE leadpipe_readonly SET statement_timeout = 0")).rejects.toThrow(
        /read-only transaction/,
      );
      expect((await c.query("SHOW statement_timeout")).rows[0].statement_timeout).toBe("30s");
      // PostgreSQL lets a role change its own defaults from a read-write transaction; migrate puts them back.
      await c.query("BEGIN READ WRITE; ALTER ROLE leadpipe_readonly SET statement_timeout = 0; COMMIT");
    } finally {
      await c.end();
    }
    await migrate(owner);
    const {
      rows: [r],
    } = await owner.query(`SELECT rolconfig FROM pg_roles WHERE rolname = 'leadpipe_readonly'`);
    expect(r.rolconfig).toContain("statement_timeout=30s");
  });

  it("reads tables created after the migrations (default privileges), and cannot reach other databases' objects", async () => {
    expect((await run("SELECT count(*)::int AS n FROM canary")).rows).toEqual([{ n: 100 }]);
    await owner.query("CREATE TABLE later_table (x int); INSERT INTO later_table VALUES (7)");
    try {
      expect((await run("TABLE later_table")).rows).toEqual([{ x: 7 }]);
    } finally {
      await owner.query("DROP TABLE later_table");
    }
  });

  it("the pipeline role writes data but creates nothing", async () => {
    const url = Roles.urlAs(pg0.url, Roles.PIPELINE_ROLE, pg0.secrets.pipeline);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query("BEGIN");
      await c.query("INSERT INTO canary VALUES (1001, 'x')");
      await c.query("REFRESH MATERIALIZED VIEW report_imports_by_day");
      await c.query("ROLLBACK");
      await expect(c.query("CREATE TABLE pipeline_owned (x int)")).rejects.toThrow(
        /permission denied for schema public/,
      );
      await expect(c.query("SELECT pg_read_file('/etc/passwd')")).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  });
});

describe("rows: capped, and streamed with flat memory", () => {
  it("stops at the cap and says more rows exist; says nothing at exactly the cap", async () => {
    expect(await run("SELECT g FROM generate_series(1, 10) g", { limit: 5 })).toEqual({
      fields: ["g"],
      rows: [1, 2, 3, 4, 5].map((g) => ({ g })),
      more: true,
    });
    expect((await run("SELECT g FROM generate_series(1, 10) g", { limit: 10 })).more).toBe(false);
    expect((await run("SELECT g FROM generate_series(1, 10) g WHERE g = $1", { params: [3] })).rows).toEqual([
      { g: 3 },
    ]);
  });

  /** Runs the CLI as a process of its own and samples its resident memory from /proc. */
  async function cliJson(
    rows: number,
  ): Promise<{ lines: number; last: string; stderr: string; code: number | null; peakRssMb: number }> {
    const child = spawn(
      process.execPath,
      [
        "packages/local/bin/leadpipe.js",
        "sql",
        "--json",
        "--limit",
        "0",
        `SELECT g, md5(g::text) AS h FROM generate_series(1, ${rows}) g`,
      ],
      {
        env: { ...process.env, LEADPIPE_HOME: path.join(tmp, "home"), DATABASE_URL: pg0.url },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let lines = 0;
    let last = "";
    let stderr = "";
    let peak = 0;
    const sample = setInterval(() => {
      const m = /VmRSS:\s+(\d+) kB/.exec(
        (() => {
          try {
            return readFileSync(`/proc/${child.pid}/status`, "utf8");
          } catch {
            return "";
          }
        })(),
      );
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    }, 50);
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) lines++;
      last = (last + s).slice(-200);
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearInterval(sample);
    return { lines, last: last.trimEnd().split("\n").pop()!, stderr, code, peakRssMb: Math.round(peak) };
  }

  it("leadpipe sql --json streams 2M rows in the memory 200k rows take (flat)", async () => {
    const small = await cliJson(200_000);
    const big = await cliJson(2_000_000);
    for (const [r, n] of [
      [small, 200_000],
      [big, 2_000_000],
    ] as const) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.lines).toBe(n);
      expect(JSON.parse(r.last).g).toBe(n);
    }
    console.log(`leadpipe sql --json peak RSS: 200k rows ${small.peakRssMb} MB, 2M rows ${big.peakRssMb} MB`);
    expect(big.peakRssMb - small.peakRssMb).toBeLessThan(40);
  }, 180_000);
});

describe("AdhocSql.table: a whole answer as rows of values, through COPY", () => {
  const NASTY = `SELECT * FROM (VALUES
      (1, E'tab\\there', 'new\nline', E'back\\\\slash \\\\N', '', NULL::text, '"quoted", comma', 'ünïcødé ✓ 𝄞',
       9007199254740993::int8, -42::int4, -0.000100::numeric, DATE '2026-11-02', TIMESTAMPTZ '2026-11-02 10:00:00.123456Z',
       true, 0.1::float8, '{"a": [1, "x\\ty"]}'::json, ARRAY['a,b', NULL, 'c"d']::text[]),
      (2, E'\\\\N', 'cr' || chr(13) || ' ff' || chr(12) || ' bs' || chr(8) || ' vt' || chr(11) || chr(31), '=1+2', ' ', 'x', NULL, NULL,
       NULL, NULL, 'NaN'::numeric, DATE 'infinity', NULL, false, 'Infinity'::float8, NULL, '{}'::text[])
    ) AS t(n, a, b, c, d, e, f, g, i8, i4, num, day, ts, ok, dbl, js, arr) ORDER BY n`;

  it("gives each value as the query's row objects have it (escapes, NULL, every type's parser)", async () => {
    const objects = await AdhocSql.query(readonlyUrl, NASTY, { timeoutMs: 5000, limit: 0 });
    const arrays = await AdhocSql.table(readonlyUrl, NASTY, { timeoutMs: 5000, limit: 0 });
    expect(arrays.fields).toEqual(objects.fields);
    expect(arrays.rows).toEqual(objects.rows.map((r) => objects.fields.map((f) => r[f])));
    expect(arrays.more).toBe(false);
    expect(arrays.rows[0]!.slice(1, 5)).toEqual(["tab\there", "new\nline", "back\\slash \\N", ""]);
    expect(arrays.rows[1]![1]).toBe("\\N");
    expect(arrays.rows[0]![5]).toBeNull();
  });

  it("caps the rows and says more exist; with parameters it reads through the cursor", async () => {
    const sql = "SELECT g, g::text || 'x' AS t FROM generate_series(1, 10) g ORDER BY g";
    expect(await AdhocSql.table(readonlyUrl, sql, { timeoutMs: 5000, limit: 3 })).toEqual({
      fields: ["g", "t"],
      rows: [
        [1, "1x"],
        [2, "2x"],
        [3, "3x"],
      ],
      more: true,
    });
    expect((await AdhocSql.table(readonlyUrl, sql, { timeoutMs: 5000, limit: 10 })).more).toBe(false);
    expect(
      await AdhocSql.table(readonlyUrl, "SELECT g FROM generate_series(1, 10) g WHERE g = $1", {
        timeoutMs: 5000,
        limit: 0,
        params: [4],
      }),
    ).toEqual({ fields: ["g"], rows: [[4]], more: false });
    expect(await AdhocSql.table(readonlyUrl, "SELECT 1 AS one WHERE false", { timeoutMs: 5000, limit: 0 })).toEqual({
      fields: ["one"],
      rows: [],
      more: false,
    });
  });

  it("keeps the read-only layers: no superuser, one statement, read only, the timeout", async () => {
    await expect(AdhocSql.table(pg0.url, "SELECT 1", { timeoutMs: 1000, limit: 0 })).rejects.toThrow(
      /never runs as a superuser/,
    );
    await expect(
      AdhocSql.table(readonlyUrl, "SELECT 1) TO STDOUT; DELETE FROM canary; COPY (SELECT 1", {
        timeoutMs: 1000,
        limit: 0,
      }),
    ).rejects.toThrow(/one statement/);
    await expect(
      AdhocSql.table(readonlyUrl, "DELETE FROM canary RETURNING id", { timeoutMs: 1000, limit: 0 }),
    ).rejects.toThrow(/refused/);
    await expect(
      AdhocSql.table(readonlyUrl, "SELECT set_config('statement_timeout', '0', true), pg_sleep(10)", {
        timeoutMs: 700,
        limit: 0,
      }),
    ).rejects.toThrow(/stopped: the statement ran past its 700 ms timeout/);
    expect((await owner.query("SELECT count(*)::int AS n FROM canary")).rows[0].n).toBe(100);
  });
});

describe("secrets on disk", () => {
  it("the home's passwords file is readable by its owner only", () => {
    expect(statSync(path.join(tmp, "home", "secrets.json")).mode & 0o777).toBe(0o600);
  });
});
