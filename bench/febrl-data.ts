/**
 * The FEBRL benchmark files (fixtures/febrl/, BSD-3-Clause, see SOURCES.md there) as contacts
 * with their truth: `rec-<n>-org` and `rec-<n>-dup-<k>` are one person <n>.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import type { People } from "@leadpipe/core";

export const FEBRL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "febrl");

export interface FebrlRecord {
  id: string;
  person: number;
  input: People.ContactInput;
}

/**
 * A FEBRL file's rows. The street number and street are one street line, the suburb is the city;
 * `ssn` declares soc_sec_id as an identifier (as a user would with `--identifiers soc_sec_id`).
 */
export function readFebrl(file: string, options: { ssn?: boolean } = {}): FebrlRecord[] {
  const rows = parse(readFileSync(path.join(FEBRL_DIR, file)), {
    columns: true,
    trim: true,
    bom: true,
    skip_empty_lines: true,
  }) as Record<string, string>[];
  return rows.map((r) => {
    const m = /^rec-(\d+)-/.exec(r.rec_id ?? "");
    if (!m) throw new Error(`${file}: rec_id "${r.rec_id}" is not rec-<n>-org or rec-<n>-dup-<k>`);
    const street = [r.street_number, r.address_1].filter((x) => x).join(" ");
    const input: People.ContactInput = {
      first_name: r.given_name || null,
      last_name: r.surname || null,
      street: street || null,
      city: r.suburb || null,
      zip: r.postcode || null,
      state: r.state || null,
      dob: r.date_of_birth || null,
    };
    if (options.ssn && r.soc_sec_id) input.ids = { soc_sec_id: r.soc_sec_id };
    return { id: r.rec_id!, person: Number(m[1]), input };
  });
}
