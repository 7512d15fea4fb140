/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Tauri serves the built files from ui/dist; relative base so assets resolve
// from the app's custom protocol. No inline scripts: the CSP forbids them.
export default defineConfig({
  base: './',
  plugins: [svelte()],
  // Component tests mount the screens in a DOM (jsdom): Svelte's browser build, not its server one.
  ...(process.env.VITEST ? { resolve: { conditions: ['browser'] } } : {}),
  clearScreen: false,
  // src-tauri's devUrl is http://localhost:5173.
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2021',
    // Never inline assets as data: URIs beyond what the CSP allows for images.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
  },
});
