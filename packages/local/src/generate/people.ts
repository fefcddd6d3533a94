import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { People, csvLine } from "@leadpipe/core";
import { rng, seedOf, type Rng } from "./random";

/**
 * Synthetic US people with known truth, for the accuracy harness and the contacts source: each
 * person is written as one or more records with the noise real lists have (typos, nicknames,
 * transposed digits, moves, changed phones, married names, missing fields, formats), and
 * households share an address, a surname and often a landline (the hard negatives).
 */

const FIRST_M = (
  "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew Anthony Mark Donald Steven Andrew Paul Joshua " +
  "Kenneth Kevin Brian Timothy Ronald George Jason Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel " +
  "Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter Christian " +
  "Keith Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne " +
  "Randy Vincent Mason Roy Ralph Bobby Russell Bradley Philip Eugene Carlos Luis Wei Raj Ahmed Hiroshi Dmitri Kwame"
).split(" ");
const FIRST_F = (
  "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle " +
  "Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine " +
  "Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith " +
  "Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber " +
  "Denise Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Priya Fatima Mei Yuki Olga Ana"
).split(" ");
const LAST = (
  "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin " +
  "Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker " +
  "Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers " +
  "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz " +
  "Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes " +
  "Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson " +
  "Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman " +
  "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black " +
  "Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn " +
  "O'Brien O'Connor McCarthy Van_der_Berg De_la_Cruz Smith-Jones Garcia-Lopez St._John MacLeod D'Angelo"
)
  .split(" ")
  .map((n) => n.replaceAll("_", " "));
const STREETS = (
  "Oak Maple Cedar Pine Elm Washington Lake Hill Sunset Park Main Church Highland Meadow River Forest Lincoln Jefferson Madison Franklin " +
  "Walnut Chestnut Spruce Willow Birch Cherry Magnolia Dogwood Hickory Sycamore Ridge Valley Spring Mill School Center North Prospect Broad Market " +
  "Saint_Charles Saint_Marks Martin_Luther_King Country_Club Lakeview Fairview Glenwood Riverside Woodland Hillcrest"
)
  .split(" ")
  .map((n) => n.replaceAll("_", " "));
const SUFFIX_FORMS: [string, string][] = [
  ["Street", "St"],
  ["Avenue", "Ave"],
  ["Road", "Rd"],
  ["Drive", "Dr"],
  ["Lane", "Ln"],
  ["Court", "Ct"],
  ["Boulevard", "Blvd"],
  ["Way", "Way"],
  ["Place", "Pl"],
  ["Terrace", "Ter"],
  ["Circle", "Cir"],
  ["Parkway", "Pkwy"],
];
const CITIES: [string, string, string][] = [
  ["Austin", "TX", "787"],
  ["Dallas", "TX", "752"],
  ["Houston", "TX", "770"],
  ["Boston", "MA", "021"],
  ["Denver", "CO", "802"],
  ["Seattle", "WA", "981"],
  ["Atlanta", "GA", "303"],
  ["Chicago", "IL", "606"],
  ["Miami", "FL", "331"],
  ["Orlando", "FL", "328"],
  ["Phoenix", "AZ", "850"],
  ["Portland", "OR", "972"],
  ["Columbus", "OH", "432"],
  ["Charlotte", "NC", "282"],
  ["Nashville", "TN", "372"],
  ["Salt Lake City", "UT", "841"],
  ["St. Louis", "MO", "631"],
  ["Minneapolis", "MN", "554"],
  ["Detroit", "MI", "482"],
  ["Philadelphia", "PA", "191"],
  ["Baltimore", "MD", "212"],
  ["Newark", "NJ", "071"],
  ["San Diego", "CA", "921"],
  ["Sacramento", "CA", "958"],
  ["Las Vegas", "NV", "891"],
  ["Albuquerque", "NM", "871"],
  ["Omaha", "NE", "681"],
  ["Kansas City", "MO", "641"],
  ["Indianapolis", "IN", "462"],
  ["Milwaukee", "WI", "532"],
  ["Louisville", "KY", "402"],
  ["Memphis", "TN", "381"],
  ["Richmond", "VA", "232"],
  ["Raleigh", "NC", "276"],
  ["Tampa", "FL", "336"],
  ["Pittsburgh", "PA", "152"],
  ["Cincinnati", "OH", "452"],
  ["Buffalo", "NY", "142"],
  ["Hartford", "CT", "061"],
  ["Providence", "RI", "029"],
];
const DOMAINS = [
  "gmail.com",
  "yahoo.com",
  "hotmail.com",
  "outlook.com",
  "aol.com",
  "icloud.com",
  "comcast.net",
  "example.org",
];
const AREA: Record<string, string[]> = {};

/** Skewed pick: low indexes are more common (names follow a Zipf-like law). */
const zipf = (r: Rng, xs: readonly string[]) => xs[Math.min(xs.length - 1, Math.floor(xs.length * r.next() ** 2.2))]!;
const pad = (n: number, w: number) => String(n).padStart(w, "0");

export interface TruePerson {
  id: number;
  first: string;
  middle: string | null;
  last: string;
  dob: string | null;
  email: string | null;
  phone: string | null; // 10 digits
  home: Home;
}
interface Home {
  house: string;
  street: string;
  suffix: number;
  unit: string | null;
  city: number;
  zip5: string;
  zip4: string | null;
}

function newHome(r: Rng): Home {
  const city = r.int(0, CITIES.length - 1);
  return {
    house: String(r.int(1, 9999)),
    street: r.pick(STREETS),
    suffix: r.int(0, SUFFIX_FORMS.length - 1),
    unit: r.chance(0.12) ? `${r.int(1, 40)}${r.pick(["", "A", "B"])}` : null,
    city,
    zip5: CITIES[city]![2] + pad(r.int(1, 99), 2),
    zip4: r.chance(0.4) ? pad(r.int(1, 9999), 4) : null,
  };
}
function newPhone(r: Rng, city: number): string {
  const zip3 = CITIES[city]![2];
  // Area codes are never N11 service codes (211 … 911): those are no phone number.
  const areas = (AREA[zip3] ??= [0, 1, 2]
    .map((k) => String(200 + ((Number(zip3) * 7 + k * 131) % 790)))
    .map((a) => (a.endsWith("11") ? `${a.slice(0, 2)}2` : a)));
  const exchange = `${r.int(2, 9)}${pad(r.int(0, 99), 2)}`;
  return `${r.pick(areas)}${exchange.endsWith("11") ? `${exchange[0]}12` : exchange}${pad(r.int(0, 9999), 4)}`;
}
function newPerson(r: Rng, id: number, mailboxes: Set<string>, household?: TruePerson): TruePerson {
  const female = r.chance(0.5);
  let first = zipf(r, female ? FIRST_F : FIRST_M);
  // Family members do not share a given name (nor are they one letter apart).
  while (household && first.slice(0, 3) === household.first.slice(0, 3)) first = zipf(r, female ? FIRST_F : FIRST_M);
  const last = household ? household.last : zipf(r, LAST);
  const year = r.int(1935, 2004);
  const dob = r.chance(0.8) ? `${year}-${pad(r.int(1, 12), 2)}-${pad(r.int(1, 28), 2)}` : null;
  const domain = r.pick(DOMAINS);
  let mailbox = `${first.toLowerCase()}${r.pick([".", "_", ""])}${last.toLowerCase().replace(/[^a-z]/g, "")}${r.chance(0.6) ? r.int(1, 9999) : ""}`;
  // An address belongs to one person.
  while (mailboxes.has(`${mailbox}@${domain}`)) mailbox += r.int(0, 9);
  mailboxes.add(`${mailbox}@${domain}`);
  const home = household ? household.home : newHome(r);
  return {
    id,
    first,
    middle: r.chance(0.3) ? zipf(r, female ? FIRST_F : FIRST_M) : null,
    last,
    dob,
    email: r.chance(0.65) ? `${mailbox}@${domain}` : null,
    // A household often shares its landline.
    phone: household?.phone && r.chance(0.5) ? household.phone : r.chance(0.85) ? newPhone(r, home.city) : null,
    home,
  };
}

function typo(r: Rng, s: string): string {
  if (s.length < 3) return s;
  const i = r.int(1, s.length - 2);
  switch (r.int(0, 3)) {
    case 0:
      return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // transpose
    case 1:
      return s.slice(0, i) + s.slice(i + 1); // drop
    case 2:
      return s.slice(0, i) + s[i] + s.slice(i); // double
    default:
      return s.slice(0, i) + "aeiourstnl"[r.int(0, 9)] + s.slice(i + 1); // substitute
  }
}
/** Two neighbouring digits of the line number swapped (the area code and exchange stay valid). */
const transposeDigits = (r: Rng, d: string) => {
  const i = r.int(d.length - 4, d.length - 2);
  return d.slice(0, i) + d[i + 1] + d[i] + d.slice(i + 2);
};

function formatPhone(r: Rng, d: string): string {
  if (r.chance(0.04)) return `${d.slice(3, 6)}-${d.slice(6)}`; // local, no area code
  switch (r.int(0, 4)) {
    case 0:
      return `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`;
    case 1:
      return `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`;
    case 2:
      return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`;
    case 3:
      return `+1 ${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`;
    default:
      return d;
  }
}
function formatDob(r: Rng, iso: string): string {
  const [y, m, d] = iso.split("-") as [string, string, string];
  switch (r.int(0, 4)) {
    case 0:
      return iso;
    case 1:
      return `${m}/${d}/${y}`;
    case 2:
      return `${Number(m)}/${Number(d)}/${y.slice(2)}`;
    case 3:
      return `${["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Number(m) - 1]} ${Number(d)}, ${y}`;
    default:
      return `${y}${m}${d}`;
  }
}
const caseOf = (r: Rng, s: string) => (r.chance(0.1) ? s.toUpperCase() : r.chance(0.05) ? s.toLowerCase() : s);

/**
 * One noisy record of a person. A record that moved keeps a phone or e-mail it had before, and
 * every record carries at least two of e-mail, phone, address and date of birth: a record with
 * every contact point changed is indistinguishable from a namesake, for people as for a matcher.
 */
function recordOf(r: Rng, p: TruePerson, clean = false): People.ContactInput {
  let first = p.first;
  const nicks = People.nicknamesOf(first.toLowerCase());
  if (!clean && nicks.length && r.chance(0.15)) first = r.pick(nicks).replace(/^./, (c) => c.toUpperCase());
  else if (!clean && r.chance(0.06)) first = typo(r, first);
  let last = p.last;
  if (!clean && r.chance(0.06)) last = typo(r, last);
  else if (!clean && r.chance(0.02)) last = zipf(r, LAST); // married name
  const moved = !clean && (p.phone !== null || p.email !== null) && r.chance(0.15);
  const home = moved ? newHome(r) : p.home;
  let phone = p.phone;
  const newNumber = !clean && phone !== null && !(moved && p.email === null) && r.chance(0.1);
  if (newNumber) phone = newPhone(r, home.city);
  else if (!clean && phone && r.chance(0.03)) phone = transposeDigits(r, phone);
  let email = p.email;
  if (!clean && email && r.chance(0.02)) {
    // A letter typo; one that breaks the address (a doubled or trailing dot) is a different kind of error, planted elsewhere.
    const mistyped = typo(r, email.split("@")[0]!) + "@" + email.split("@")[1];
    if (People.standardizeEmail(mistyped).email) email = mistyped;
  }
  let dob = p.dob;
  if (!clean && dob && r.chance(0.02)) dob = dob.slice(0, 3) + ((Number(dob[3]) + 1) % 10) + dob.slice(4);
  const keep = {
    email: email !== null && r.chance(0.7),
    phone: phone !== null && r.chance(0.75),
    address: r.chance(0.9),
    dob: dob !== null && r.chance(0.7),
  };
  if (moved) {
    // The contact point that stayed the same across the move.
    if (p.email !== null && (newNumber || p.phone === null || r.chance(0.5))) keep.email = true;
    else keep.phone = true;
  }
  const present = () => Number(keep.email) + Number(keep.phone) + Number(keep.address) + Number(keep.dob);
  for (const f of ["address", "dob", "phone", "email"] as const) {
    if (present() >= 2) break;
    if (f === "address" || (f === "dob" ? dob : f === "phone" ? phone : email) !== null) keep[f] = true;
  }
  const [city, state] = CITIES[home.city]!;
  const suffix = SUFFIX_FORMS[home.suffix]!;
  const street = `${home.house} ${home.street} ${r.chance(0.5) ? suffix[0] : suffix[1]}${home.unit ? r.pick([`, Apt ${home.unit}`, ` Apartment ${home.unit}`, ` #${home.unit}`, ` Unit ${home.unit}`]) : ""}`;
  return {
    first_name: caseOf(r, first),
    middle_name: p.middle && r.chance(0.4) ? (r.chance(0.5) ? p.middle[0]! : p.middle) : null,
    last_name: caseOf(r, last),
    email: keep.email ? (r.chance(0.1) ? email!.toUpperCase() : email) : null,
    phone: keep.phone ? formatPhone(r, phone!) : null,
    street: keep.address ? caseOf(r, street) : null,
    city: keep.address && r.chance(0.95) ? caseOf(r, city) : null,
    state: keep.address && r.chance(0.95) ? state : null,
    zip:
      keep.address && r.chance(0.97)
        ? home.zip4 && r.chance(0.5)
          ? `${home.zip5}-${home.zip4}`
          : home.zip5.replace(/^0/, r.chance(0.1) ? "" : "0")
        : null,
    dob: keep.dob ? formatDob(r, dob!) : null,
  };
}

export interface SyntheticRecord {
  id: string;
  personId: number;
  input: People.ContactInput;
}

/**
 * `people` true people (ids from `firstPersonId`), each written 1–5 times (mean ≈ 1.9),
 * in shuffled order. Deterministic for (seed, people). `clean`: every record of a person spells
 * the same name, address, phone, e-mail and date of birth (no typos, nicknames, married names,
 * moves or new numbers; fields still go missing and formats still vary): the benchmark's
 * "clean data". The households, shared landlines and namesakes stay.
 */
export function* syntheticPeople(opts: {
  people: number;
  seed?: string;
  firstPersonId?: number;
  recordsPerPerson?: () => number;
  clean?: boolean;
}): Generator<SyntheticRecord> {
  const r = rng(seedOf(opts.seed ?? "people"));
  const first = opts.firstPersonId ?? 1;
  const persons: TruePerson[] = [];
  const mailboxes = new Set<string>();
  for (let i = 0; i < opts.people; i++) {
    const household = persons.length > 0 && r.chance(0.2) ? persons[persons.length - 1] : undefined;
    persons.push(newPerson(r, first + i, mailboxes, household));
  }
  // Write each person's records, then shuffle in windows so duplicates are spread but the generator stays streaming-friendly.
  const window: SyntheticRecord[] = [];
  let n = 0;
  const flush = function* (all: boolean) {
    for (let i = window.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [window[i], window[j]] = [window[j]!, window[i]!];
    }
    const keep = all ? 0 : Math.floor(window.length / 2);
    while (window.length > keep) yield window.pop()!;
  };
  for (const p of persons) {
    const copies =
      opts.recordsPerPerson?.() ?? (r.chance(0.5) ? 1 : r.chance(0.5) ? 2 : r.chance(0.6) ? 3 : r.int(4, 5));
    for (let c = 0; c < copies; c++) window.push({ id: `C-${++n}`, personId: p.id, input: recordOf(r, p, opts.clean) });
    if (window.length >= 20_000) yield* flush(false);
  }
  yield* flush(true);
}

export const CONTACT_HEADER = [
  "Contact ID",
  "First Name",
  "Middle",
  "Surname",
  "E-mail",
  "Mobile",
  "Street Address",
  "City",
  "State",
  "Postcode",
  "Date of Birth",
];

/** A contacts list file (CSV) of synthetic people; with `truth`, a person_id column for the harness. */
export async function writeContacts(
  path: string,
  opts: { people: number; seed?: string; truth?: boolean; badEvery?: number },
): Promise<number> {
  const out = createWriteStream(path);
  let buf = csvLine(opts.truth ? [...CONTACT_HEADER, "True Person"] : CONTACT_HEADER);
  let rows = 0;
  for (const rec of syntheticPeople(opts)) {
    rows++;
    const i = rec.input;
    const cells = [
      rec.id,
      i.first_name,
      i.middle_name,
      i.last_name,
      i.email,
      i.phone,
      i.street,
      i.city,
      i.state,
      i.zip,
      i.dob,
    ];
    if (opts.badEvery && rows % opts.badEvery === 0) cells[4] = "not-an-email@";
    buf += csvLine(opts.truth ? [...cells, rec.personId] : cells);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.end(buf);
  await once(out, "finish");
  return rows;
}
