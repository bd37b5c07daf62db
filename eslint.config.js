// Lint enforces the architecture (docs/architecture.md):
//   commands → app → (checks, render) → core ← adapters, and the lab beside them.
// Every outside API has a port (src/core/ports), an adapter (src/adapters/<api>) and an emulator
// (src/lab/<api>); only app wires adapters into core. test/architecture proves each arrow below
// by linting a small offending file.
import {fileURLToPath} from 'node:url'

import js from '@eslint/js'
import tseslint from 'typescript-eslint'

import architecture from './eslint/architecture.js'

const root = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '')

const ui = ['@oclif/*', 'chalk', 'listr2', 'ink', 'react', 'react/*']
// only src/adapters may import the cloud and Kubernetes clients
const clients = ['@kubernetes/*', '@google-cloud/*', 'google-auth-library', 'gaxios']
const io = ['node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:os', 'node:dgram', 'node:tls', 'fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'os']
const layers = (...names) => names.map((n) => `src/${n}`)

const zones = [
  {zone: 'src/core', forbid: layers('adapters', 'app', 'commands', 'cli', 'render', 'checks', 'lab', 'hooks'), packages: [...ui, ...clients, ...io], why: 'core is pure domain logic; it reaches the world only through src/core/ports'},
  {zone: 'src/core/probe', forbid: layers('core/masquerade'), why: 'the live doctor does not borrow from xcc masquerade: ip-masq-agent semantics live in core/topology, owned pods in core/kube'},
  {zone: 'src/core/masquerade', forbid: layers('core/probe'), why: 'xcc masquerade does not borrow from the live doctor: owned pods, labels and access checks live in core/kube'},
  {zone: 'src/checks', forbid: layers('adapters', 'app', 'commands', 'cli', 'render', 'lab'), packages: [...ui, ...clients, ...io], why: 'checks are pure functions of the gathered context'},
  {zone: 'src/render', forbid: layers('adapters', 'app', 'commands', 'cli', 'lab', 'checks'), packages: [...clients, ...io, '@oclif/*'], why: 'renderers draw the views they are given; they fetch nothing'},
  {zone: 'src/adapters', forbid: layers('lab', 'app', 'commands', 'cli', 'render', 'checks'), packages: ui, why: 'adapters implement core ports on the real clients; the lab is an emulator, not an adapter'},
  {zone: 'src/lab', forbid: layers('adapters', 'app', 'commands', 'cli', 'render', 'checks'), packages: [...ui, ...clients], why: 'the lab emulates the outside world on its own; the clients talk to it, it never uses them'},
  {zone: 'src/lab/compile', forbid: layers('lab/runtime', 'lab/kube', 'lab/http', 'lab/addons', 'core/trace', 'core/doctor', 'core/probe', 'core/masquerade'), packages: io, why: 'the lab compiler is pure and implements the semantics independently of the tracer, so that each checks the other'},
  {zone: 'src/commands', forbid: layers('adapters', 'lab'), packages: clients, why: 'commands parse flags, call src/app and render; app wires adapters and the lab'},
  {zone: 'src/cli', forbid: layers('adapters', 'app', 'lab', 'checks', 'commands'), packages: clients, why: 'src/cli is the CLI kit only (base command, shared flags, argv)'},
  {zone: 'src/app', forbid: layers('commands', 'cli'), packages: ['@oclif/*'], why: 'use cases do not know the CLI framework; commands call them'},
  {zone: 'src/hooks', forbid: layers('adapters', 'lab', 'app'), packages: clients, why: 'oclif hooks use the CLI kit only'},
]

const pure = (files, why) => ({
  files,
  rules: {'no-restricted-globals': ['error', {name: 'process', message: `${why}: pass what you need as arguments`}, {name: 'console', message: `${why}: return data, render elsewhere`}]},
})

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
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: {xcc: architecture},
    rules: {'xcc/architecture': ['error', {root, zones}]},
  },
  pure(['src/core/**'], 'core is pure'),
  pure(['src/checks/**'], 'checks are pure'),
  pure(['src/lab/compile/**'], 'the lab compiler is pure'),
)
