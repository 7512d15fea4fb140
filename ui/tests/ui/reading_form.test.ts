// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { flushSync } from 'svelte';
import { handlers, reset } from './ipcDouble';
import { byTestId, render, settle, signedIn } from './mount';
import ReadingForm from '../../src/components/ReadingForm.svelte';
import type { ReadingInput } from '../../src/ipc/types';

beforeEach(() => {
  reset();
  signedIn();
  handlers.parse_numbers = (args) => ((args?.items as [string, string][]) ?? []).map(([, text]) => (/^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 100) : null));
});

async function type(el: HTMLElement | null, text: string) {
  const input = el as HTMLInputElement;
  input.value = text;
  input.dispatchEvent(new Event('input'));
  await settle();
}
async function tick(el: HTMLElement | null) {
  (el as HTMLInputElement).click();
  await settle();
}

describe('a room reading', () => {
  it('takes the room type as its label when none is typed, and keeps consent and "shown" for the next room', async () => {
    const sent: ReadingInput[] = [];
    const { target, instance } = await render(ReadingForm, {
      submitLabel: '保存',
      submitTestid: 'add-reading',
      onsubmit: (input: ReadingInput) => sent.push(input),
    });
    await type(byTestId(target, 'reading-celsius'), '17.6');
    await tick(byTestId(target, 'consent'));
    await tick(byTestId(target, 'shown'));
    const submit = byTestId(target, 'add-reading') as HTMLButtonElement;
    expect(submit.disabled, 'no label typed is fine').toBe(false);
    submit.click();
    flushSync();
    expect(sent[0]).toMatchObject({ room_kind: 'living_room', label: '客厅', celsius_text: '17.6', consent_to_enter: true, shown_to_customer: true });
    // Sealed: Test.svelte resets the form for the next room.
    (instance.reset as () => void)();
    await settle();
    expect((byTestId(target, 'reading-celsius') as HTMLInputElement).value).toBe('');
    expect((byTestId(target, 'consent') as HTMLInputElement).checked, 'consent kept').toBe(true);
    expect((byTestId(target, 'shown') as HTMLInputElement).checked, '"shown" kept').toBe(true);
    // A typed label is sent as typed.
    await type(byTestId(target, 'room-label'), '主卧');
    await type(byTestId(target, 'reading-celsius'), '18.2');
    (byTestId(target, 'add-reading') as HTMLButtonElement).click();
    flushSync();
    expect(sent[1]).toMatchObject({ label: '主卧', consent_to_enter: true });
  });
});
