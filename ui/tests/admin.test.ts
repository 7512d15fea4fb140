import { describe, expect, it } from 'vitest';
import { calibrationClass, companyInstant, revocationBody, svgDataUrl } from '../src/office/admin';

describe('the administrator screen', () => {
  it('reads a typed time as company time and leaves a blank one to the server (now)', () => {
    expect(companyInstant('2025-01-10T09:30')).toBe('2025-01-10T09:30:00+08:00');
    expect(companyInstant('')).toBeNull();
    expect(companyInstant('tomorrow')).toBeNull();
  });

  it('sends only what was given for a revocation', () => {
    expect(revocationBody('', '')).toEqual({});
    expect(revocationBody('2025-01-10T09:30', ' 平板丢失 ')).toEqual({ effective_at: '2025-01-10T09:30:00+08:00', reason: '平板丢失' });
  });

  it('marks expired calibration red and expiring amber', () => {
    expect(calibrationClass('expired')).toBe('bad');
    expect(calibrationClass('expiring')).toBe('warn');
    expect(calibrationClass('valid')).toBe('okpill');
  });

  it('makes an image address of the QR code', () => {
    expect(svgDataUrl('<svg a="1"/>')).toBe('data:image/svg+xml;charset=utf-8,%3Csvg%20a%3D%221%22%2F%3E');
  });
});
