import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Two copies of Yjs break documents: the app's is the one every package gets.
export default defineConfig({ plugins: [react()], resolve: { dedupe: ['yjs'] } });
