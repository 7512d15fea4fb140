/** The records list: each correction or void shown right after the record it supersedes. */
import type { RecordState, RecordView } from '../ipc/types';

export interface RecordRow {
  record: RecordView;
  /** Depth 0 for an original, 1+ for a record superseding the one above. */
  depth: number;
}

export function recordRows(records: RecordView[]): RecordRow[] {
  const ids = new Set(records.map((r) => r.record_id));
  const children = new Map<string, RecordView[]>();
  const top: RecordView[] = [];
  for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
    if (r.supersedes && ids.has(r.supersedes)) {
      const list = children.get(r.supersedes) ?? [];
      list.push(r);
      children.set(r.supersedes, list);
    } else {
      top.push(r);
    }
  }
  const out: RecordRow[] = [];
  const emit = (r: RecordView, depth: number) => {
    out.push({ record: r, depth });
    for (const c of children.get(r.record_id) ?? []) emit(c, depth + 1);
  };
  top.forEach((r) => emit(r, 0));
  return out;
}

export function recordStateClass(state: RecordState): string {
  return `rec-${state.replace('_', '-')}`;
}

/** `hearth.visit_step/1` -> `visit_step` (the i18n key suffix `schema.visit_step`). */
export function schemaName(schema: string): string {
  const m = /^hearth\.([a-z_]+)\/\d+$/.exec(schema);
  return m?.[1] ?? schema;
}
