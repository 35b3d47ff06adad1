'use strict';
// A small JSON-RPC 2.0 client for contextd over stdio with LSP-style
// Content-Length framing. No dependencies: Node's child_process and events only.
//
// Lifecycle: start() spawns the server, sends `initialize` then `initialized`.
// stop() sends `shutdown` + `exit` and waits for the process to end. If the server
// dies unexpectedly, every pending request is rejected with an RpcError and the
// server is restarted (bounded: `maxRestarts` within `restartWindowMs`).

const { spawn } = require('child_process');
const { EventEmitter } = require('events');

/** An error reply from the server, or a client-side failure shaped like one. */
class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** Client-side error codes (outside the JSON-RPC reserved and contextd ranges). */
const ClientErrorCodes = Object.freeze({
  ServerExited: -32099, // the process ended while the request was pending
  Timeout: -32098, // no reply within the timeout
  NotRunning: -32097, // request made while no server is running
});

/**
 * Pure Content-Length frame decoder: push bytes, get complete JSON bodies back.
 * Header names are case-insensitive; unknown headers are ignored.
 */
class FrameDecoder {
  constructor() {
    this.buffer = Buffer.alloc(0);
  }

  /** @returns {string[]} the complete message bodies now available. */
  push(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    const bodies = [];
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) break;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      let length = -1;
      for (const line of header.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        if (line.slice(0, colon).trim().toLowerCase() === 'content-length') {
          length = parseInt(line.slice(colon + 1).trim(), 10);
        }
      }
      if (!(length >= 0)) {
        // A header without Content-Length: drop it and resynchronise.
        this.buffer = this.buffer.subarray(headerEnd + 4);
        continue;
      }
      const start = headerEnd + 4;
      if (this.buffer.length < start + length) break;
      bodies.push(this.buffer.subarray(start, start + length).toString('utf8'));
      this.buffer = this.buffer.subarray(start + length);
    }
    return bodies;
  }
}

/** Encode one message as a Content-Length frame (header and body in one buffer). */
function encodeFrame(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** A readable one-line description of an error: "contextd error 1002: message (details)". */
function formatError(err) {
  if (!err) return 'unknown error';
  if (!(err instanceof RpcError) && typeof err.code !== 'number') return String(err.message || err);
  const message = String(err.message);
  let text = `contextd error ${err.code}: ${message}`;
  const d = err.data;
  if (d && typeof d === 'object') {
    const lower = message.toLowerCase();
    // Add what the message does not already say.
    const has = (...values) => values.every((v) => lower.includes(String(v).toLowerCase()));
    const details = [];
    if (Array.isArray(d.allowed) && !has(d.allowed.join(', '))) details.push(`allowed: ${d.allowed.join(', ') || 'none'}`);
    if (Array.isArray(d.missing) && !has(...d.missing)) details.push(`missing: ${d.missing.join(', ')}`);
    if (d.kind && d.id && !has(d.id)) details.push(`${d.kind} ${d.id}`);
    if (d.field && !has(d.field)) details.push(`field ${d.field}${d.expected ? ` (expected ${d.expected})` : ''}`);
    if (d.reason && !has(d.reason)) details.push(String(d.reason));
    if (d.path && !has(d.path)) details.push(`path ${d.path}`);
    if (d.limit && !has(d.limit)) details.push(`limit ${d.limit}${d.max !== undefined ? ` max ${d.max}` : ''}`);
    if (details.length) text += ` (${details.join('; ')})`;
  }
  return text;
}

class RpcClient extends EventEmitter {
  /**
   * @param {object} options
   * @param {string} options.command path of the contextd binary
   * @param {string[]} [options.args] arguments (e.g. ['--data-dir', dir])
   * @param {object} [options.env] environment for the child
   * @param {string} [options.cwd]
   * @param {object|function} [options.initializeParams] params for `initialize` (or a function returning them)
   * @param {boolean} [options.restart=true] restart the server when it dies unexpectedly
   * @param {number} [options.maxRestarts=5] restarts allowed within restartWindowMs
   * @param {number} [options.restartWindowMs=60000]
   * @param {number} [options.restartDelayMs=200]
   * @param {number} [options.requestTimeoutMs=30000] 0 disables
   */
  constructor(options) {
    super();
    this.options = Object.assign(
      { args: [], restart: true, maxRestarts: 5, restartWindowMs: 60000, restartDelayMs: 200, requestTimeoutMs: 30000 },
      options
    );
    this.process = null;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer, method}
    this.stopping = false;
    this.restarts = []; // timestamps of recent restarts
    this.initializeResult = null;
    this.ready = null; // promise resolved once initialize finished
  }

  get running() {
    return !!this.process && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Spawn the server and perform the initialize handshake. Resolves to the initialize result. */
  start() {
    if (this.ready) return this.ready;
    this.stopping = false;
    this.ready = this._spawnAndInitialize();
    // A failed start must not leave a stale promise behind.
    this.ready.catch(() => {
      this.ready = null;
    });
    return this.ready;
  }

  async _spawnAndInitialize() {
    const { command, args, env, cwd } = this.options;
    const child = spawn(command, args, {
      cwd,
      env: env || process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process = child;
    const decoder = new FrameDecoder();
    child.stdout.on('data', (chunk) => {
      for (const body of decoder.push(chunk)) this._dispatch(body);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => this.emit('stderr', text));
    child.stdin.on('error', () => {}); // EPIPE when the server died; reported through 'exit'
    const spawned = new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => {
        reject(new RpcError(ClientErrorCodes.NotRunning, `cannot start contextd (${command}): ${err.message}`));
      });
    });
    child.once('exit', (code, signal) => this._onExit(child, code, signal));
    await spawned;
    const params =
      typeof this.options.initializeParams === 'function'
        ? this.options.initializeParams()
        : this.options.initializeParams || { processId: process.pid, rootUri: null, clientInfo: { name: 'contextd-node' } };
    const result = await this._request('initialize', params);
    this._notify('initialized', {});
    this.initializeResult = result;
    this.emit('ready', result);
    return result;
  }

  /** Send a request; waits for the server to be ready (starting it if needed). */
  async request(method, params, { timeoutMs } = {}) {
    if (!this.ready) {
      if (this.stopping) throw new RpcError(ClientErrorCodes.NotRunning, 'contextd is stopped');
      this.start();
    }
    await this.ready;
    return this._request(method, params, timeoutMs);
  }

  /** Send a notification (no reply). */
  async notify(method, params) {
    if (!this.ready) this.start();
    await this.ready;
    this._notify(method, params);
  }

  _request(method, params, timeoutMs) {
    return new Promise((resolve, reject) => {
      if (!this.running) {
        reject(new RpcError(ClientErrorCodes.NotRunning, 'contextd is not running'));
        return;
      }
      const id = this.nextId++;
      const timeout = timeoutMs === undefined ? this.options.requestTimeoutMs : timeoutMs;
      const entry = { resolve, reject, method, timer: null };
      if (timeout > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RpcError(ClientErrorCodes.Timeout, `${method}: no reply within ${timeout} ms`));
        }, timeout);
      }
      this.pending.set(id, entry);
      const message = { jsonrpc: '2.0', id, method };
      if (params !== undefined) message.params = params;
      this._write(message);
    });
  }

  _notify(method, params) {
    if (!this.running) return;
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this._write(message);
  }

  _write(message) {
    this.process.stdin.write(encodeFrame(message));
  }

  _dispatch(body) {
    let message;
    try {
      message = JSON.parse(body);
    } catch (err) {
      this.emit('protocolError', new Error(`invalid JSON from server: ${err.message}`));
      return;
    }
    const messages = Array.isArray(message) ? message : [message];
    for (const m of messages) {
      if (m && m.id !== undefined && m.id !== null && (m.result !== undefined || m.error !== undefined)) {
        const entry = this.pending.get(m.id);
        if (!entry) continue;
        this.pending.delete(m.id);
        if (entry.timer) clearTimeout(entry.timer);
        if (m.error) entry.reject(new RpcError(m.error.code, m.error.message, m.error.data));
        else entry.resolve(m.result);
      } else if (m && typeof m.method === 'string') {
        if (m.id !== undefined) {
          // Server→client requests are not part of contextd's protocol: answer -32601.
          this._write({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `method not found: ${m.method}` } });
        } else {
          this.emit('notification', m.method, m.params);
          this.emit(`notification:${m.method}`, m.params);
        }
      } else if (m && m.error) {
        this.emit('protocolError', new RpcError(m.error.code, m.error.message, m.error.data));
      }
    }
  }

  _onExit(child, code, signal) {
    if (child !== this.process) return;
    const reason = signal ? `signal ${signal}` : `code ${code}`;
    for (const [id, entry] of this.pending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(new RpcError(ClientErrorCodes.ServerExited, `contextd exited (${reason}) before answering ${entry.method}`));
      this.pending.delete(id);
    }
    this.process = null;
    this.ready = null;
    this.emit('exit', { code, signal, expected: this.stopping });
    if (this.stopping || !this.options.restart) return;
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < this.options.restartWindowMs);
    if (this.restarts.length >= this.options.maxRestarts) {
      this.emit('gaveUp', { code, signal, restarts: this.restarts.length });
      return;
    }
    this.restarts.push(now);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping || this.ready) return;
      this.start().then(
        (result) => this.emit('restarted', result),
        (err) => this.emit('restartFailed', err)
      );
    }, this.options.restartDelayMs);
  }

  /** Orderly stop: `shutdown` request, `exit` notification, wait for the process to end. */
  async stop({ timeoutMs = 3000 } = {}) {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.process;
    if (!child) return null;
    const exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    try {
      if (this.ready) await this.ready;
      await this._request('shutdown', undefined, timeoutMs);
      this._notify('exit');
      child.stdin.end();
    } catch (_) {
      // fall through to the kill below
    }
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const status = await exited;
    clearTimeout(timer);
    return status;
  }
}

module.exports = { RpcClient, RpcError, FrameDecoder, encodeFrame, formatError, ClientErrorCodes };
