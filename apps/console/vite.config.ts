import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * `npm run dev -w @albatross/console`: hot reload against a running platform
 * (ALBATROSS_PLATFORM_URL, default http://127.0.0.1:8080), whose HTTP API and
 * WebSocket are proxied so the console keeps one origin as in production.
 */
const platform = process.env.ALBATROSS_PLATFORM_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // Workspace packages from their TypeScript sources, on top of Vite's browser conditions.
  resolve: { conditions: ['@albatross/source', ...defaultClientConditions] },
  server: {
    proxy: {
      '/api': { target: platform, ws: true },
      '/ws': { target: platform, ws: true },
      '/.well-known': { target: platform },
      '/metrics': { target: platform },
    },
  },
  build: { outDir: 'dist', sourcemap: true, assetsDir: 'assets' },
});
