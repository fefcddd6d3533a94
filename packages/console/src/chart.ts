import { escapeHtml, raw, type Html } from "./html";

/**
 * A small SVG bar chart drawn by hand (no library, no script): one bar per label, the value on hover
 * (a <title>), scaled to the largest value. Enough for "how many per day / per version".
 */
export function barChart(
  points: readonly { label: string; value: number }[],
  opts: { title: string; width?: number; height?: number },
): Html {
  const data = points.filter((p) => Number.isFinite(p.value)).slice(0, 60);
  if (data.length === 0) return raw(`<p class="empty">nothing to chart</p>`);
  const width = opts.width ?? 640;
  const height = opts.height ?? 200;
  const pad = { left: 48, bottom: 40, top: 10, right: 8 };
  const max = Math.max(...data.map((d) => d.value), 0) || 1;
  const min = Math.min(...data.map((d) => d.value), 0);
  const span = max - min || 1;
  const plotH = height - pad.top - pad.bottom;
  const bw = (width - pad.left - pad.right) / data.length;
  const y = (v: number) => pad.top + ((max - v) / span) * plotH;
  const bars = data
    .map((d, i) => {
      const x = pad.left + i * bw;
      const top = Math.min(y(d.value), y(0));
      const h = Math.max(1, Math.abs(y(d.value) - y(0)));
      const label = d.label.length > 12 ? d.label.slice(0, 11) + "…" : d.label;
      return (
        `<rect x="${(x + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}">` +
        `<title>${escapeHtml(d.label)}: ${escapeHtml(String(d.value))}</title></rect>` +
        (data.length <= 20
          ? `<text x="${(x + bw / 2).toFixed(1)}" y="${height - pad.bottom + 14}" text-anchor="middle">${escapeHtml(label)}</text>`
          : "")
      );
    })
    .join("");
  const axis =
    `<text x="${pad.left - 4}" y="${pad.top + 10}" text-anchor="end">${escapeHtml(fmt(max))}</text>` +
    `<text x="${pad.left - 4}" y="${y(0).toFixed(1)}" text-anchor="end">0</text>` +
    `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}"/>`;
  return raw(
    `<figure class="chart"><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(opts.title)}">${axis}${bars}</svg>` +
      `<figcaption>${escapeHtml(opts.title)}</figcaption></figure>`,
  );
}

const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toPrecision(3));
