import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// `npm run dev` serves the app with hot reload on :5173 and forwards the API (and sockets) to a
// Tandem server on :1234 started separately (`npm start` from the repository root).
export default defineConfig({
  plugins: [react()],
  resolve: {
    // Tandem's packages from source, so edits to them reload too and no dist/ is needed.
    conditions: ['source', ...defaultClientConditions],
    // Two copies of Yjs break documents.
    dedupe: ['yjs', 'y-protocols', 'lib0', 'react', 'react-dom'],
  },
  server: {
    proxy: {
      '/v1': { target: 'http://127.0.0.1:1234', ws: true },
      '/healthz': 'http://127.0.0.1:1234',
    },
  },
  build: { outDir: 'dist', sourcemap: true, chunkSizeWarningLimit: 1500 },
});
