'use strict';
// VS Code wiring for contextd: the `vscode` API lives only here. Logic is in
// lib/commands.js (testable with a scripted UI) and the client in lib/rpc.js.

const vscode = require('vscode');
const os = require('os');
const { RpcClient, formatError } = require('./lib/rpc');
const { ContextdCommands } = require('./lib/commands');
const { elapsedActiveMs, formatDuration, groupSessions } = require('./lib/format');

let client;
let commands;

/** The UI interface lib/commands.js expects, on top of the VS Code API. */
function vscodeUI() {
  return {
    async pick(items, { title, placeholder } = {}) {
      const chosen = await vscode.window.showQuickPick(
        items.map((i) => ({ label: i.label, description: i.description, detail: i.detail, value: i.value })),
        { title, placeHolder: placeholder, matchOnDescription: true, matchOnDetail: true }
      );
      return chosen ? chosen.value : undefined;
    },
    input({ title, prompt, value, placeholder, validate } = {}) {
      return vscode.window.showInputBox({ title, prompt, value, placeHolder: placeholder, validateInput: validate, ignoreFocusOut: true });
    },
    info: (m) => vscode.window.showInformationMessage(m),
    warn: (m) => vscode.window.showWarningMessage(m),
    error: (m) => vscode.window.showErrorMessage(m),
    getText() {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return undefined;
      const sel = editor.selection;
      if (sel && !sel.isEmpty) return { text: editor.document.getText(sel), source: 'selection' };
      return { text: editor.document.getText(), source: 'buffer' };
    },
    async insertText(text) {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return false;
      return editor.edit((edit) => {
        for (const sel of editor.selections) edit.replace(sel, text);
      });
    },
    async openDocument(text, { language, reveal } = {}) {
      const doc = await vscode.workspace.openTextDocument({ content: text, language: language || 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc, { preview: false });
      if (reveal) {
        const offset = text.indexOf(reveal);
        if (offset >= 0) {
          const start = doc.positionAt(offset);
          const end = doc.positionAt(offset + reveal.length);
          editor.selection = new vscode.Selection(start, end);
          editor.revealRange(new vscode.Range(start, end), vscode.TextEditorRevealType.InCenter);
        }
      }
    },
  };
}

/** Tree of sessions: project → status → session. */
class SessionTreeProvider {
  constructor(cmds) {
    this.commands = cmds;
    this._emitter = new vscode.EventEmitter();
    this.onDidChangeTreeData = this._emitter.event;
    this.groups = null;
  }

  refresh() {
    this.groups = null;
    this._emitter.fire();
  }

  async getChildren(element) {
    if (!element) {
      try {
        this.groups = groupSessions(await this.commands.listSessions());
      } catch (err) {
        return [{ kind: 'error', message: formatError(err) }];
      }
      return this.groups.map((g) => ({ kind: 'project', group: g }));
    }
    if (element.kind === 'project') return element.group.statuses.map((s) => ({ kind: 'status', group: s }));
    if (element.kind === 'status') return element.group.sessions.map((s) => ({ kind: 'session', session: s }));
    return [];
  }

  getTreeItem(element) {
    const C = vscode.TreeItemCollapsibleState;
    switch (element.kind) {
      case 'project': {
        const item = new vscode.TreeItem(element.group.project, C.Expanded);
        item.iconPath = new vscode.ThemeIcon('folder');
        return item;
      }
      case 'status': {
        const g = element.group;
        const open = g.status === 'active' || g.status === 'paused' || g.status === 'idle';
        const item = new vscode.TreeItem(`${g.status} (${g.sessions.length})`, open ? C.Expanded : C.Collapsed);
        return item;
      }
      case 'session': {
        const s = element.session;
        const item = new vscode.TreeItem(s.name, C.None);
        item.description = `${s.mode} · ${formatDuration(elapsedActiveMs(s))}`;
        item.tooltip = `${s.id}\n${s.status} since ${s.updatedAt}`;
        item.contextValue = `session.${s.status}`;
        item.iconPath = new vscode.ThemeIcon(
          { active: 'play-circle', paused: 'debug-pause', idle: 'circle-outline', completed: 'pass', failed: 'error' }[s.status] || 'circle-outline'
        );
        const current = commands && commands.current && commands.current.id === s.id;
        if (current) item.description += ' · current';
        item.command = { command: 'contextd.switchSession', title: 'Switch to session', arguments: [s.id] };
        return item;
      }
      default:
        return new vscode.TreeItem(element.message || '', C.None);
    }
  }
}

function configuration() {
  const cfg = vscode.workspace.getConfiguration('contextd');
  const args = [...(cfg.get('serverArgs') || [])];
  let dataDir = cfg.get('dataDir');
  if (dataDir) {
    dataDir = dataDir.replace(/^~(?=$|[\\/])/, os.homedir());
    args.push('--data-dir', dataDir);
  }
  return { command: cfg.get('serverPath') || 'contextd', args, exclusiveStart: cfg.get('exclusiveStart') !== false };
}

function activate(context) {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const cfg = configuration();
  const output = vscode.window.createOutputChannel('contextd');
  client = new RpcClient({
    command: cfg.command,
    args: cfg.args,
    cwd: folder ? folder.uri.fsPath : undefined,
    initializeParams: () => ({
      processId: process.pid,
      rootUri: folder ? folder.uri.toString() : null,
      workspaceFolders: (vscode.workspace.workspaceFolders || []).map((f) => ({ uri: f.uri.toString(), name: f.name })),
      clientInfo: { name: 'contextd-vscode', version: context.extension ? context.extension.packageJSON.version : undefined },
      capabilities: {},
    }),
  });
  client.on('stderr', (text) => output.append(text));
  client.on('exit', ({ code, signal, expected }) => {
    if (!expected) output.appendLine(`[contextd exited: ${signal || code}; restarting]`);
  });
  client.on('restarted', () => {
    output.appendLine('[contextd restarted]');
    refreshAll();
  });
  client.on('gaveUp', () => vscode.window.showErrorMessage('contextd keeps exiting; not restarting it. See the "contextd" output.'));
  client.on('restartFailed', (err) => vscode.window.showErrorMessage(formatError(err)));
  client.on('notification:session/didChange', () => {
    tree.refresh();
    commands.run('refresh');
  });

  commands = new ContextdCommands({
    client,
    ui: vscodeUI(),
    workspace: { rootPath: folder ? folder.uri.fsPath : undefined, name: folder ? folder.name : undefined },
    state: context.workspaceState,
    exclusiveStart: cfg.exclusiveStart,
  });

  const tree = new SessionTreeProvider(commands);
  context.subscriptions.push(vscode.window.registerTreeDataProvider('contextd.sessions', tree));

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.command = 'contextd.sessionActions';
  const paint = () => {
    const st = commands.status();
    const icon = !st.session ? '$(circle-slash)' : st.session.status === 'active' ? '$(pulse)' : '$(debug-pause)';
    status.text = `${icon} ${st.text}`;
    status.tooltip = st.tooltip;
    status.show();
  };
  commands.on('change', () => {
    paint();
    tree.refresh();
  });
  const ticker = setInterval(paint, 1000);
  const refetch = setInterval(() => commands.run('refresh'), 60000);
  context.subscriptions.push(status, output, { dispose: () => (clearInterval(ticker), clearInterval(refetch)) });

  const refreshAll = () => {
    commands.run('refresh');
    tree.refresh();
  };

  const register = (id, fn) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  // Lifecycle commands act on the current session, or on the tree item they were invoked on.
  const onSession = (name) => async (element) => {
    if (element && element.kind === 'session') {
      if (!(await commands.run('switchSession', element.session.id))) return undefined;
    }
    return commands.run(name);
  };
  register('contextd.startSession', () => commands.run('startSession'));
  register('contextd.pauseSession', onSession('pauseSession'));
  register('contextd.resumeSession', onSession('resumeSession'));
  register('contextd.completeSession', onSession('completeSession'));
  register('contextd.failSession', onSession('failSession'));
  register('contextd.switchSession', (id) => commands.run('switchSession', typeof id === 'string' ? id : undefined));
  register('contextd.renderTemplate', () => commands.run('renderTemplate'));
  register('contextd.sendSelection', () => commands.run('sendText'));
  register('contextd.searchHistory', () => commands.run('search'));
  register('contextd.refreshSessions', refreshAll);
  register('contextd.restartServer', async () => {
    await client.stop();
    client.start().then(refreshAll, (err) => vscode.window.showErrorMessage(formatError(err)));
  });
  register('contextd.sessionActions', async () => {
    const s = commands.current;
    const actions = [];
    if (!s) actions.push(['Start a session', 'contextd.startSession']);
    if (s && (s.status === 'idle' || s.status === 'paused')) actions.push(['Resume', 'contextd.resumeSession']);
    if (s && s.status === 'active') actions.push(['Pause', 'contextd.pauseSession']);
    if (s) actions.push(['Complete', 'contextd.completeSession'], ['Fail…', 'contextd.failSession']);
    actions.push(['Switch session…', 'contextd.switchSession'], ['Start a new session', 'contextd.startSession']);
    const chosen = await vscode.window.showQuickPick(actions.map(([label, command]) => ({ label, command })), {
      title: s ? `contextd: ${s.name}` : 'contextd',
    });
    if (chosen) vscode.commands.executeCommand(chosen.command);
  });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('contextd')) return;
      const next = configuration();
      client.options.command = next.command;
      client.options.args = next.args;
      commands.exclusiveStart = next.exclusiveStart;
      if (e.affectsConfiguration('contextd.serverPath') || e.affectsConfiguration('contextd.dataDir') || e.affectsConfiguration('contextd.serverArgs')) {
        vscode.commands.executeCommand('contextd.restartServer');
      }
    })
  );

  paint();
  // Subscribe on every (re)start so the tree follows changes made by other clients.
  client.on('ready', () => client.request('events/subscribe', { topics: ['session'] }).catch(() => undefined));
  client.start().then(refreshAll, (err) => vscode.window.showErrorMessage(formatError(err)));
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate, vscodeUI, SessionTreeProvider };
