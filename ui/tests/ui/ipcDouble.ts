/**
 * The test double at the IPC boundary only: `invoke` from @tauri-apps/api,
 * answering each command from `handlers`. Everything above it (ui/src/ipc,
 * the store, the components) is the real code; the Rust side is tested on
 * its own. A command without a handler fails the way Tauri does.
 */
export const handlers: Record<string, (args: Record<string, unknown> | undefined) => unknown> = {};
export const calls: { command: string; args: Record<string, unknown> | undefined }[] = [];

export async function invoke<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  calls.push({ command, args });
  const h = handlers[command];
  if (!h) throw { code: 'internal', message: `no test handler for ${command}` };
  return (await h(args)) as T;
}

export function reset(): void {
  for (const k of Object.keys(handlers)) delete handlers[k];
  calls.length = 0;
}
