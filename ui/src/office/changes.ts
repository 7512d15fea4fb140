/**
 * What the dispatcher needs when a change is refused as stale (409
 * stale_revision): which parts of the order someone else changed, and the
 * appointment slots offered when rescheduling (company time, UTC+8; the
 * server enforces the visit hours).
 */

export interface OrderSnapshot {
  rev: number;
  status: string;
  order: {
    assigned_technicians: string[];
    appointment?: { start: string; end: string } | null;
    priority?: string;
    milestones?: Record<string, unknown>;
  };
  cancellation?: { reason: string } | null;
}

const PROGRESS = ['contacted_at', 'on_site_at', 'completed_at', 'follow_up_at'] as const;

/** Dictionary keys (`stale.*`) of what differs between the order the dispatcher saw and the one on the server. */
export function whatChanged(before: OrderSnapshot, after: OrderSnapshot): string[] {
  const out: string[] = [];
  if (before.status !== after.status) out.push(after.status === 'cancelled' ? 'stale.cancelled' : after.status === 'closed' ? 'stale.closed' : 'stale.status');
  const techs = (o: OrderSnapshot) => [...o.order.assigned_technicians].sort().join(',');
  if (techs(before) !== techs(after)) out.push('stale.technicians');
  const appt = (o: OrderSnapshot) => (o.order.appointment ? `${Date.parse(o.order.appointment.start)}-${Date.parse(o.order.appointment.end)}` : '');
  if (appt(before) !== appt(after)) out.push('stale.appointment');
  // Progress the dispatcher cares about; a reassignment's own dispatch time is not news.
  const progress = (o: OrderSnapshot) => PROGRESS.map((k) => String(o.order.milestones?.[k] ?? '')).join('|');
  if (progress(before) !== progress(after)) out.push('stale.milestones');
  if (out.length === 0 && before.rev !== after.rev) out.push('stale.other');
  return out;
}

/** Appointment slots a dispatcher picks from, company time. */
export const SLOTS = ['08:00-10:00', '09:00-11:00', '10:00-12:00', '13:00-15:00', '14:00-16:00', '16:00-18:00', '18:00-20:00'] as const;

/** A date (YYYY-MM-DD) and a slot as the server's appointment: RFC 3339 with the company's +08:00. */
export function appointmentOf(date: string, slot: string): { start: string; end: string } | null {
  const m = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(slot);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !m) return null;
  return { start: `${date}T${m[1]}:00+08:00`, end: `${date}T${m[2]}:00+08:00` };
}

/** Today's date in company time, YYYY-MM-DD. */
export function companyToday(now: number): string {
  return new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
}
