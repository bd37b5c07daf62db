// Lint enforces the architecture: commands → (checks, render) → core ← adapters.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const heavyOrOutside = ['@oclif/*', 'chalk', 'listr2', 'ink', 'react', 'react/*']
// only src/adapters may import the cloud and Kubernetes clients (design.md)
const clients = ['@kubernetes/*', '@google-cloud/*', 'google-auth-library']
const io = ['node:fs', 'node:fs/*', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:os', 'fs', 'child_process']

function boundary(files, {paths = [], patterns = []}, globals = []) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', {patterns: [...patterns.map((group) => ({group: [group], message: 'architecture boundary (see ../shared/docs/design.md)'}))], paths}],
      'no-restricted-globals': ['error', ...globals],
    },
  }
}

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'bench/out/**', 'oclif.manifest.json']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly'}},
  },
  // core is pure: no I/O, no CLI framework, no rendering, no process or console.
  boundary(
    ['src/core/**'],
    {patterns: [...heavyOrOutside, ...clients, ...io, '**/adapters/**', '**/commands/**', '**/render/**', '**/checks/**', '**/cli/**', '**/lab/**']},
    [
      {name: 'process', message: 'core is pure: pass what you need as arguments'},
      {name: 'console', message: 'core is pure: return data, render elsewhere'},
    ],
  ),
  // checks are pure functions of the gathered context.
  boundary(
    ['src/checks/**'],
    {patterns: [...heavyOrOutside, ...clients, ...io, '**/adapters/**', '**/commands/**', '**/render/**', '**/cli/**']},
    [{name: 'process', message: 'checks are pure'}, {name: 'console', message: 'checks are pure'}],
  ),
  // renderers draw; they do not fetch.
  boundary(['src/render/**'], {patterns: ['@oclif/*', ...clients, ...io, '**/adapters/**', '**/commands/**']}),
  // the lab (runtime, emulated APIs) may do I/O but never reaches the CLI layer.
  boundary(['src/lab/**'], {patterns: [...clients, '@oclif/*', 'chalk', 'listr2', 'ink', 'react', 'react/*', '**/commands/**', '**/render/**', '**/checks/**', '**/cli/**']}),
  // (later entries win) the lab's plan is pure: a topology in, the Linux networking to build out (src/lab/plan).
  boundary(
    ['src/lab/plan/**'],
    {patterns: [...heavyOrOutside, ...clients, ...io, '**/adapters/**', '**/commands/**', '**/render/**', '**/checks/**', '**/cli/**', '**/lab/runtime/**', '**/lab/kube/**']},
    [
      {name: 'process', message: 'the lab plan is pure: pass what you need as arguments'},
      {name: 'console', message: 'the lab plan is pure: return data'},
    ],
  ),
  // commands and the CLI layer reach the clients only through src/adapters.
  boundary(['src/commands/**', 'src/cli/**'], {patterns: clients}),
  // adapters talk to the outside world but never to the CLI layer.
  boundary(['src/adapters/**'], {patterns: ['@oclif/*', 'chalk', 'listr2', 'ink', 'react', '**/commands/**', '**/render/**', '**/checks/**', '**/cli/**']}),
)
