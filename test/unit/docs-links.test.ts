/**
 * The docs point at code by file and line (`[x.ts#L12](../x.ts#L12)`). Code moves; these links must
 * follow it. Every relative link in README.md and docs/ names a file that exists and lines that
 * exist in it; a link in docs/rules.md followed by a quoted test name lands on the line that names
 * that test (the most common way such a link goes stale is the test moving down its file).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const LINK = /\[([^\]]*)\]\(([^)\s]+)\)(\s*"([^"]+)")?/g;
const LINES = /^L(\d+)(?:-L(\d+))?$/;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return markdownFiles(p);
    return name.endsWith(".md") ? [p] : [];
  });
}

interface Link {
  doc: string;
  line: number;
  target: string;
  file: string;
  from?: number;
  to?: number;
  title?: string;
}

function linksOf(doc: string): Link[] {
  const out: Link[] = [];
  readFileSync(doc, "utf8")
    .split("\n")
    .forEach((text, i) => {
      for (const m of text.matchAll(LINK)) {
        const target = m[2]!;
        if (/^([a-z]+:|#)/.test(target)) continue;
        const [file, fragment] = target.split("#") as [string, string | undefined];
        const lines = fragment ? LINES.exec(fragment) : null;
        out.push({
          doc: path.relative(root, doc),
          line: i + 1,
          target,
          file: path.resolve(path.dirname(doc), decodeURI(file)),
          from: lines ? Number(lines[1]) : undefined,
          to: lines ? Number(lines[2] ?? lines[1]) : undefined,
          title: m[4],
        });
      }
    });
  return out;
}

const docs = [path.join(root, "README.md"), ...markdownFiles(path.join(root, "docs"))];
const links = docs.flatMap(linksOf);
const lineCount = (file: string) => readFileSync(file, "utf8").split("\n").length;

describe("links in README.md and docs/", () => {
  it("are found (the docs link to code)", () => {
    expect(links.filter((l) => l.doc === path.join("docs", "rules.md")).length).toBeGreaterThan(200);
  });

  it("name files that exist", () => {
    const missing = links.filter((l) => !existsSync(l.file)).map((l) => `${l.doc}:${l.line} ${l.target}`);
    expect(missing).toEqual([]);
  });

  it("name lines that exist in their file", () => {
    const outside = links
      .filter((l) => l.from !== undefined && existsSync(l.file) && statSync(l.file).isFile())
      .filter((l) => l.from! < 1 || l.to! < l.from! || l.to! > lineCount(l.file))
      .map((l) => `${l.doc}:${l.line} ${l.target} (${lineCount(l.file)} lines)`);
    expect(outside).toEqual([]);
  });

  it("in docs/rules.md, a link followed by a test's name lands on the line that names it", () => {
    const astray = links
      .filter((l) => l.doc === path.join("docs", "rules.md") && l.title && l.from !== undefined)
      .filter((l) => {
        // The name up to an ellipsis (the docs shorten long names), unescaped.
        const name = l.title!.split("…")[0]!.replaceAll("\\", "").slice(0, 40);
        const at = readFileSync(l.file, "utf8").split("\n")[l.from! - 1] ?? "";
        return !at.includes(name);
      })
      .map((l) => `${l.doc}:${l.line} ${l.target} "${l.title}"`);
    expect(astray).toEqual([]);
  });
});
