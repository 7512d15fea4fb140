// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { handlers, reset } from './ipcDouble';
import { byTestId, click, render, signedIn } from './mount';
import PinInput from '../../src/components/PinInput.svelte';
import SignIn from '../../src/screens/SignIn.svelte';
import Test from '../../src/screens/Test.svelte';
import { store } from '../../src/lib/store.svelte';

beforeEach(() => {
  reset();
  signedIn();
});

async function pressDigits(root: ParentNode, testid: string, digits: string) {
  for (const d of digits) await click(byTestId(root, `${testid}-key-${d}`));
}

const filledSlots = (root: ParentNode, testid: string) => byTestId(root, `${testid}-slots`)!.querySelectorAll('.pin-slot.filled').length;

describe('PIN entry with gloves', () => {
  it('shows six dots for six digits, and twelve for twelve (the slots are drawn, not the font)', async () => {
    const { target } = await render(PinInput, { value: '', testid: 'p', label: 'x' });
    await pressDigits(target, 'p', '482913');
    expect(filledSlots(target, 'p')).toBe(6);
    expect(byTestId(target, 'p-slots')!.querySelectorAll('.pin-slot').length).toBe(6);
    await pressDigits(target, 'p', '123456789');
    expect(filledSlots(target, 'p'), 'no more than the vault takes').toBe(12);
    expect((byTestId(target, 'p') as HTMLInputElement).value).toBe('482913123456');
  });

  it('offers the on-screen pad wherever a PIN is asked, unless told otherwise', async () => {
    const { target } = await render(PinInput, { value: '', testid: 'p', label: 'x' });
    expect(byTestId(target, 'p-pad')).not.toBeNull();
  });

  it("names the person at sign-in, and puts the sign-in button above the pad (in sight at 1280 × 800)", async () => {
    const { target } = await render(SignIn, {});
    await click(byTestId(target, 'signin-tech-T0017'));
    expect(target.textContent).toContain('王建国 的密码');
    expect(target.textContent).not.toContain('T0017 的密码');
    const button = byTestId(target, 'sign-in')!;
    const pad = byTestId(target, 'pin-input-pad')!;
    expect(button.compareDocumentPosition(pad) & Node.DOCUMENT_POSITION_FOLLOWING, 'the button comes before the pad').toBeTruthy();
    await pressDigits(target, 'pin-input', '48291');
    expect((button as HTMLButtonElement).disabled, 'five digits are not a PIN').toBe(true);
    await pressDigits(target, 'pin-input', '3');
    expect((button as HTMLButtonElement).disabled).toBe(false);
  });

  it('gives the witness and both co-signers the pad and their names', async () => {
    handlers.temperature_test = () => null;
    handlers.thermometers = () => [];
    const { target } = await render(Test, { workOrderId: 'WO-T-1' });
    const select = byTestId(target, 'witness-tech') as HTMLSelectElement;
    select.value = 'T0023';
    select.dispatchEvent(new Event('change'));
    await new Promise((r) => setTimeout(r, 0));
    expect(target.textContent).toContain('李秀英 的密码');
    expect(byTestId(target, 'witness-pin-pad')).not.toBeNull();

    const test = {
      test_id: 't1',
      work_order_id: 'WO-T-1',
      performer: { tech_id: 'T0017', name: '王建国' },
      witness: { tech_id: 'T0023', name: '李秀英' },
      thermometer: { serial: 'TM-2291', certificate_no: 'JD-1', valid_until: '2027-06-30' },
      started_at: '2026-11-23T02:00:00Z',
      readings: [],
      compliance: null,
      report: null,
      signoff: null,
      summary: '',
    };
    handlers.temperature_test = () => test;
    const signing = await render(Test, { workOrderId: 'WO-T-1' });
    expect(signing.target.textContent).toContain('王建国 的密码');
    expect(signing.target.textContent).toContain('李秀英 的密码');
    expect(byTestId(signing.target, 'performer-pin-pad')).not.toBeNull();
    expect(byTestId(signing.target, 'witness-pin-sign-pad')).not.toBeNull();
    expect(store.error).toBeNull();
  });
});
