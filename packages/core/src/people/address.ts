/**
 * US street addresses into USPS Publication 28 standard forms: upper case, no punctuation,
 * street suffixes (Appendix C1), directionals, secondary unit designators (Appendix C2), state
 * abbreviations, ZIP / ZIP+4.
 */
export interface Address {
  raw: string;
  /** The delivery line in Pub 28 form: "123 N MAIN ST APT 4B". */
  line1: string | null;
  number: string | null;
  predir: string | null;
  street: string | null;
  suffix: string | null;
  postdir: string | null;
  unitType: string | null;
  unit: string | null;
  city: string | null;
  state: string | null;
  zip5: string | null;
  zip4: string | null;
  problems: string[];
}

// Pub 28 C1: suffix variants → standard abbreviation (the most common of the ~200).
const SUFFIX_GROUPS: Record<string, string> = {
  ALY: "ALLEY ALLEE ALLY",
  ANX: "ANNEX ANEX ANNX",
  ARC: "ARCADE",
  AVE: "AVENUE AV AVEN AVENU AVN AVNUE",
  BCH: "BEACH",
  BLF: "BLUFF BLUF",
  BLVD: "BOULEVARD BOUL BOULV",
  BND: "BEND",
  BR: "BRANCH BRNCH",
  BRG: "BRIDGE BRDGE",
  BRK: "BROOK",
  BYP: "BYPASS BYPA BYPAS BYPS",
  CIR: "CIRCLE CIRC CIRCL CRCL CRCLE",
  CLB: "CLUB",
  CLF: "CLIFF",
  CMN: "COMMON",
  COR: "CORNER",
  CPE: "CAPE",
  CRES: "CRESCENT CRSENT CRSNT",
  CRK: "CREEK",
  CSWY: "CAUSEWAY CAUSWA",
  CT: "COURT CRT",
  CTR: "CENTER CEN CENT CENTR CENTRE CNTER CNTR",
  CTS: "COURTS",
  CV: "COVE",
  CYN: "CANYON CANYN CNYN",
  DR: "DRIVE DRIV DRV",
  EST: "ESTATE",
  ESTS: "ESTATES",
  EXPY: "EXPRESSWAY EXP EXPR EXPRESS EXPW",
  EXT: "EXTENSION EXTN EXTNSN",
  FLD: "FIELD",
  FLDS: "FIELDS",
  FLS: "FALLS",
  FRD: "FORD",
  FRST: "FOREST FORESTS",
  FRY: "FERRY FRRY",
  FRK: "FORK",
  FT: "FORT FRT",
  FWY: "FREEWAY FREEWY FRWAY FRWY",
  GDN: "GARDEN GARDN GRDEN GRDN",
  GDNS: "GARDENS GRDNS",
  GLN: "GLEN",
  GRN: "GREEN",
  GRV: "GROVE GROV",
  HBR: "HARBOR HARB HARBR HRBOR",
  HL: "HILL",
  HLS: "HILLS",
  HOLW: "HOLLOW HLLW HOLLOWS HOLWS",
  HTS: "HEIGHTS HT",
  HVN: "HAVEN",
  HWY: "HIGHWAY HIGHWY HIWAY HIWY HWAY",
  IS: "ISLAND ISLND",
  JCT: "JUNCTION JCTION JCTN JUNCTN",
  KNL: "KNOLL KNOL",
  LK: "LAKE",
  LKS: "LAKES",
  LN: "LANE",
  LNDG: "LANDING LNDNG",
  LOOP: "LOOPS",
  MALL: "MALL",
  MDW: "MEADOW",
  MDWS: "MEADOWS MEDOWS",
  MNR: "MANOR",
  MTN: "MOUNTAIN MNTAIN MNTN MOUNTIN MTIN",
  MT: "MOUNT MNT",
  ORCH: "ORCHARD ORCHRD",
  OVAL: "OVL",
  PARK: "PRK PARKS",
  PASS: "PASS",
  PATH: "PATHS",
  PIKE: "PIKES",
  PKWY: "PARKWAY PARKWY PKWAY PKY PARKWAYS PKWYS",
  PL: "PLACE",
  PLZ: "PLAZA PLZA",
  PNE: "PINE",
  PNES: "PINES",
  PT: "POINT",
  PTS: "POINTS",
  RDG: "RIDGE RDGE",
  RD: "ROAD",
  RDS: "ROADS",
  RIV: "RIVER RVR RIVR",
  RNCH: "RANCH RANCHES RNCHS",
  ROW: "ROW",
  RTE: "ROUTE",
  RUN: "RUN",
  SHR: "SHORE SHOAR",
  SPG: "SPRING SPNG SPRNG",
  SQ: "SQUARE SQR SQRE SQU",
  ST: "STREET STRT STR",
  STA: "STATION STATN STN",
  TER: "TERRACE TERR",
  TRCE: "TRACE TRACES",
  TRL: "TRAIL TRAILS TRLS",
  TPKE: "TURNPIKE TRNPK TURNPK",
  VIA: "VIADUCT VDCT VIADCT",
  VIS: "VISTA VIST VST VSTA",
  VLG: "VILLAGE VILL VILLAG VILLG VILLIAGE",
  VL: "VILLE",
  VLY: "VALLEY VALLY VLLY",
  WALK: "WALKS",
  WAY: "WY",
  XING: "CROSSING CRSSNG",
};
const SUFFIX = new Map<string, string>();
for (const [std, variants] of Object.entries(SUFFIX_GROUPS)) {
  SUFFIX.set(std, std);
  for (const v of variants.split(" ")) SUFFIX.set(v, std);
}

const DIRECTIONS: Record<string, string> = {
  N: "N",
  NORTH: "N",
  S: "S",
  SOUTH: "S",
  E: "E",
  EAST: "E",
  W: "W",
  WEST: "W",
  NE: "NE",
  NORTHEAST: "NE",
  NW: "NW",
  NORTHWEST: "NW",
  SE: "SE",
  SOUTHEAST: "SE",
  SW: "SW",
  SOUTHWEST: "SW",
};

// Pub 28 C2: secondary unit designators.
const UNIT_GROUPS: Record<string, string> = {
  APT: "APARTMENT APT",
  BSMT: "BASEMENT",
  BLDG: "BUILDING BLD",
  DEPT: "DEPARTMENT",
  FL: "FLOOR FLR",
  FRNT: "FRONT",
  HNGR: "HANGAR",
  KEY: "KEY",
  LBBY: "LOBBY",
  LOT: "LOT",
  LOWR: "LOWER",
  OFC: "OFFICE",
  PH: "PENTHOUSE",
  PIER: "PIER",
  REAR: "REAR",
  RM: "ROOM",
  SIDE: "SIDE",
  SLIP: "SLIP",
  SPC: "SPACE",
  STOP: "STOP",
  STE: "SUITE STE",
  TRLR: "TRAILER",
  UNIT: "UNIT",
  UPPR: "UPPER",
};
const UNIT = new Map<string, string>();
for (const [std, variants] of Object.entries(UNIT_GROUPS)) {
  UNIT.set(std, std);
  for (const v of variants.split(" ")) UNIT.set(v, std);
}
/** Designators that need no number after them. */
const UNIT_WITHOUT_NUMBER = new Set(["BSMT", "FRNT", "LBBY", "LOWR", "OFC", "PH", "REAR", "SIDE", "UPPR"]);

const STATE_NAMES: Record<string, string> = {
  ALABAMA: "AL",
  ALASKA: "AK",
  ARIZONA: "AZ",
  ARKANSAS: "AR",
  CALIFORNIA: "CA",
  COLORADO: "CO",
  CONNECTICUT: "CT",
  DELAWARE: "DE",
  "DISTRICT OF COLUMBIA": "DC",
  FLORIDA: "FL",
  GEORGIA: "GA",
  HAWAII: "HI",
  IDAHO: "ID",
  ILLINOIS: "IL",
  INDIANA: "IN",
  IOWA: "IA",
  KANSAS: "KS",
  KENTUCKY: "KY",
  LOUISIANA: "LA",
  MAINE: "ME",
  MARYLAND: "MD",
  MASSACHUSETTS: "MA",
  MICHIGAN: "MI",
  MINNESOTA: "MN",
  MISSISSIPPI: "MS",
  MISSOURI: "MO",
  MONTANA: "MT",
  NEBRASKA: "NE",
  NEVADA: "NV",
  "NEW HAMPSHIRE": "NH",
  "NEW JERSEY": "NJ",
  "NEW MEXICO": "NM",
  "NEW YORK": "NY",
  "NORTH CAROLINA": "NC",
  "NORTH DAKOTA": "ND",
  OHIO: "OH",
  OKLAHOMA: "OK",
  OREGON: "OR",
  PENNSYLVANIA: "PA",
  "RHODE ISLAND": "RI",
  "SOUTH CAROLINA": "SC",
  "SOUTH DAKOTA": "SD",
  TENNESSEE: "TN",
  TEXAS: "TX",
  UTAH: "UT",
  VERMONT: "VT",
  VIRGINIA: "VA",
  WASHINGTON: "WA",
  "WEST VIRGINIA": "WV",
  WISCONSIN: "WI",
  WYOMING: "WY",
  "PUERTO RICO": "PR",
  "VIRGIN ISLANDS": "VI",
  GUAM: "GU",
  "AMERICAN SAMOA": "AS",
  "NORTHERN MARIANA ISLANDS": "MP",
};
const STATE_CODES = new Set([...Object.values(STATE_NAMES), "AA", "AE", "AP"]);

/** A state name or code → its two-letter code, or null. */
export function standardizeState(raw: string): string | null {
  const s = raw.trim().toUpperCase().replace(/\./g, "").replace(/\s+/g, " ");
  if (STATE_CODES.has(s)) return s;
  return STATE_NAMES[s] ?? null;
}

/** ZIP or ZIP+4 in any common writing; a 3- or 4-digit ZIP had its leading zeros eaten by a spreadsheet. */
export function standardizeZip(raw: string): { zip5: string; zip4: string | null } | null {
  const s = raw.trim();
  const m = /^(\d{3,5})(?:[-\s]?(\d{4}))?$/.exec(s);
  if (!m) return null;
  if (m[1]!.length < 5 && m[2]) return null;
  return { zip5: m[1]!.padStart(5, "0"), zip4: m[2] ?? null };
}

const words = (s: string) =>
  s
    .toUpperCase()
    .replace(/[.,]/g, " ")
    .replace(/\s+#\s*/g, " # ")
    .replace(/#(?=\S)/g, "# ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);

/** A city in USPS form: upper case, "St."/"Ft."/"Mt." spelled as USPS does ("ST LOUIS" → "SAINT LOUIS"). */
export function standardizeCity(raw: string): string | null {
  const w = words(raw);
  if (w.length === 0) return null;
  if (w.length > 1) {
    if (w[0] === "ST") w[0] = "SAINT";
    else if (w[0] === "FT") w[0] = "FORT";
    else if (w[0] === "MT") w[0] = "MOUNT";
  }
  return w.join(" ");
}

/**
 * Parses one delivery line ("123 N. Main Street, Apt 4B") into Pub 28 parts. "St" is Saint
 * when a street name follows it and Street when it ends the name; a unit may be written
 * "Apt 4B", "Suite 200", "#12" or "Unit C" and is always written after the street.
 */
export function parseStreet(raw: string): Omit<Address, "city" | "state" | "zip5" | "zip4"> {
  const out: Omit<Address, "city" | "state" | "zip5" | "zip4"> = {
    raw,
    line1: null,
    number: null,
    predir: null,
    street: null,
    suffix: null,
    postdir: null,
    unitType: null,
    unit: null,
    problems: [],
  };
  let w = words(raw);
  if (w.length === 0) return out;
  // Secondary unit: the last designator (or "#") and what follows it.
  for (let i = w.length - 1; i >= 1; i--) {
    const t = w[i]!;
    const designator = t === "#" ? "#" : UNIT.get(t);
    if (!designator) continue;
    const rest = w.slice(i + 1);
    if (rest.length === 1 || (rest.length === 0 && UNIT_WITHOUT_NUMBER.has(designator))) {
      // "STE" or "APT" right after the house number is a street, not a unit ("100 Apt Rd" is unlikely; keep it safe).
      if (i <= 1) break;
      out.unitType = designator;
      out.unit = rest[0]?.replace(/^#/, "") ?? null;
      w = w.slice(0, i);
    }
    break;
  }
  if (/^\d+[A-Z]?(-\d+)?$/.test(w[0]!) || /^\d+\/\d+$/.test(w[0]!)) out.number = w.shift()!;
  else out.problems.push("no house number");
  if (w.length > 1 && DIRECTIONS[w[0]!] && !(w.length === 2 && SUFFIX.has(w[1]!))) out.predir = DIRECTIONS[w.shift()!]!;
  if (w.length > 1 && DIRECTIONS[w.at(-1)!]) out.postdir = DIRECTIONS[w.pop()!]!;
  if (w.length > 1 && SUFFIX.has(w.at(-1)!)) out.suffix = SUFFIX.get(w.pop()!)!;
  // "ST" (or "SAINT") left inside the name is Saint: "ST CHARLES" → "SAINT CHARLES".
  w = w.map((t, i) => (t === "ST" && i < w.length - 1 ? "SAINT" : t));
  out.street = w.length ? w.join(" ") : null;
  if (!out.street) out.problems.push("no street name");
  const unit = out.unitType
    ? out.unitType === "#"
      ? `# ${out.unit}`
      : out.unit
        ? `${out.unitType} ${out.unit}`
        : out.unitType
    : null;
  out.line1 = [out.number, out.predir, out.street, out.suffix, out.postdir, unit].filter(Boolean).join(" ") || null;
  return out;
}

/** A whole address from its columns; a unit given in its own column joins the delivery line. */
export function standardizeAddress(parts: {
  street?: string | null;
  street2?: string | null;
  city?: string | null;
  state?: string | null;
  zip?: string | null;
}): Address {
  const line = [parts.street, parts.street2].filter((p) => p && p.trim()).join(" ");
  const street = parseStreet(line);
  const problems = street.problems;
  const state = parts.state?.trim() ? standardizeState(parts.state) : null;
  if (parts.state?.trim() && !state) problems.push(`unknown state "${parts.state.trim()}"`);
  const zip = parts.zip?.trim() ? standardizeZip(parts.zip) : null;
  if (parts.zip?.trim() && !zip) problems.push(`invalid ZIP "${parts.zip.trim()}"`);
  // Written out, not spread from `street`: spreading and then overriding its keys cost a fifth of standardizing a contact.
  return {
    raw: [line, parts.city, parts.state, parts.zip].filter((p) => p && p.trim()).join(", "),
    line1: street.line1,
    number: street.number,
    predir: street.predir,
    street: street.street,
    suffix: street.suffix,
    postdir: street.postdir,
    unitType: street.unitType,
    unit: street.unit,
    problems,
    city: parts.city?.trim() ? standardizeCity(parts.city) : null,
    state,
    zip5: zip?.zip5 ?? null,
    zip4: zip?.zip4 ?? null,
  };
}
