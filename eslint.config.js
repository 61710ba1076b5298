import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
    },
  },
  {
    // Type-aware rules: a promise nobody awaits or catches is how a rejection takes the process down.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  // The server's layers (docs/architecture.md): a lower folder never imports a higher one, type-only
  // imports included (no-restricted-imports counts them). Tests are exempt.
  ...serverLayers([
    ['yjs', ['rooms', 'storage', 'http', 'transport', 'events', 'revisions', 'extensions', 'bus', 'auth']],
    ['storage', ['rooms', 'http', 'transport', 'events/event-service', 'revisions', 'extensions', 'bus']],
    ['rooms', ['http', 'transport', 'extensions', 'revisions']],
    ['transport', ['http']],
  ]),
  {
    files: ['scripts/**', '**/bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // y-websocket 1.5's server utilities are CommonJS, so its benchmark launcher is too.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

/** One no-restricted-imports block per server folder: the folders it must not import from. */
function serverLayers(rules) {
  return rules.map(([folder, forbidden]) => ({
    files: [`packages/server/src/${folder}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((target) => ({
            group: [`../${target}/*`, `../${target}.js`, `../../${target}/*`],
            message: `${folder}/ is below ${target.split('/')[0]}/ (docs/architecture.md, "Layers")`,
          })),
        },
      ],
    },
  }));
}
