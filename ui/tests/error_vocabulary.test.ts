import { describe, expect, it } from 'vitest';
import en from '../src/i18n/en.json';
import zh from '../src/i18n/zh-CN.json';
import { translate, type Dict } from '../src/i18n/core';
import { ERROR_CODES, REVIEW_FLAGS } from '../src/ipc/types';
import { errorText, fieldError, flagText } from '../src/lib/errors';
import { orderLabel } from '../src/lib/order_label';

const LOCALES: [string, Dict][] = [
  ['zh-CN', zh as Dict],
  ['en', en as Dict],
];

function wordsOf(dict: Dict) {
  // Each language on its own: a key missing in English must not borrow the Chinese text.
  const has = (key: string) => key in dict;
  const t = (key: string, params?: Record<string, string | number>) => translate(dict, {}, key, params);
  return { has, t };
}

describe('one vocabulary of errors', () => {
  for (const [name, dict] of LOCALES) {
    const { has, t } = wordsOf(dict);

    it(`gives every error code of the Rust side its own ${name} text, every placeholder filled`, () => {
      expect(ERROR_CODES.length).toBeGreaterThan(70);
      for (const code of ERROR_CODES) {
        expect(has(`error.${code}`), `error.${code} in ${name}`).toBe(true);
        const text = errorText({ code, message: 'English detail that is never shown' }, has, t);
        expect(text, code).not.toMatch(/[{}]/);
        expect(text, code).not.toContain('English detail');
        expect(text.trim().length, code).toBeGreaterThan(3);
      }
    });

    it(`names the field and what it expects for every field the tablet checks (${name})`, () => {
      const fields = [
        'agreed_start', 'agreed_end', 'next_start', 'told_whom', 'told_at', 'new_eta', 'new_eta_ms',
        'riser_this_floor', 'supply_at_inlet', 'branch_pressure_kpa', 'branch_flow_litres_per_hour', 'part_price_0',
        'customer.name', 'customer.phone', 'address.community', 'address.room', 'label', 'celsius_text', 'reason', 'tech_id',
      ];
      for (const field of fields) {
        const text = errorText(fieldError(field), has, t);
        expect(text, field).not.toMatch(/[{}]/);
        expect(text, field).toContain(t(`field.${field.replace(/_\d+$/, '')}`));
        expect(text, field).not.toBe(t('error.invalid_field'));
      }
      // A field no screen shows (a bug's) still reads as a sentence, never a placeholder.
      expect(errorText(fieldError('strokes_json'), has, t)).toBe(t('error.invalid_field'));
      expect(t('error.invalid_field')).not.toMatch(/[{}]/);
    });

    it(`translates every review flag the server can attach (${name})`, () => {
      for (const flag of REVIEW_FLAGS) {
        expect(has(`record_flag.${flag}`), `record_flag.${flag} in ${name}`).toBe(true);
        expect(flagText(flag, has, t)).not.toMatch(/[{}_]/);
      }
      // A flag from a newer server is "needs review", never its machine name.
      expect(flagText('some_new_flag', has, t)).toBe(t('record_flag.other'));
    });
  }

  it('says what a phone of "123" should be, in Chinese', () => {
    const { has, t } = wordsOf(zh as Dict);
    expect(errorText({ code: 'invalid_field', message: 'customer.phone: invalid', field: 'customer.phone' }, has, t)).toBe(
      '“联系电话”填写不正确：请填写 7–15 位数字的电话号码，可带 + 和 -，例如 13812345678。',
    );
  });
});

describe('an order as a person reads it', () => {
  const { t } = wordsOf(zh as Dict);
  it('reads an order opened on site by when it was opened', () => {
    expect(orderLabel('L-20261204170316-2cbbd061', t, 'zh-CN')).toBe('现场开单 12月4日 17:03');
  });
  it("keeps dispatch's order numbers as they are", () => {
    expect(orderLabel('WO-DEMO-0001', t, 'zh-CN')).toBe('WO-DEMO-0001');
  });
});
