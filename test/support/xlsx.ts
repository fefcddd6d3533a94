import { buildZip } from "./zip";

/** Workbooks built in memory for the XLSX tests: a first sheet and a shared-strings table, in the order asked. */
export const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/** A workbook whose first sheet has `cells` (t="s" cells are indices into `strings`), entries in the given order. */
export function workbook(
  strings: Buffer,
  sheetRows: string,
  order: "strings-first" | "sheet-first" = "strings-first",
): Buffer {
  const sheet = {
    name: "xl/worksheets/sheet1.xml",
    data: Buffer.from(`<?xml version="1.0"?><worksheet ${NS}><sheetData>${sheetRows}</sheetData></worksheet>`),
  };
  const sst = { name: "xl/sharedStrings.xml", data: strings };
  return buildZip([
    {
      name: "xl/workbook.xml",
      data: Buffer.from(
        `<?xml version="1.0"?><workbook ${NS} xmlns:r="${REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
      ),
    },
    {
      name: "xl/_rels/workbook.xml.rels",
      data: Buffer.from(
        `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
          `<Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
      ),
    },
    ...(order === "strings-first" ? [sst, sheet] : [sheet, sst]),
  ]);
}

/** A shared-strings table of `n` distinct short strings, built in pieces (it may be larger than one JS string can be). */
export function manyStrings(n: number): Buffer {
  const parts = [Buffer.from(`<?xml version="1.0"?><sst ${NS} count="${n}" uniqueCount="${n}">`)];
  for (let i = 0; i < n; i += 100_000) {
    let s = "";
    for (let k = i; k < Math.min(n, i + 100_000); k++) s += `<si><t>s${k.toString(36)}</t></si>`;
    parts.push(Buffer.from(s));
  }
  parts.push(Buffer.from("</sst>"));
  return Buffer.concat(parts);
}
