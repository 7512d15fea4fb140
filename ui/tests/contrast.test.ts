/**
 * WCAG AA contrast (≥ 4.5:1 for text) of the tablet's colours, computed from
 * ui/src/styles/app.css itself. axe-core cannot judge colour contrast in
 * jsdom (no layout, no cascade of custom properties), so this reads the
 * stylesheet: every rule that sets both a text colour and a background, and
 * the places where text of one rule sits on the background of another (a
 * hint inside a selected choice, a refusal inside a disabled button).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const css = readFileSync(join(__dirname, '../src/styles/app.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

type Rule = { selectors: string[]; decls: Map<string, string> };

/** Rules at any depth (inside @media too), in source order. */
function parseRules(text: string): Rule[] {
  const rules: Rule[] = [];
  let i = 0;
  const walk = (end: number) => {
    while (i < end) {
      const open = text.indexOf('{', i);
      if (open < 0 || open >= end) return;
      const head = text.slice(i, open).trim();
      if (head.startsWith('@')) {
        // A block of rules: find its matching brace and walk inside.
        let depth = 1;
        let j = open + 1;
        while (depth > 0 && j < text.length) {
          if (text[j] === '{') depth++;
          else if (text[j] === '}') depth--;
          j++;
        }
        i = open + 1;
        walk(j - 1);
        i = j;
        continue;
      }
      const close = text.indexOf('}', open);
      const decls = new Map<string, string>();
      for (const d of text.slice(open + 1, close).split(';')) {
        const k = d.indexOf(':');
        if (k > 0) decls.set(d.slice(0, k).trim(), d.slice(k + 1).trim());
      }
      rules.push({ selectors: head.split(',').map((s) => s.trim().replace(/\s+/g, ' ')), decls });
      i = close + 1;
    }
  };
  walk(text.length);
  return rules;
}

const rules = parseRules(css);
const vars = new Map<string, string>();
for (const r of rules) if (r.selectors.includes(':root')) for (const [k, v] of r.decls) if (k.startsWith('--')) vars.set(k, v);

type RGB = [number, number, number];

function resolve(value: string): string {
  return value.replace(/var\((--[\w-]+)(?:,\s*([^)]+))?\)/g, (_, name: string, fallback?: string) => {
    const v = vars.get(name) ?? fallback;
    if (v === undefined) throw new Error(`undefined ${name}`);
    return resolve(v);
  });
}

function parseColor(value: string): RGB | null {
  const v = resolve(value).trim().toLowerCase();
  if (v === '#fff' || v === 'white') return [255, 255, 255];
  let m = /^#([0-9a-f]{3})$/.exec(v);
  if (m) return [...m[1]!].map((c) => parseInt(c + c, 16)) as RGB;
  m = /^#([0-9a-f]{6})$/.exec(v);
  if (m) return [0, 2, 4].map((k) => parseInt(m![1]!.slice(k, k + 2), 16)) as RGB;
  m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(v);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return null;
}

function luminance([r, g, b]: RGB): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: RGB, b: RGB): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** `fg` drawn at `alpha` over `bg` (what opacity does to text and its box over the page). */
function blend(fg: RGB, bg: RGB, alpha: number): RGB {
  return fg.map((c, i) => Math.round(c * alpha + bg[i]! * (1 - alpha))) as RGB;
}

/** The value the last rule with exactly this selector gives `prop`. */
function declared(selector: string, prop: string): string | undefined {
  let found: string | undefined;
  for (const r of rules) if (r.selectors.includes(selector) && r.decls.has(prop)) found = r.decls.get(prop);
  return found;
}

function color(selector: string, prop = 'color'): RGB {
  const v = declared(selector, prop) ?? (prop === 'background' ? declared(selector, 'background-color') : undefined);
  const c = v === undefined ? null : parseColor(v);
  if (!c) throw new Error(`${selector} has no solid ${prop}`);
  return c;
}

const WHITE: RGB = [255, 255, 255];
const AA = 4.5;

describe('colour contrast (WCAG AA, 4.5:1)', () => {
  it('holds for every rule that sets both a text colour and a background', () => {
    const low: string[] = [];
    let checked = 0;
    for (const r of rules) {
      const fgRaw = r.decls.get('color');
      const bgRaw = r.decls.get('background') ?? r.decls.get('background-color');
      if (!fgRaw || !bgRaw) continue;
      const fg = parseColor(fgRaw);
      const bg = parseColor(bgRaw);
      if (!fg || !bg) continue;
      checked++;
      const ratio = contrast(fg, bg);
      if (ratio < AA) low.push(`${r.selectors.join(', ')}: ${ratio.toFixed(2)}`);
    }
    expect(checked).toBeGreaterThan(15);
    expect(low).toEqual([]);
  });

  it.each([
    ['.hint', '.panel'],
    ['.muted', '.panel'],
    ['.tone-ok', '.panel'],
    ['.tone-soon', '.panel'],
    ['.tone-overdue', '.panel'],
    ['.thermo-refusal', '.panel'],
  ])('holds for %s text on a %s', (text, box) => {
    expect(contrast(color(text), color(box, 'background'))).toBeGreaterThanOrEqual(AA);
    expect(contrast(color(text), WHITE)).toBeGreaterThanOrEqual(AA);
  });

  it("holds for the selected thermometer's certificate line", () => {
    const hint = color('.choice button.selected .hint');
    expect(contrast(hint, color('.choice button.selected', 'background'))).toBeGreaterThanOrEqual(AA);
  });

  it("holds for the unusable thermometer's reason, whatever the disabled button's opacity", () => {
    const opacity = Number(declared('.choice button.thermo:disabled', 'opacity') ?? declared('button:disabled', 'opacity') ?? 1);
    const box = blend(color('.choice button.thermo:disabled', 'background'), WHITE, opacity);
    const reason = blend(color('.thermo-refusal'), box, opacity);
    expect(contrast(reason, box)).toBeGreaterThanOrEqual(AA);
    const serial = blend(color('.choice button.thermo:disabled'), box, opacity);
    expect(contrast(serial, box)).toBeGreaterThanOrEqual(AA);
  });

  it('knows the failures it is there to catch', () => {
    // The colours of the issue: muted grey on the selected blue, faded red.
    expect(contrast(color('.hint'), color('.choice button.selected', 'background'))).toBeLessThan(1.5);
    expect(contrast(blend(color('.tone-overdue'), WHITE, 0.45), WHITE)).toBeLessThan(AA);
  });
});
