/** An e-mail as standardized: trimmed and lower-cased, or null with the reason it was refused. */
export interface Email {
  raw: string;
  email: string | null;
  /** The address without a "+tag" in the local part: the same mailbox for matching. */
  matchKey: string | null;
  domain: string | null;
  problem: string | null;
}

const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function standardizeEmail(raw: string): Email {
  // A contact's e-mail is read when its row is validated and again when its record is built: once.
  // The answer is frozen: every caller with the same value shares it.
  if (last?.raw === raw) return last;
  last = Object.freeze(readEmail(raw));
  return last;
}
let last: Readonly<Email> | undefined;

function readEmail(raw: string): Email {
  const refuse = (problem: string): Email => ({ raw, email: null, matchKey: null, domain: null, problem });
  let s = raw.trim().toLowerCase();
  if (s === "") return refuse("empty");
  s = s.replace(/^mailto:/, "").replace(/^<(.*)>$/, "$1");
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) return refuse("an e-mail address needs a local part, one @ and a domain");
  const local = s.slice(0, at),
    domain = s.slice(at + 1);
  if (local.length > 64 || s.length > 254) return refuse("too long for an e-mail address");
  if (!LOCAL.test(local)) return refuse(`invalid local part "${local}"`);
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !/^[a-z]{2,}$/.test(labels.at(-1)!))
    return refuse(`invalid domain "${domain}"`);
  const plus = local.indexOf("+");
  return { raw, email: s, matchKey: plus > 0 ? `${local.slice(0, plus)}@${domain}` : s, domain, problem: null };
}
