'use strict';
// The extension's command logic against the real server; only the UI is scripted.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ContextdCommands } = require('../lib/commands');
const { elapsedActiveMs, formatDuration, groupSessions } = require('../lib/format');
const { newClient, scriptedUI } = require('./helpers');

function setup({ project = '/home/dev/My Project', memory = false } = {}) {
  const client = newClient({ memory });
  const ui = scriptedUI();
  const cmds = new ContextdCommands({ client, ui, workspace: { rootPath: project } });
  return { client, ui, cmds };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('session lifecycle through prompts; status shows name, mode and elapsed active time', async () => {
  const { client, ui, cmds } = setup();
  try {
    assert.equal(cmds.projectId, 'My-Project');
    ui.picks.push('building');
    ui.inputs.push('', 'Parser rewrite'); // empty name is refused, then a real one
    const started = await cmds.run('startSession');
    assert.ok(started, `start failed: ${ui.calls.error.join('; ')}`);
    assert.equal(started.status, 'active');
    assert.equal(started.projectId, 'My-Project');
    assert.equal(started.mode, 'building');
    assert.ok(ui.calls.input.some((c) => c.problem), 'empty name rejected by validation');

    await sleep(1100);
    const st = cmds.status();
    assert.match(st.text, /^Parser rewrite · building · 0:01$/);
    assert.ok(st.elapsedMs >= 1000 && st.elapsedMs < 2000, `elapsed ${st.elapsedMs}`);
    // A re-fetch agrees with the client's running count (no double counting).
    await cmds.refresh();
    const fetched = cmds.status().elapsedMs;
    assert.ok(fetched >= st.elapsedMs && fetched < st.elapsedMs + 500, `after refresh ${fetched} vs ${st.elapsedMs}`);

    const paused = await cmds.run('pauseSession');
    assert.equal(paused.status, 'paused');
    assert.ok(paused.activeMs >= 1000, `server counted activeMs ${paused.activeMs}`);
    const frozen = cmds.status();
    assert.match(frozen.text, /\(paused\)$/);
    await sleep(300);
    assert.equal(cmds.status().elapsedMs, frozen.elapsedMs, 'paused time is not counted');

    // An illegal transition is shown as a readable error with its code.
    const again = await cmds.run('pauseSession');
    assert.equal(again, undefined);
    assert.match(ui.calls.error.at(-1), /^contextd error 1002: .*allowed: .*resume/);

    const resumed = await cmds.run('resumeSession');
    assert.equal(resumed.status, 'active');
    await sleep(200);
    const resumedElapsed = cmds.status().elapsedMs;
    assert.ok(resumedElapsed >= paused.activeMs && resumedElapsed < paused.activeMs + 5000, `elapsed after resume ${resumedElapsed}`);

    const done = await cmds.run('completeSession');
    assert.equal(done.status, 'completed');
    assert.ok(ui.calls.info.some((m) => /Completed session/.test(m)));

    // A fresh session failed with a reason typed at the prompt.
    await cmds.run('startSession', { mode: 'debugging', name: 'Flaky test' });
    ui.inputs.push('CI machine gone');
    const failed = await cmds.run('failSession');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failureReason, 'CI machine gone');

    // After both ended, refresh finds no live session for the project.
    await cmds.refresh();
    assert.equal(cmds.current, null);
    assert.equal(cmds.status().text, 'contextd: no session');
  } finally {
    await client.stop();
  }
});

test('browse sessions by project and status, jump between them', async () => {
  const { client, ui, cmds } = setup();
  try {
    const a = await cmds.startSession({ mode: 'planning', name: 'Alpha' });
    const other = new ContextdCommands({ client, ui, workspace: { rootPath: '/src/other' } });
    const b = await other.startSession({ mode: 'testing', name: 'Beta' });
    const c = await client.request('session/create', { name: 'Gamma', mode: 'refactoring' });

    const tree = await cmds.sessionTree();
    const projects = tree.map((g) => g.project);
    assert.deepEqual(projects, ['My-Project', 'other', '(no project)']);
    assert.deepEqual(tree[0].statuses.map((s) => [s.status, s.sessions.map((x) => x.name)]), [['active', ['Alpha']]]);
    assert.deepEqual(tree[2].statuses.map((s) => s.status), ['idle']);

    // Jump to Beta through the picker, then to Gamma by id (as the tree does).
    ui.picks.push((items) => items.find((i) => i.label === 'Beta').value);
    const picked = await cmds.run('switchSession');
    assert.equal(picked.id, b.id);
    assert.equal(cmds.current.id, b.id);
    assert.match(cmds.status().text, /^Beta · testing/);
    await cmds.switchSession(c.id);
    assert.match(cmds.status().text, /^Gamma · refactoring · 0:00 \(idle\)$/);
    // Resume on an idle session is illegal: readable error, state unchanged.
    await cmds.run('resumeSession');
    assert.match(ui.calls.error.at(-1), /contextd error 1002/);
    assert.equal(cmds.current.status, 'idle');
    await cmds.switchSession(a.id);
    assert.equal(cmds.current.name, 'Alpha');
  } finally {
    await client.stop();
  }
});

test('render a template: prompts per variable, defaults pre-filled, required enforced, inserted or opened', async () => {
  const { client, ui, cmds } = setup({ memory: true });
  try {
    await client.request('template/create', {
      name: 'Editor Greeting',
      type: 'documentation',
      description: 'Greets someone',
      content: 'Hello {{who}} from {{place}}{{#loud}}!{{/loud}}',
      variables: [
        { name: 'who', required: true, description: 'Who to greet' },
        { name: 'place', required: false, default: 'Paris' },
        { name: 'loud', required: false, type: 'boolean' },
      ],
    });
    ui.picks.push('Editor Greeting', 'Insert at cursor');
    const seen = [];
    ui.inputs.push(
      (o) => (seen.push(o), ''), // required: refused while empty
      (o) => 'Ada',
      (o) => (seen.push(o), o.value), // default accepted as shown
      (o) => 'yes'
    );
    const text = await cmds.run('renderTemplate');
    assert.equal(text, 'Hello Ada from Paris!', ui.calls.error.join('; '));
    assert.deepEqual(ui.calls.insert, ['Hello Ada from Paris!']);
    assert.equal(seen[0].value, '');
    assert.equal(seen[1].value, 'Paris');
    assert.ok(ui.calls.input.some((c) => c.problem === 'who is required'));

    // New document target; optional variable left empty.
    ui.picks.push('Editor Greeting', 'Open in a new editor');
    ui.inputs.push('Grace', 'Oslo', '');
    assert.equal(await cmds.run('renderTemplate'), 'Hello Grace from Oslo');
    assert.equal(ui.calls.open.at(-1).text, 'Hello Grace from Oslo');

    // Cancelling a prompt renders nothing and reports nothing.
    const errors = ui.calls.error.length;
    ui.picks.push('Editor Greeting');
    ui.inputs.push(undefined);
    assert.equal(await cmds.run('renderTemplate'), undefined);
    assert.equal(ui.calls.error.length, errors);

    // Missing required variables from the server side: 1004 shown readably.
    await cmds.run('renderTemplate', { name: 'Editor Greeting', variables: {}, target: 'cursor' });
    assert.match(ui.calls.error.at(-1), /^contextd error 1004: .*missing.*who/);

    // Built-in templates are listed.
    const { templates } = await client.request('template/list', {});
    assert.ok(templates.length >= 15, `built-ins present (${templates.length})`);
  } finally {
    await client.stop();
  }
});

test('send selection to the session conversation and search history', async () => {
  const { client, ui, cmds } = setup();
  try {
    const s = await cmds.startSession({ mode: 'debugging', name: 'Heisenbug hunt' });
    ui.text = 'The flaky timeout comes from the zeppelin retry loop';
    const first = await cmds.run('sendText');
    assert.ok(first, ui.calls.error.join('; '));
    assert.equal(first.conversation.sessionId, s.id);
    assert.equal(first.message.role, 'user');
    ui.text = 'Second note about zeppelins';
    const second = await cmds.run('sendText');
    assert.equal(second.conversation.id, first.conversation.id, 'the same conversation is reused');
    const { messages } = await client.request('memory/getMessages', { conversationId: first.conversation.id });
    assert.deepEqual(messages.map((m) => m.content), [
      'The flaky timeout comes from the zeppelin retry loop',
      'Second note about zeppelins',
    ]);

    ui.text = undefined;
    assert.equal(await cmds.run('sendText'), undefined);
    assert.match(ui.calls.warn.at(-1), /Nothing to send/);

    ui.inputs.push('zeppelin retry');
    ui.picks.push((items) => items[0].value);
    const found = await cmds.run('search');
    assert.ok(found, ui.calls.error.join('; '));
    assert.equal(found.hit.message.id, first.message.id);
    const doc = ui.calls.open.at(-1);
    assert.match(doc.text, /zeppelin retry loop/);
    assert.equal(doc.options.reveal, first.message.content);

    await cmds.run('search', { query: 'nonexistentword' });
    assert.match(ui.calls.info.at(-1), /No messages match/);
  } finally {
    await client.stop();
  }
});

test('state survives a server restart on the same data directory', async () => {
  const { client, cmds } = setup();
  try {
    const s = await cmds.startSession({ mode: 'planning', name: 'Durable' });
    await client.stop();
    await client.start();
    const back = await cmds.refresh();
    assert.equal(back.id, s.id);
    assert.equal(back.status, 'active');
  } finally {
    await client.stop();
  }
});

test('elapsed time and grouping helpers', () => {
  const t0 = Date.parse('2025-01-01T10:00:00.000Z');
  const active = { status: 'active', activeMs: 60000, activeSince: '2025-01-01T09:59:00.000Z' };
  // activeMs is as of the reply: only the time since the reply is added.
  assert.equal(elapsedActiveMs(active, t0 + 5000, t0), 65000);
  assert.equal(elapsedActiveMs(active, t0), 60000);
  assert.equal(elapsedActiveMs({ ...active, status: 'paused' }, t0 + 999999, t0), 60000);
  assert.equal(formatDuration(65000), '1:05');
  assert.equal(formatDuration(3600000 + 61000), '1:01:01');
  const groups = groupSessions([
    { name: 'x', projectId: 'b', status: 'completed' },
    { name: 'y', projectId: 'b', status: 'active' },
    { name: 'z', status: 'paused' },
    { name: 'w', projectId: 'a', status: 'idle' },
  ]);
  assert.deepEqual(groups.map((g) => [g.project, g.statuses.map((s) => s.status)]), [
    ['a', ['idle']],
    ['b', ['active', 'completed']],
    ['(no project)', ['paused']],
  ]);
});
