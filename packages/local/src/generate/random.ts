/** A small seeded PRNG (mulberry32): the same seed writes the same file, byte for byte. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof rng>;

export function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export const FIRST = [
  "James",
  "Mary",
  "Robert",
  "Patricia",
  "John",
  "Jennifer",
  "Michael",
  "Linda",
  "David",
  "Elizabeth",
  "William",
  "Barbara",
  "Richard",
  "Susan",
  "Joseph",
  "Jessica",
  "Thomas",
  "Sarah",
  "Carlos",
  "Maria",
  "Wei",
  "Priya",
  "Ahmed",
  "Fatima",
  "Luis",
  "Ana",
  "Kevin",
  "Nguyen",
  "Olga",
  "Emma",
  "Noah",
  "Ava",
  "Liam",
  "Sophia",
];
export const LAST = [
  "Smith",
  "Johnson",
  "Williams",
  "Brown",
  "Jones",
  "Garcia",
  "Miller",
  "Davis",
  "Rodriguez",
  "Martinez",
  "Hernandez",
  "Lopez",
  "Gonzalez",
  "Wilson",
  "Anderson",
  "Thomas",
  "Taylor",
  "Moore",
  "Jackson",
  "Martin",
  "Lee",
  "Perez",
  "Thompson",
  "White",
  "Harris",
  "O'Brien",
  "Van der Berg",
  "Smith-Jones",
  "Nguyen",
  "Patel",
  "Kim",
  "Chen",
];
export const STREETS = [
  "Oak",
  "Maple",
  "Cedar",
  "Pine",
  "Elm",
  "Washington",
  "Lake",
  "Hill",
  "Sunset",
  "Park",
  "Main",
  "Church",
  "Highland",
  "Meadow",
  "River",
  "Forest",
];
export const SUFFIXES = ["St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Ter"];
export const CITIES: readonly [string, string, string][] = [
  ["Austin", "TX", "787"],
  ["Dallas", "TX", "752"],
  ["Boston", "MA", "021"],
  ["Denver", "CO", "802"],
  ["Seattle", "WA", "981"],
  ["Atlanta", "GA", "303"],
  ["Chicago", "IL", "606"],
  ["Miami", "FL", "331"],
  ["Phoenix", "AZ", "850"],
  ["Portland", "OR", "972"],
  ["Columbus", "OH", "432"],
  ["Charlotte", "NC", "282"],
  ["Nashville", "TN", "372"],
  ["Salt Lake City", "UT", "841"],
  ["St. Louis", "MO", "631"],
];
export const LENDERS = [
  "First Lone Star Bank",
  "Harbor Mortgage",
  "Pacific Home Loans",
  "Wasatch Credit Union",
  "Peach State Bank",
  "Emerald Lending",
  "Rocky Mountain Mortgage",
  "Lakeside Bank, N.A.",
  "Sunshine Lending",
  "Cascade Home Loans",
];

/**
 * The tracking code of the mail piece generated for a mortgage: every generator (mortgages,
 * barcode maps, deliveries, call-center responses) agrees through this one function. Barcode id
 * 00, service type 270, a 6-digit mailer id per partner (from the id's prefix, e.g. "B" of
 * "B-100001"), and the 9-digit serial number from the id's number (unique per partner).
 */
export function trackingCodeFor(mortgageId: string): string {
  const m = /^([A-Za-z]+)[-_ ]?(\d+)$/.exec(mortgageId.trim());
  const prefix = (m?.[1] ?? mortgageId).toUpperCase();
  const mailer = 100_000 + (seedOf(`mailer:${prefix}`) % 800_000);
  const serial = m ? Number(m[2]) % 1_000_000_000 : seedOf(`serial:${mortgageId}`) % 1_000_000_000;
  return `00270${mailer}${String(serial).padStart(9, "0")}`;
}
