import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The office console, served by hearth-server under /office/ from the files
// it embeds at build time (crates/server/build.rs reads ui/dist-office).
// No inline scripts or styles: the server's CSP forbids them.
export default defineConfig({
  base: '/office/',
  plugins: [svelte()],
  clearScreen: false,
  build: {
    outDir: 'dist-office',
    emptyOutDir: true,
    target: 'es2021',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: { input: 'office.html' },
  },
});
