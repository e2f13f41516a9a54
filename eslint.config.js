// ESLint 9 flat config. Uses typescript-eslint's syntax-only presets (no type information),
// so `npm run lint` stays fast; `npm run typecheck` is what checks types.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { defineConfig, globalIgnores } from 'eslint/config'

// The few Node globals plain-JS files (like this one) may use; TypeScript files get their
// names checked by tsc, so typescript-eslint turns `no-undef` off for them.
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask'].map(
    (name) => [name, 'readonly'],
  ),
)

export default defineConfig(
  globalIgnores(['**/node_modules/', '**/dist/', 'artifacts/', '**/.bench-tmp/']),

  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: nodeGlobals },
    rules: {
      // `_name` marks a parameter or binding that must exist but is deliberately unused.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },

  // Layering: libraries never reach up into the runnable apps that compose them.
  {
    files: ['packages/*/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/apps/**', '@hearsay/pub', '@hearsay/pub/*', '@hearsay/desktop', '@hearsay/desktop/*'],
              message: 'packages/* are libraries and must not import from apps/*; move the shared code into a package.',
            },
          ],
        },
      ],
    },
  },

  // The renderer runs in a browser page and reaches the peer only through the client API: no Node
  // builtins, no other workspace package, only the browser libraries it declares.
  {
    files: ['packages/renderer/src/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\.{1,2}/|(@hearsay/client-api|react|react-dom/client|@tanstack/react-virtual|markdown-it)$)',
              message: 'packages/renderer imports only @hearsay/client-api and its own browser dependencies (react, react-dom/client, @tanstack/react-virtual, markdown-it).',
            },
          ],
        },
      ],
    },
  },
)
