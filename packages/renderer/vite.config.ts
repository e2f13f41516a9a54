import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
  // Relative asset paths: web mode serves dist/ at '/', Electron loads it from its own origin.
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
})
