import { parsePhoneNumberFromString } from "libphonenumber-js";

/** A phone as standardized: E.164 when it is a full number, the last 7 digits whenever there are 7. */
export interface Phone {
  raw: string;
  /** +<country><number>, or null when the raw value is not a complete valid number. */
  e164: string | null;
  /** The subscriber's last 7 digits (a local number without its area code still has them). */
  last7: string | null;
  /** Why e164 is null; null when it is set. */
  problem: string | null;
}

const PLAIN_US = /^[\s().+\-\d]+$/;

/**
 * NANP shape: area code and exchange start with 2-9 and neither is an N11 service code. The
 * fast path only accepts what has this shape; everything else asks libphonenumber-js.
 */
function nanp(ten: string): boolean {
  const a = ten.charCodeAt(0),
    e = ten.charCodeAt(3);
  if (a < 50 || e < 50) return false; // '2'
  if (ten[1] === "1" && ten[2] === "1") return false;
  if (ten[4] === "1" && ten[5] === "1") return false;
  return true;
}

/**
 * Standardizes a phone written any common way. Plain US numbers ("(212) 555-1234",
 * "212.555.1234", "+1 212 555 1234") take a hand fast path (libphonenumber-js costs ~10 µs a
 * call); extensions, letters and other countries go to the library. A 7-digit local number has
 * no area code, so no E.164, unless the caller knows the area code (e.g. from another phone of
 * the same record).
 */
export function standardizePhone(raw: string, opts: { areaCode?: string; country?: "US" } = {}): Phone {
  // A leading apostrophe is a spreadsheet's "keep as text" mark (and our CSV writer's guard against formulas).
  const text = raw.trim().replace(/^'/, "");
  if (text === "") return { raw, e164: null, last7: null, problem: "empty" };
  if (PLAIN_US.test(text)) {
    let digits = text.replace(/\D/g, "");
    const international = text.startsWith("+");
    if (!international || digits.startsWith("1")) {
      if (digits.length === 11 && digits[0] === "1") digits = digits.slice(1);
      if (digits.length === 10 && nanp(digits))
        return { raw, e164: `+1${digits}`, last7: digits.slice(3), problem: null };
      if (digits.length === 7 && !international) {
        const withArea = opts.areaCode && /^\d{3}$/.test(opts.areaCode) ? opts.areaCode + digits : null;
        if (withArea && nanp(withArea)) return { raw, e164: `+1${withArea}`, last7: digits, problem: null };
        return {
          raw,
          e164: null,
          last7: digits.charCodeAt(0) >= 50 ? digits : null,
          problem: "7-digit local number without an area code",
        };
      }
    }
  }
  const parsed = parsePhoneNumberFromString(text, opts.country ?? "US");
  if (parsed?.isValid()) {
    const national = String(parsed.nationalNumber);
    return { raw, e164: parsed.number, last7: national.length >= 7 ? national.slice(-7) : null, problem: null };
  }
  const digits = text.replace(/\D/g, "");
  const problem = /[a-z]/i.test(text.replace(/\b(ext|x)\.?\s*\d+$/i, ""))
    ? "letters in a phone number"
    : digits.length < 7
      ? `too few digits (${digits.length})`
      : "not a valid phone number";
  return { raw, e164: null, last7: null, problem };
}
