/** HTML built by a tagged template: every interpolated value is escaped unless it is already Html. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

type Value = Html | string | number | boolean | null | undefined | Date | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join("");
  if (v instanceof Date) return escapeHtml(v.toISOString());
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (built here, never from input). */
export const raw = (s: string) => new Html(s);

/** A cell as people read it. */
export function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date)
    return v
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");
  if (typeof v === "number")
    return Number.isInteger(v) ? v.toLocaleString("en-US") : String(Math.round(v * 10000) / 10000);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** A table of rows with the given columns (values escaped). */
export function table(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  opts: { id?: string; cell?: (col: string, v: unknown, row: Record<string, unknown>) => Html | string } = {},
): Html {
  const cell = opts.cell ?? ((_c: string, v: unknown) => show(v));
  return html`<div class="scroll"><table${opts.id ? raw(` id="${escapeHtml(opts.id)}"`) : ""}><thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${cell(c, r[c], r)}</td>`)}</tr>`)}</tbody></table></div>
${rows.length === 0 ? html`<p class="empty">no rows</p>` : ""}`;
}
