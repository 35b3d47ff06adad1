'use strict';
// Test support: locate the built contextd binary and a scripted UI (the only stub:
// the editor's UI edge). Everything else talks to the real server.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { RpcClient } = require('../lib/rpc');

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** The server binary: $CONTEXTD, else .build/debug/contextd in the repository. */
function serverPath() {
  const p = process.env.CONTEXTD ? path.resolve(process.env.CONTEXTD) : path.join(repoRoot, '.build', 'debug', 'contextd');
  if (!fs.existsSync(p)) {
    throw new Error(`contextd binary not found at ${p}: run \`swift build\` or set CONTEXTD`);
  }
  return p;
}

const created = [];
process.on('exit', () => {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed when the test process exits. */
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contextd-vscode-test-'));
  created.push(dir);
  return dir;
}

/** A client on a fresh temporary data directory (or `--store memory`). */
function newClient({ memory = false, dataDir, ...options } = {}) {
  const dir = dataDir || (memory ? undefined : tempDir());
  const args = memory ? ['--store', 'memory'] : ['--data-dir', dir];
  const client = new RpcClient({
    command: serverPath(),
    args,
    restartDelayMs: 50,
    requestTimeoutMs: 20000,
    initializeParams: { processId: process.pid, rootUri: null, clientInfo: { name: 'contextd-vscode-test', version: '0' } },
    ...options,
  });
  let stderr = '';
  client.on('stderr', (t) => (stderr += t));
  client.stderrText = () => stderr;
  client.dataDir = dir;
  return client;
}

/**
 * A UI whose answers come from queues. Each pick answer is a function of the items
 * returning the chosen value (or a label string); each input answer a function of the
 * options returning the text (or a string). Every call is recorded.
 */
function scriptedUI() {
  const ui = {
    picks: [],
    inputs: [],
    calls: { pick: [], input: [], info: [], warn: [], error: [], insert: [], open: [] },
    text: undefined,
    editorOpen: true,
    async pick(items, options) {
      ui.calls.pick.push({ items, options });
      if (!ui.picks.length) throw new Error(`unexpected pick: ${options && options.title}`);
      const answer = ui.picks.shift();
      if (typeof answer === 'function') return answer(items, options);
      if (answer === undefined) return undefined;
      const item = items.find((i) => i.label === answer);
      if (!item) throw new Error(`no item labelled ${answer} in ${items.map((i) => i.label).join(', ')}`);
      return item.value;
    },
    async input(options) {
      ui.calls.input.push(options);
      if (!ui.inputs.length) throw new Error(`unexpected input: ${options.title}`);
      const answer = ui.inputs.shift();
      const text = typeof answer === 'function' ? answer(options) : answer;
      if (text !== undefined && options.validate) {
        const problem = options.validate(text);
        if (problem) {
          ui.calls.input.push({ rejected: text, problem });
          return ui.input(options); // like VS Code: the box stays open until valid or cancelled
        }
      }
      return text;
    },
    info: (m) => ui.calls.info.push(m),
    warn: (m) => ui.calls.warn.push(m),
    error: (m) => ui.calls.error.push(m),
    getText: () => (ui.text === undefined ? undefined : { text: ui.text, source: 'selection' }),
    async insertText(text) {
      if (!ui.editorOpen) return false;
      ui.calls.insert.push(text);
      return true;
    },
    async openDocument(text, options) {
      ui.calls.open.push({ text, options });
    },
  };
  return ui;
}

module.exports = { serverPath, newClient, scriptedUI, tempDir, repoRoot };
