'use strict';
// Command logic of the contextd extension, independent of the `vscode` API.
//
// Everything the user sees goes through a small UI interface, so tests drive the
// real server with a scripted UI:
//
//   ui.pick(items, {title, placeholder})  -> Promise<item.value | undefined>
//        items: [{label, description?, detail?, value}]
//   ui.input({title, prompt, value, placeholder, validate}) -> Promise<string | undefined>
//        validate(text) returns an error string or undefined
//   ui.info(message), ui.warn(message), ui.error(message)
//   ui.getText() -> {text, source: 'selection' | 'buffer'} | undefined
//   ui.insertText(text) -> Promise<boolean>        (at the cursor; false if no editor)
//   ui.openDocument(text, {language, reveal}) -> Promise
//
// `state` is an optional memento {get(key), update(key, value)} for the current session.

const { EventEmitter } = require('events');
const { formatError } = require('./rpc');
const { MODES, elapsedActiveMs, formatDuration, groupSessions, projectIdFromFolder } = require('./format');

const CURRENT_KEY = 'contextd.currentSessionId';
const LIVE = new Set(['idle', 'active', 'paused']);

class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

class ContextdCommands extends EventEmitter {
  /**
   * @param {object} o
   * @param {import('./rpc').RpcClient} o.client
   * @param {object} o.ui
   * @param {{rootPath?: string, name?: string, projectId?: string}} [o.workspace]
   * @param {{get(key: string): any, update(key: string, value: any): any}} [o.state]
   * @param {() => number} [o.now]
   * @param {boolean} [o.exclusiveStart=true] pause the project's other active sessions on start
   */
  constructor({ client, ui, workspace = {}, state, now = Date.now, exclusiveStart = true }) {
    super();
    this.client = client;
    this.ui = ui;
    this.workspace = workspace;
    this.state = state || memoryState();
    this.now = now;
    this.exclusiveStart = exclusiveStart;
    this.current = null; // the session the status bar shows and commands act on
    this.fetchedAt = 0;
  }

  get projectId() {
    return this.workspace.projectId || projectIdFromFolder(this.workspace.rootPath);
  }

  /** Run a command by name, showing any failure as a readable message. */
  async run(name, ...args) {
    try {
      return await this[name](...args);
    } catch (err) {
      if (err instanceof Cancelled) return undefined;
      this.ui.error(formatError(err));
      return undefined;
    }
  }

  // MARK: current session and status

  _setCurrent(session) {
    this.current = session || null;
    this.fetchedAt = this.now();
    this.state.update(CURRENT_KEY, session ? session.id : undefined);
    this.emit('change', this.current);
    return this.current;
  }

  /**
   * Re-fetch the current session; if it ended or vanished, fall back to the
   * project's active session (or none).
   */
  async refresh() {
    const id = this.current ? this.current.id : this.state.get(CURRENT_KEY);
    if (id) {
      try {
        const session = await this.client.request('session/get', { id });
        if (LIVE.has(session.status)) return this._setCurrent(session);
      } catch (err) {
        if (err.code !== 1001) throw err;
      }
    }
    const params = { status: 'active', limit: 1 };
    if (this.projectId) params.projectId = this.projectId;
    const { sessions } = await this.client.request('session/list', params);
    return this._setCurrent(sessions && sessions.length ? sessions[0] : null);
  }

  /** What the status bar shows: {text, tooltip, session, elapsedMs}. */
  status(now = this.now()) {
    const s = this.current;
    if (!s) return { text: 'contextd: no session', tooltip: 'Start a contextd session', session: null, elapsedMs: 0 };
    const elapsedMs = elapsedActiveMs(s, now, this.fetchedAt);
    const paused = s.status === 'active' ? '' : ` (${s.status})`;
    return {
      text: `${s.name} · ${s.mode} · ${formatDuration(elapsedMs)}${paused}`,
      tooltip: `contextd session ${s.id}\nproject: ${s.projectId || '—'}\nstatus: ${s.status}\nactive time: ${formatDuration(elapsedMs)}`,
      session: s,
      elapsedMs,
    };
  }

  // MARK: session lifecycle

  async _modes() {
    try {
      const { modes } = await this.client.request('session/modes', {});
      if (Array.isArray(modes) && modes.length) return modes;
    } catch (err) {
      if (err.code !== -32601) throw err;
    }
    return MODES.map((mode) => ({ mode, description: '' }));
  }

  async _required(value) {
    if (value === undefined || value === null) throw new Cancelled();
    return value;
  }

  /** Create and start a session: pick a mode, enter a name; project from the workspace. */
  async startSession({ mode, name } = {}) {
    if (!mode) {
      const modes = await this._modes();
      mode = await this._required(
        await this.ui.pick(
          modes.map((m) => ({ label: m.mode, description: m.description || '', value: m.mode })),
          { title: 'contextd: session mode', placeholder: 'What kind of work?' }
        )
      );
    }
    if (!name) {
      name = await this._required(
        await this.ui.input({
          title: 'contextd: session name',
          prompt: 'Name of the new session',
          validate: (text) => (text.trim() ? undefined : 'A name is required'),
        })
      );
    }
    const params = { name: name.trim(), mode };
    if (this.projectId) params.projectId = this.projectId;
    const created = await this.client.request('session/create', params);
    const started = await this.client.request('session/start', { id: created.id, exclusive: this.exclusiveStart });
    this._setCurrent(started);
    this.ui.info(`Started session “${started.name}” (${started.mode})`);
    return started;
  }

  async _transition(method, extra = {}) {
    const session = await this._currentOrPick();
    const updated = await this.client.request(method, Object.assign({ id: session.id }, extra));
    this._setCurrent(updated);
    return updated;
  }

  async _currentOrPick() {
    if (this.current) return this.current;
    await this.refresh();
    if (this.current) return this.current;
    const picked = await this.switchSession();
    if (!picked) throw new Cancelled();
    return picked;
  }

  pauseSession() {
    return this._transition('session/pause');
  }

  resumeSession() {
    return this._transition('session/resume');
  }

  async completeSession() {
    const done = await this._transition('session/complete');
    this.ui.info(`Completed session “${done.name}” after ${formatDuration(done.activeMs)}`);
    return done;
  }

  async failSession({ reason } = {}) {
    if (!reason) {
      reason = await this._required(
        await this.ui.input({
          title: 'contextd: fail session',
          prompt: 'Why did the session fail?',
          validate: (text) => (text.trim() ? undefined : 'A reason is required'),
        })
      );
    }
    return this._transition('session/fail', { reason: reason.trim() });
  }

  // MARK: browsing

  /** Every session matching the filter, following cursors. */
  async listSessions(filter = {}) {
    const all = [];
    let cursor;
    for (let page = 0; page < 50; page++) {
      const params = Object.assign({ limit: 200 }, filter);
      if (cursor) params.cursor = cursor;
      const { sessions, nextCursor } = await this.client.request('session/list', params);
      all.push(...(sessions || []));
      if (!nextCursor) break;
      cursor = nextCursor;
    }
    return all;
  }

  /** Sessions grouped by project then status, for the tree view. */
  async sessionTree(filter = {}) {
    return groupSessions(await this.listSessions(filter));
  }

  /** Make a session the current one (picked from a list when no id is given). */
  async switchSession(id) {
    if (!id) {
      const sessions = await this.listSessions();
      if (!sessions.length) {
        this.ui.info('No contextd sessions yet');
        return undefined;
      }
      const now = this.now();
      id = await this.ui.pick(
        sessions.map((s) => ({
          label: s.name,
          description: `${s.projectId || 'no project'} · ${s.status} · ${s.mode}`,
          detail: `${formatDuration(elapsedActiveMs(s, now))} active · ${s.id}`,
          value: s.id,
        })),
        { title: 'contextd: sessions', placeholder: 'Jump to a session' }
      );
      if (!id) return undefined;
    }
    const session = await this.client.request('session/get', { id });
    return this._setCurrent(session);
  }

  // MARK: templates

  /** Prompt for each declared variable; returns the variables object. */
  async _promptVariables(template) {
    const values = {};
    for (const v of template.variables || []) {
      const hasDefault = v.default !== undefined && v.default !== null;
      const mustAsk = v.required && !hasDefault;
      const prompt = [v.description, v.type ? `(${v.type})` : '', mustAsk ? 'required' : 'optional']
        .filter(Boolean)
        .join(' ');
      const text = await this.ui.input({
        title: `${template.name}: ${v.name}`,
        prompt,
        value: hasDefault ? defaultText(v.default) : '',
        validate: (t) => (mustAsk && !t.trim() ? `${v.name} is required` : undefined),
      });
      if (text === undefined) throw new Cancelled();
      if (text === '' && !mustAsk) continue; // absent: the template's default or empty
      values[v.name] = convertVariable(text, v.type);
    }
    return values;
  }

  /**
   * Pick a template, fill its variables, render it and put the text where asked.
   * @param {{name?: string, target?: 'cursor'|'document', variables?: object}} [o]
   */
  async renderTemplate({ name, target, variables } = {}) {
    let template;
    if (name) {
      template = await this.client.request('template/get', { name });
    } else {
      const { templates } = await this.client.request('template/list', {});
      if (!templates || !templates.length) {
        this.ui.info('No templates');
        return undefined;
      }
      template = await this._required(
        await this.ui.pick(
          templates.map((t) => ({ label: t.name, description: t.type, detail: t.description || '', value: t })),
          { title: 'contextd: render template', placeholder: 'Template' }
        )
      );
    }
    const values = variables || (await this._promptVariables(template));
    const { text } = await this.client.request('template/render', { id: template.id, variables: values });
    if (!target) {
      target = await this._required(
        await this.ui.pick(
          [
            { label: 'Insert at cursor', value: 'cursor' },
            { label: 'Open in a new editor', value: 'document' },
          ],
          { title: `contextd: ${template.name}`, placeholder: 'Where should the text go?' }
        )
      );
    }
    if (target === 'cursor' && (await this.ui.insertText(text))) return text;
    await this.ui.openDocument(text, { language: template.type === 'code' ? undefined : 'markdown' });
    return text;
  }

  // MARK: conversations

  /** The conversation of a session: the most recently updated one, or a new one. */
  async conversationFor(session) {
    const { conversations } = await this.client.request('memory/listConversations', { sessionId: session.id, limit: 1 });
    if (conversations && conversations.length) return conversations[0];
    return this.client.request('memory/createConversation', { title: session.name, sessionId: session.id });
  }

  /** Send the selection (or the whole buffer, or `text`) to the current session's conversation. */
  async sendText({ text, role = 'user' } = {}) {
    if (text === undefined) {
      const got = this.ui.getText();
      if (!got || !got.text.trim()) {
        this.ui.warn('Nothing to send: select text or open a non-empty editor');
        return undefined;
      }
      text = got.text;
    }
    const session = await this._currentOrPick();
    const conversation = await this.conversationFor(session);
    const { message, trimmed } = await this.client.request('memory/addMessage', {
      conversationId: conversation.id,
      role,
      content: text,
    });
    const note = trimmed && trimmed.length ? ` (${trimmed.length} older message(s) trimmed)` : '';
    this.ui.info(`Sent ${message.tokens} tokens to “${conversation.title}”${note}`);
    return { message, conversation, trimmed };
  }

  /** Search conversation history; open the picked hit's conversation in a document. */
  async search({ query } = {}) {
    if (!query) {
      query = await this._required(
        await this.ui.input({
          title: 'contextd: search history',
          prompt: 'Words to find (all must match, as prefixes)',
          validate: (t) => (t.trim() ? undefined : 'Enter a query'),
        })
      );
    }
    const { hits } = await this.client.request('memory/search', { query: query.trim(), limit: 50 });
    if (!hits || !hits.length) {
      this.ui.info(`No messages match “${query}”`);
      return undefined;
    }
    const hit = await this._required(
      await this.ui.pick(
        hits.map((h) => ({
          label: oneLine(h.snippet || h.message.content),
          description: `${h.message.role} · ${h.message.createdAt || ''}`,
          detail: `conversation ${h.conversationId} · score ${Number(h.score).toFixed(2)}`,
          value: h,
        })),
        { title: `contextd: ${hits.length} hit(s) for “${query}”` }
      )
    );
    const text = await this.conversationText(hit.conversationId);
    await this.ui.openDocument(text, { language: 'markdown', reveal: hit.message.content });
    return { hit, text };
  }

  async conversationText(conversationId) {
    const result = await this.client.request('memory/toText', { conversationId });
    return typeof result === 'string' ? result : result.text;
  }
}

function memoryState() {
  const map = new Map();
  return { get: (k) => map.get(k), update: (k, v) => (v === undefined ? map.delete(k) : map.set(k, v)) };
}

function defaultText(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return JSON.stringify(value);
}

/** Turn typed text into the JSON value a variable of `type` expects. */
function convertVariable(text, type) {
  switch ((type || '').toLowerCase()) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case 'boolean':
    case 'bool':
      return /^(true|yes|y|1|on)$/i.test(text.trim());
    case 'array':
    case 'list':
      return text
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean);
    case 'object':
    case 'json':
      try {
        return JSON.parse(text);
      } catch (_) {
        return text;
      }
    default:
      return text;
  }
}

function oneLine(text) {
  const s = String(text || '').replace(/\s+/g, ' ').trim();
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

module.exports = { ContextdCommands, Cancelled, convertVariable };
