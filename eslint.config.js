import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.cache/', 'bench/results/', 'helm/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The shared core is pure: no I/O, no clients, no SDKs.
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@kubernetes/*',
                'ioredis',
                'undici',
                'express',
                '@opentelemetry/*',
                'node:http',
                'node:https',
                'node:net',
                'node:fs',
                'node:fs/*',
                'node:child_process',
              ],
              message: 'core/ has no I/O: keep clients in operator/ or sidecar/.',
            },
            {
              group: ['../operator/*', '../sidecar/*', '../cli/*', '../../operator/*', '../../sidecar/*'],
              message: 'dependencies point inward: core imports nothing outside core.',
            },
          ],
        },
      ],
    },
  },
  {
    // The sidecar never talks to Kubernetes.
    files: ['sidecar/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@kubernetes/*', '../operator/*'],
              message: 'the sidecar reads tables from Redis, never from the apiserver.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
