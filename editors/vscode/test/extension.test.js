'use strict';
// extension.js wiring with the `vscode` module replaced by a stub of the UI edge:
// activation starts the real server, every contributed command is registered, the
// status bar follows the session, the tree lists sessions by project and status.
const test = require('node:test');
const assert = require('node:assert/strict');
const Module = require('module');
const fs = require('fs');
const path = require('path');
const { serverPath, tempDir } = require('./helpers');

function stubVscode({ settings, folder }) {
  const registered = new Map();
  const statusItems = [];
  const messages = { info: [], warn: [], error: [] };
  const quickPicks = [];
  const inputs = [];
  const trees = new Map();
  class EventEmitter {
    constructor() {
      this.listeners = [];
      this.event = (fn) => (this.listeners.push(fn), { dispose() {} });
    }
    fire(v) {
      for (const l of this.listeners) l(v);
    }
  }
  class TreeItem {
    constructor(label, collapsibleState) {
      this.label = label;
      this.collapsibleState = collapsibleState;
    }
  }
  const vscode = {
    EventEmitter,
    TreeItem,
    ThemeIcon: class {
      constructor(id) {
        this.id = id;
      }
    },
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    window: {
      createStatusBarItem() {
        const item = { text: '', tooltip: '', show() {}, dispose() {} };
        statusItems.push(item);
        return item;
      },
      createOutputChannel: () => ({ append() {}, appendLine() {}, dispose() {} }),
      registerTreeDataProvider(id, provider) {
        trees.set(id, provider);
        return { dispose() {} };
      },
      showQuickPick: async (items) => {
        const choose = quickPicks.shift();
        return choose ? choose(await items) : undefined;
      },
      showInputBox: async () => inputs.shift(),
      showInformationMessage: (m) => messages.info.push(m),
      showWarningMessage: (m) => messages.warn.push(m),
      showErrorMessage: (m) => messages.error.push(m),
      activeTextEditor: undefined,
    },
    commands: {
      registerCommand(id, fn) {
        registered.set(id, fn);
        return { dispose() {} };
      },
      executeCommand: (id, ...args) => registered.get(id)(...args),
    },
    workspace: {
      workspaceFolders: [{ uri: { fsPath: folder, toString: () => `file://${folder}` }, name: path.basename(folder) }],
      getConfiguration: () => ({ get: (k) => settings[k] }),
      onDidChangeConfiguration: () => ({ dispose() {} }),
    },
  };
  return { vscode, registered, statusItems, messages, quickPicks, inputs, trees };
}

test('activation wires every contributed command, the status bar and the tree to the server', async () => {
  const folder = path.join(tempDir(), 'vscode-proj');
  fs.mkdirSync(folder);
  const stub = stubVscode({ settings: { serverPath: serverPath(), dataDir: tempDir(), serverArgs: [], exclusiveStart: true }, folder });
  const originalLoad = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return stub.vscode;
    return originalLoad.call(this, request, ...rest);
  };
  const extPath = require.resolve('../extension');
  delete require.cache[extPath];
  const ext = require('../extension');
  const context = { subscriptions: [], workspaceState: new Map([]), extension: { packageJSON: { version: '0.1.0' } } };
  context.workspaceState.update = context.workspaceState.set;
  try {
    ext.activate(context);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    const contributed = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...stub.registered.keys()].sort(), contributed, 'registered commands = contributed commands');
    assert.ok(stub.trees.has('contextd.sessions'));
    assert.deepEqual(pkg.contributes.views.explorer.map((v) => v.id), ['contextd.sessions']);
    for (const key of ['contextd.serverPath', 'contextd.dataDir']) assert.ok(pkg.contributes.configuration.properties[key], key);

    const status = stub.statusItems[0];
    assert.match(status.text, /no session/);

    stub.quickPicks.push((items) => items.find((i) => i.label === 'testing'));
    stub.inputs.push('Wired session');
    await stub.registered.get('contextd.startSession')();
    assert.deepEqual(stub.messages.error, []);
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s ticker repaints
    assert.match(status.text, /^\$\(pulse\) Wired session · testing · 0:0\d$/);

    await stub.registered.get('contextd.pauseSession')();
    assert.match(status.text, /^\$\(debug-pause\) Wired session · testing · 0:0\d \(paused\)$/);
    await stub.registered.get('contextd.pauseSession')();
    assert.match(stub.messages.error.at(-1), /^contextd error 1002/);

    const tree = stub.trees.get('contextd.sessions');
    const roots = await tree.getChildren();
    assert.equal(tree.getTreeItem(roots[0]).label, 'vscode-proj');
    const statuses = await tree.getChildren(roots[0]);
    assert.equal(tree.getTreeItem(statuses[0]).label, 'paused (1)');
    const [leaf] = await tree.getChildren(statuses[0]);
    const item = tree.getTreeItem(leaf);
    assert.equal(item.label, 'Wired session');
    assert.match(item.description, /testing · 0:0\d · current/);
    assert.equal(item.command.command, 'contextd.switchSession');
    assert.equal(item.contextValue, 'session.paused');

    // Menus name only contributed commands; the tree's inline Resume acts on its item.
    for (const entries of Object.values(pkg.contributes.menus)) {
      for (const e of entries) assert.ok(contributed.includes(e.command), `menu command ${e.command}`);
    }
    stub.quickPicks.push((items) => items.find((i) => i.label === 'planning'));
    stub.inputs.push('Other session');
    await stub.registered.get('contextd.startSession')();
    assert.match(status.text, /Other session · planning/);
    await stub.registered.get('contextd.resumeSession')(leaf);
    assert.deepEqual(stub.messages.error.slice(1), []);
    assert.match(status.text, /^\$\(pulse\) Wired session · testing · 0:0\d$/);
  } finally {
    await ext.deactivate();
    for (const d of context.subscriptions) if (d && d.dispose) d.dispose();
    Module._load = originalLoad;
  }
});
