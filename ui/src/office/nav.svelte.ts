/**
 * Which screen the console shows, and what it shows there: one place, so a
 * screen can send the operator to another (the review queue opens a record,
 * the board opens an order's records) without knowing the frame.
 */

export type Screen = 'board' | 'follow_ups' | 'complaints' | 'reviews' | 'records' | 'reports' | 'admin';

export interface Place {
  screen: Screen;
  /** The record the records screen opens (`records`), if any. */
  record?: string;
  /** The work order whose records the records screen lists, if any. */
  workOrder?: string;
}

const place = $state<{ current: Place }>({ current: { screen: 'board' } });

export function here(): Place {
  return place.current;
}

export function go(next: Place): void {
  place.current = next;
}
