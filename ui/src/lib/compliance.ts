/**
 * How a temperature verdict is shown: a CSS class (colour) and an i18n key.
 * compliant = green, below standard = red, not counted = grey.
 */
import type { Compliance, RoomVerdict } from '../ipc/types';

export interface VerdictDisplay {
  cls: 'verdict-ok' | 'verdict-bad' | 'verdict-none';
  labelKey: string;
}

export function roomVerdictDisplay(verdict: RoomVerdict): VerdictDisplay {
  switch (verdict) {
    case 'compliant':
      return { cls: 'verdict-ok', labelKey: 'verdict.compliant' };
    case 'below_standard':
      return { cls: 'verdict-bad', labelKey: 'verdict.below_standard' };
    case 'not_counted':
      return { cls: 'verdict-none', labelKey: 'verdict.not_counted' };
  }
}

/** The overall verdict; `undefined` (no readings yet) shows as grey "no verdict yet". */
export function overallVerdictDisplay(verdict: Compliance | undefined): VerdictDisplay {
  switch (verdict) {
    case 'compliant':
      return { cls: 'verdict-ok', labelKey: 'verdict.overall_compliant' };
    case 'below_standard':
      return { cls: 'verdict-bad', labelKey: 'verdict.overall_below_standard' };
    default:
      return { cls: 'verdict-none', labelKey: 'verdict.overall_none' };
  }
}
