import { describe, expect, it } from 'vitest';
import { auditActionKey, auditChanges } from '../src/office/audit';
import zh from '../src/office/i18n/audit.zh-CN.json';
import en from '../src/office/i18n/audit.en.json';

describe('the audit log in words', () => {
  it('names each office action, and leaves an unknown route to method and path', () => {
    expect(auditActionKey('POST', '/v1/office/work-orders/WO-1/assign')).toBe('admin.audit.action.assign');
    expect(auditActionKey('POST', '/v1/office/work-orders')).toBe('admin.audit.action.create_order');
    expect(auditActionKey('PUT', '/v1/office/rule-set')).toBe('admin.audit.action.rule_set');
    expect(auditActionKey('POST', '/v1/office/setup/accounts/amy/disable')).toBe('admin.audit.action.disable_account');
    expect(auditActionKey('GET', '/v1/office/work-orders/WO-1/assign')).toBeNull();
    expect(auditActionKey('POST', '/v1/office/unheard-of')).toBeNull();
  });

  it('has Chinese and English words for every action', () => {
    const paths = [
      ['POST', '/v1/office/session'], ['DELETE', '/v1/office/session'], ['POST', '/v1/office/work-orders'],
      ['POST', '/v1/office/work-orders/a/assign'], ['POST', '/v1/office/work-orders/a/reschedule'],
      ['POST', '/v1/office/work-orders/a/cancel'], ['POST', '/v1/office/work-orders/a/confirm'],
      ['POST', '/v1/office/work-orders/a/reject'], ['POST', '/v1/office/work-orders/a/milestones'],
      ['POST', '/v1/office/work-orders/a/follow-up'], ['POST', '/v1/office/complaints/a/answer'],
      ['POST', '/v1/office/records/a/review'], ['POST', '/v1/office/technicians'], ['POST', '/v1/office/thermometers'],
      ['PUT', '/v1/office/rule-set'], ['POST', '/v1/office/setup/technicians/a/enrolment-code'],
      ['POST', '/v1/office/setup/technician-keys/a/revoke'], ['POST', '/v1/office/setup/tablets/enrolment-code'],
      ['POST', '/v1/office/setup/tablets/a/revoke'], ['POST', '/v1/office/setup/accounts'],
      ['POST', '/v1/office/setup/accounts/a/disable'], ['POST', '/v1/office/setup/accounts/a/enable'],
    ];
    for (const [m, p] of paths as [string, string][]) {
      const key = auditActionKey(m, p);
      expect(key, `${m} ${p}`).not.toBeNull();
      expect((zh as Record<string, string>)[key!], key!).toBeTruthy();
      expect((en as Record<string, string>)[key!], key!).toBeTruthy();
    }
  });

  it('lists the fields an action changed, and only those', () => {
    const before = { rev: 3, updated_at_ms: 1, body: { status: 'assigned', technicians: ['T1'], history: [{ a: 'created' }] } };
    const after = { rev: 4, updated_at_ms: 2, body: { status: 'assigned', technicians: ['T2'], history: [{ a: 'created' }, { a: 'assigned', by: 'amy' }] } };
    expect(auditChanges(before, after)).toEqual([
      { field: 'body.history', before: '', after: '+ {"a":"assigned","by":"amy"}' },
      { field: 'body.technicians', before: '["T1"]', after: '["T2"]' },
      { field: 'rev', before: '3', after: '4' },
    ]);
  });

  it('lists every field of a creation, and nothing when nothing changed', () => {
    expect(auditChanges(null, { username: 'amy', disabled: false })).toEqual([
      { field: 'disabled', before: '', after: 'false' },
      { field: 'username', before: '', after: 'amy' },
    ]);
    expect(auditChanges({ a: 1 }, { a: 1 })).toEqual([]);
  });

  it('shortens long values so a row stays readable', () => {
    const [c] = auditChanges({ note: '' }, { note: 'x'.repeat(500) });
    expect(c?.after.length).toBe(120);
    expect(c?.after.endsWith('…')).toBe(true);
  });
});
