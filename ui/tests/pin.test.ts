import { describe, expect, it } from 'vitest';
import { pinFits, pinPolicy } from '../src/lib/pin';

describe('the PIN policy is the one the app states', () => {
  const policy = pinPolicy({ pin_min_digits: 6, pin_max_digits: 12 });
  it.each([
    ['123456', true],
    ['123456789012', true],
    ['12345', false],
    ['1234567890123', false],
    ['12345a', false],
    ['', false],
  ])('%j fits: %s', (pin, fits) => {
    expect(pinFits(pin, policy)).toBe(fits);
  });
  it('knows no policy before the app state, so nothing fits', () => {
    expect(pinPolicy(null)).toBeNull();
    expect(pinFits('123456', null)).toBe(false);
  });
  it('follows a different vault', () => {
    expect(pinFits('1234', pinPolicy({ pin_min_digits: 4, pin_max_digits: 8 }))).toBe(true);
  });
});
