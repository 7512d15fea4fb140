import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import zh from '../src/i18n/zh-CN.json';
import en from '../src/i18n/en.json';
import { translate } from '../src/i18n/core';
import {
  ERROR_CODES,
  NOTICE_PLACEMENTS,
  ROOM_KINDS,
  VISIT_STEPS,
  WORK_ORDER_CATEGORIES,
} from '../src/ipc/types';

const root = join(__dirname, '..');
const zhDict = zh as Record<string, string>;
const enDict = en as Record<string, string>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // The office console has its own dictionaries (checked below).
    if (statSync(path).isDirectory()) return name === 'bindings' || name === 'office' ? [] : sourceFiles(path);
    return /\.(ts|svelte)$/.test(name) ? [path] : [];
  });
}

describe('the dictionaries', () => {
  it('have exactly the same keys in zh-CN and en', () => {
    expect(Object.keys(enDict).sort()).toEqual(Object.keys(zhDict).sort());
  });

  it('have no empty values', () => {
    for (const [name, dict] of [['zh-CN', zhDict], ['en', enDict]] as const) {
      const empty = Object.entries(dict).filter(([, v]) => typeof v !== 'string' || v.trim() === '');
      expect(empty, `empty values in ${name}`).toEqual([]);
    }
  });

  it('use the same {parameters} in both languages', () => {
    const params = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const differ = Object.keys(zhDict).filter((k) => params(zhDict[k] ?? '').join() !== params(enDict[k] ?? '').join());
    expect(differ).toEqual([]);
  });

  it('contain every literal t(...) key used in the source', () => {
    const missing: string[] = [];
    let used = 0;
    for (const file of sourceFiles(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:t|tOr)\(\s*'([^']+)'/g)) {
        used++;
        const key = m[1] ?? '';
        if (!(key in zhDict)) missing.push(`${key} (${file.slice(root.length)})`);
      }
    }
    expect(used).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('contain the keys built from domain values', () => {
    const keys = [
      ...WORK_ORDER_CATEGORIES.map((c) => `category.${c}`),
      ...VISIT_STEPS.flatMap((s) => [`step.${s}`, `step_hint.${s}`]),
      ...ROOM_KINDS.map((r) => `room_kind.${r}`),
      ...NOTICE_PLACEMENTS.map((p) => `notice_placement.${p}`),
      ...['accepted', 'contact', 'on_site', 'fixed', 'testers_on_site', 'complaint_answered', 'late_notice', 'follow_up_call'].map(
        (d) => `deadline.${d}`,
      ),
      ...['sealed', 'sent', 'receipted', 'needs_review'].map((s) => `record_state.${s}`),
      ...['resolved', 'not_resolved', 'nobody_home', 'refused_entry'].map((o) => `outcome.${o}`),
      ...['not_resolved', 'nobody_home', 'refused_entry'].map((o) => `visit_ended.${o}`),
      ...['synced', 'pending', 'working', 'retrying', 'stopped', 'unknown'].map((s) => `sync.state.${s}`),
      ...['compliant', 'below_standard', 'not_counted', 'overall_compliant', 'overall_below_standard', 'overall_none'].map(
        (v) => `verdict.${v}`,
      ),
      ...['zh-CN', 'en'].map((l) => `locale.${l}`),
      ...['nobody_home.title', 'not_resolved.title'],
      ...['riser_this_floor', 'riser_floor_above', 'riser_floor_below', 'supply_at_inlet', 'return_at_inlet'].map(
        (f) => `evidence.${f}`,
      ),
    ];
    expect(keys.filter((k) => !(k in zhDict))).toEqual([]);
  });

  it('translate every error code of the Rust side (ErrorCode; tests/error_vocabulary checks the words)', () => {
    expect(ERROR_CODES.length).toBeGreaterThan(70);
    expect(ERROR_CODES.filter((c) => !(`error.${c}` in zhDict))).toEqual([]);
  });
});

describe('translate', () => {
  it('fills parameters and falls back to zh-CN, then to the key', () => {
    expect(translate({ a: 'x {n} y' }, {}, 'a', { n: 3 })).toBe('x 3 y');
    expect(translate({}, { b: 'fallback' }, 'b')).toBe('fallback');
    expect(translate({}, {}, 'missing.key')).toBe('missing.key');
    expect(translate({ a: '{unknown}' }, {}, 'a', {})).toBe('{unknown}');
  });
});

/** The console's dictionaries: one pair per area (`zh-CN.json`, `admin.zh-CN.json`…), merged. */
function officeDict(locale: string): Record<string, string> {
  const dir = join(root, 'src', 'office', 'i18n');
  const dict: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((n) => n === `${locale}.json` || n.endsWith(`.${locale}.json`))) {
    for (const [k, v] of Object.entries(JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, string>)) {
      if (k in dict) throw new Error(`${k} is in two ${locale} dictionaries of the console`);
      dict[k] = v;
    }
  }
  return dict;
}

describe('the office console dictionaries', () => {
  const zhO = officeDict('zh-CN');
  const enO = officeDict('en');
  const officeFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return officeFiles(path);
      return /\.(ts|svelte)$/.test(name) ? [path] : [];
    });

  it('have the same keys, no empty value and the same parameters in zh-CN and en', () => {
    expect(Object.keys(enO).sort()).toEqual(Object.keys(zhO).sort());
    expect(Object.entries({ ...zhO, ...enO }).filter(([, v]) => v.trim() === '')).toEqual([]);
    const params = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();
    expect(Object.keys(zhO).filter((k) => params(zhO[k] ?? '') !== params(enO[k] ?? ''))).toEqual([]);
  });

  it('contain every literal t(...) key the console uses, and every category, deadline, role and outcome', () => {
    const missing: string[] = [];
    for (const file of officeFiles(join(root, 'src', 'office'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([^']+)'/g)) {
        if (!((m[1] ?? '') in zhO)) missing.push(`${m[1]} (${file.slice(root.length)})`);
      }
    }
    const built = [
      ...WORK_ORDER_CATEGORIES.map((c) => `category.${c}`),
      ...['accepted', 'contact', 'on_site', 'fixed', 'testers_on_site', 'complaint_answered', 'late_notice', 'follow_up_call'].map((d) => `deadline.${d}`),
      ...['dispatcher', 'customer_service', 'reviewer', 'manager', 'admin'].map((r) => `role.${r}`),
      ...['satisfied', 'unsatisfied', 'unreachable'].map((o) => `outcome.${o}`),
      // Every needs_review flag of hearth_protocol::flags, as the review queue shows them.
      ...[...readFileSync(join(root, '..', 'crates', 'protocol', 'src', 'flags.rs'), 'utf8').matchAll(/pub const [A-Z_]+: &str = "([a-z_]+)";/g)].map(
        (m) => `flag.${m[1]}`,
      ),
    ];
    expect([...missing, ...built.filter((k) => !(k in zhO))]).toEqual([]);
  });
});

describe('one word for each thing (issue 16)', () => {
  // The summary and the PDF (built in Rust) use the same: 客厅, 用户, 撤回.
  it.each([
    ['起居室', '客厅'],
    ['客户', '用户'],
    ['作废', '撤回'],
  ])('says %s nowhere on the tablet (it is %s)', (other) => {
    const found = Object.entries(zhDict).filter(([, v]) => v.includes(other));
    expect(found).toEqual([]);
  });

  it('prints no unit in a label the value prints again', () => {
    const units = Object.entries(zhDict).filter(([k, v]) => k.startsWith('evidence.') && k !== 'evidence.with_unit' && /°C|kPa|L\/h/.test(v));
    expect(units).toEqual([]);
  });
});
