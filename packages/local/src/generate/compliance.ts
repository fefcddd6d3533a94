import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { csvLine } from "@leadpipe/core";
import { CITIES, FIRST, LAST, rng, seedOf, type Rng } from "./random";
import type { DayFileWriter, DayOptions } from "./day";

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const customerId = (n: number) => `C${pad(n, 7)}`;
const TIERS = ["bronze", "silver", "gold", "platinum"];
const PRODUCTS = ["Cabin Week", "Lake House", "Weekend", "Day Pass"];

/** Deterministic customer attributes: the same customer has the same e-mail and phone in every file of every day. */
function customerOf(n: number) {
  const r = rng(seedOf(`customer:${n}`));
  const last = r
    .pick(LAST)
    .toLowerCase()
    .replace(/[^a-z]/g, "");
  return {
    email: r.chance(0.9) ? `${r.pick(FIRST).toLowerCase()}.${last}${n}@example.com` : "",
    phone: r.chance(0.6) ? `${r.int(201, 989)}-555-${pad(n % 10000, 4)}` : "",
    state: r.pick(CITIES)[1],
    tier: r.pick(TIERS),
  };
}

function isoOn(day: string, r: Rng): string {
  return `${day}T${pad(r.int(0, 23), 2)}:${pad(r.int(0, 59), 2)}:${pad(r.int(0, 59), 2)}Z`;
}

function daysBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
}

/** Writes `rows` lines made by `line(i, r)` after `header` (none for headerless files), buffered, seeded by (kind, day). */
async function writeFile(
  file: string,
  kind: string,
  o: DayOptions,
  header: string[] | null,
  rows: number,
  line: (i: number, r: Rng, bad: boolean) => (string | number)[],
): Promise<void> {
  const r = rng(seedOf(`${kind}:${o.day}`));
  const out = createWriteStream(file);
  let buf = header ? csvLine(header) : "";
  for (let i = 0; i < rows; i++) {
    const bad = o.badEvery > 0 && (i + 1) % o.badEvery === 0;
    const cells = line(i, r, bad);
    buf += header ? csvLine(cells) : `${cells.join(",")}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.end(buf);
  await once(out, "finish");
}

/** One file per compliance feed for `generate --day`: `rows` customers and bookings, the other feeds in proportion. */
export const complianceDayWriters: DayFileWriter[] = [
  {
    source: "customers",
    fileName: (day) => `customers-${day}.csv`,
    write: (file, o) =>
      writeFile(
        file,
        "customers",
        o,
        ["customer_id", "email", "home_state", "loyalty_tier", "is_active", "updated_at", "phone"],
        o.rows,
        (i, r, bad) => {
          const c = customerOf(i + 1);
          return [
            customerId(i + 1),
            c.email,
            c.state,
            c.tier,
            bad ? "maybe" : r.chance(0.9) ? "true" : "false",
            isoOn(o.day, r),
            c.phone,
          ];
        },
      ),
  },
  {
    source: "bookings",
    fileName: (day) => `bookings-${day}.csv`,
    write: (file, o) =>
      writeFile(
        file,
        "bookings",
        o,
        [
          "booking_id",
          "customer_id",
          "booking_date",
          "booking_amount",
          "booking_status",
          "product_name",
          "source_system",
        ],
        o.rows,
        (i, r, bad) => [
          `BK-${o.day.replaceAll("-", "")}-${pad(i + 1, 8)}`,
          customerId(r.int(1, o.rows)),
          daysBefore(o.day, r.int(0, 400)),
          bad ? "n/a" : `${r.int(20, 2000)}.${pad(r.int(0, 99), 2)}`,
          r.chance(0.8) ? "COMPLETED" : r.pick(["CANCELLED", "PENDING", "REFUNDED"]),
          r.pick(PRODUCTS),
          r.pick(["web", "app", "call-center"]),
        ],
      ),
  },
  {
    source: "consent-events",
    fileName: (day) => `consent_events-${day}.csv`,
    write: (file, o) =>
      writeFile(file, "consent", o, ["customer_id", "channel", "consent_status", "event_ts"], o.rows, (i, r, bad) => [
        customerId(i + 1),
        r.chance(0.8) ? "email" : "sms",
        bad ? "MAYBE" : r.chance(0.85) ? "OPT_IN" : "OPT_OUT",
        isoOn(o.day, r),
      ]),
  },
  {
    source: "suppressions",
    fileName: (day) => `suppressions-${day}.csv`,
    write: (file, o) =>
      writeFile(
        file,
        "suppressions",
        o,
        ["customer_id", "reason", "suppressed_at", "expires_at"],
        Math.ceil(o.rows / 20),
        (i, r, bad) => [
          customerId(r.int(1, o.rows)),
          r.pick(["complaint", "legal hold", "bounce", "fraud review"]),
          isoOn(o.day, r),
          bad ? "2001-01-01" : r.chance(0.5) ? "" : daysBefore(o.day, -r.int(1, 90)),
        ],
      ),
  },
  {
    source: "internal-opt-outs",
    fileName: (day) => `opt-outs-${day}.csv`,
    write: (file, o) =>
      writeFile(
        file,
        "opt-outs",
        o,
        ["channel", "value", "opted_out_at", "reason"],
        Math.ceil(o.rows / 50),
        (_i, r, bad) => {
          const c = customerOf(r.int(1, o.rows));
          const email = r.chance(0.5) && c.email !== "";
          return [
            email ? "email" : "call",
            bad ? "not-a-contact" : email ? c.email : c.phone || "512-555-0100",
            isoOn(o.day, r),
            r.pick(["unsubscribe link", "asked on a call", "complaint"]),
          ];
        },
      ),
  },
  {
    source: "dnc-additions",
    fileName: (day) => `dnc-additions-${day}.txt`,
    write: (file, o) =>
      writeFile(file, "dnc-additions", o, null, Math.ceil(o.rows / 10), (_i, r, bad) =>
        bad
          ? ["12345"]
          : r.chance(0.5)
            ? [`${r.int(201, 989)}${r.int(200, 999)}${pad(r.int(0, 9999), 4)}`]
            : [r.int(201, 989), `${r.int(200, 999)}${pad(r.int(0, 9999), 4)}`],
      ),
  },
];
