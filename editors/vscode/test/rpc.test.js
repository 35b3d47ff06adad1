'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { FrameDecoder, encodeFrame, RpcError, formatError, ClientErrorCodes } = require('../lib/rpc');
const { newClient } = require('./helpers');

test('FrameDecoder: frames split at every byte position decode the same', () => {
  const messages = [{ jsonrpc: '2.0', id: 1, result: { text: 'héllo → 世界 🙂' } }, { jsonrpc: '2.0', method: 'x/y', params: {} }];
  const bytes = Buffer.concat(messages.map(encodeFrame));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new FrameDecoder();
    const bodies = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.deepEqual(bodies.map((b) => JSON.parse(b)), messages, `cut at ${cut}`);
  }
  const d = new FrameDecoder();
  const out = [];
  for (const byte of bytes) out.push(...d.push(Buffer.from([byte])));
  assert.equal(out.length, 2);
});

test('FrameDecoder: header names are case-insensitive and other headers ignored', () => {
  const body = '{"jsonrpc":"2.0","id":7,"result":null}';
  const frame = `content-type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-LENGTH:   ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  assert.deepEqual(new FrameDecoder().push(Buffer.from(frame)), [body]);
});

test('formatError names code, message and the useful data', () => {
  const text = formatError(new RpcError(1002, 'cannot pause a paused session', { id: 's1', from: 'paused', action: 'pause', allowed: ['resume', 'complete', 'fail'] }));
  assert.equal(text, 'contextd error 1002: cannot pause a paused session (allowed: resume, complete, fail)');
  assert.match(formatError(new RpcError(1004, 'missing', { template: 't', missing: ['a', 'b'] })), /missing: a, b/);
});

test('client: initialize handshake, requests, errors with code/message/data, orderly stop', async () => {
  const client = newClient({ memory: true });
  try {
    const init = await client.start();
    assert.equal(typeof init.serverInfo.name, 'string');
    assert.ok(init.capabilities, 'initialize reports capabilities');
    assert.deepEqual(await client.request('ping', {}), {});
    // Many requests in flight at once: ids are matched to replies.
    const results = await Promise.all([...Array(20).keys()].map((i) => client.request('session/create', { name: `s${i}`, mode: 'building' })));
    assert.deepEqual(results.map((s) => s.name), [...Array(20).keys()].map((i) => `s${i}`));
    await assert.rejects(client.request('no/such', {}), (err) => err instanceof RpcError && err.code === -32601);
    await assert.rejects(client.request('session/get', { id: 'missing-session' }), (err) => {
      assert.equal(err.code, 1001);
      assert.equal(err.data.id, 'missing-session');
      assert.ok(err.message.length > 0);
      return true;
    });
    await assert.rejects(client.request('session/create', { name: 'x', mode: 'sleeping' }), (err) => err.code === -32602);
  } finally {
    const status = await client.stop();
    assert.equal(status.code, 0, `server exit status ${JSON.stringify(status)}; stderr: ${client.stderrText()}`);
  }
});

test('client: notifications are delivered after events/subscribe', async () => {
  const client = newClient({ memory: true });
  try {
    await client.start();
    await client.request('events/subscribe', { topics: ['session'] });
    const seen = new Promise((resolve) => client.once('notification:session/didChange', resolve));
    const s = await client.request('session/create', { name: 'evented', mode: 'planning' });
    const params = await seen;
    assert.equal(params.event, 'created');
    assert.equal(params.session.id, s.id);
  } finally {
    await client.stop();
  }
});

test('client: a dying server fails pending requests and is restarted', async () => {
  const client = newClient();
  try {
    await client.start();
    const created = await client.request('session/create', { name: 'survivor', mode: 'debugging' });
    const pid = client.process.pid;
    const exited = new Promise((resolve) => client.once('exit', resolve));
    const restarted = new Promise((resolve) => client.once('restarted', resolve));
    const inFlight = client.request('session/list', {}).then(
      () => 'answered',
      (err) => err.code
    );
    process.kill(pid, 'SIGKILL');
    const info = await exited;
    assert.equal(info.expected, false);
    const outcome = await inFlight;
    assert.ok(outcome === 'answered' || outcome === ClientErrorCodes.ServerExited, `in-flight outcome ${outcome}`);
    await restarted;
    assert.notEqual(client.process.pid, pid);
    // Same data directory: the acknowledged session survived the crash.
    const again = await client.request('session/get', { id: created.id });
    assert.equal(again.name, 'survivor');
  } finally {
    await client.stop();
  }
});

test('client: a missing binary is a readable error', async () => {
  const { RpcClient } = require('../lib/rpc');
  const client = new RpcClient({ command: '/nonexistent/contextd', restart: false });
  await assert.rejects(client.start(), (err) => /cannot start contextd/.test(formatError(err)));
});
