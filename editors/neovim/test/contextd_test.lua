-- Headless test of contextd.nvim against the real server.
--   CONTEXTD=/path/to/contextd nvim --headless -u NONE -i NONE \
--     --cmd 'set rtp+=editors/neovim' -c 'luafile editors/neovim/test/contextd_test.lua'
-- Only vim.ui.select / vim.ui.input (the UI edge) are scripted. Exits 0 on success,
-- 1 on the first failure.

local server = os.getenv('CONTEXTD')
local results = { passed = 0, failed = 0 }

local function out(s)
  io.stdout:write(s .. '\n')
end

local function fail(msg)
  error(msg, 2)
end

local function eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    fail(string.format('%s: expected %s, got %s', what or 'value', vim.inspect(expected), vim.inspect(actual)))
  end
end

local function match(text, pattern, what)
  if type(text) ~= 'string' or not text:find(pattern) then
    fail(string.format('%s: %s does not match %s', what or 'text', vim.inspect(text), pattern))
  end
end

local function wait_for(cond, what, timeout)
  local ok = vim.wait(timeout or 15000, cond, 20)
  if not ok then
    fail('timed out waiting for ' .. what)
  end
end

-- Scripted UI edge ----------------------------------------------------------
local picks, inputs, prompts = {}, {}, {}
vim.ui.select = function(items, opts, on_choice)
  local answer = table.remove(picks, 1)
  if answer == nil then
    error('unexpected vim.ui.select: ' .. tostring(opts and opts.prompt))
  end
  local labels = {}
  for _, item in ipairs(items) do
    table.insert(labels, opts.format_item and opts.format_item(item) or tostring(item))
  end
  for i, label in ipairs(labels) do
    if label:find(answer) then
      return on_choice(items[i], i)
    end
  end
  error('no item matching ' .. answer .. ' in ' .. vim.inspect(labels))
end
vim.ui.input = function(opts, on_confirm)
  table.insert(prompts, opts)
  local answer = table.remove(inputs, 1)
  if answer == nil then
    error('unexpected vim.ui.input: ' .. tostring(opts.prompt))
  end
  if type(answer) == 'function' then
    answer = answer(opts)
  end
  if answer == false then
    answer = nil -- cancelled
  end
  vim.schedule(function() -- answer later, like a real prompt
    on_confirm(answer)
  end)
end

local notes = {}
local function last_note(level)
  for i = #notes, 1, -1 do
    if level == nil or notes[i].level == level then
      return notes[i].msg
    end
  end
end

-- Tests -----------------------------------------------------------------------
vim.cmd('runtime plugin/contextd.lua')
local contextd = require('contextd')
local data_dir = vim.fn.tempname()
vim.fn.mkdir(data_dir, 'p')
local project_dir = vim.fn.tempname() .. '/nvim project'
vim.fn.mkdir(project_dir, 'p')
vim.cmd('cd ' .. vim.fn.fnameescape(project_dir))

contextd.setup({
  cmd = server,
  data_dir = data_dir,
  refresh_ms = 200,
  notify = function(msg, level)
    table.insert(notes, { msg = msg, level = level })
  end,
})

local tests = {}
local function test(name, fn)
  table.insert(tests, { name = name, fn = fn })
end

local session_id

test('statusline before any session', function()
  eq(contextd.statusline(), '[ctx] no session', 'statusline')
end)

test(':ContextdStart prompts for mode and name, statusline shows the session', function()
  table.insert(picks, '^building')
  table.insert(inputs, '') -- empty name asked again
  table.insert(inputs, 'Neovim session')
  vim.cmd('ContextdStart')
  wait_for(function()
    return contextd.state.current ~= nil
  end, 'the session to start')
  local s = contextd.state.current
  eq(s.status, 'active', 'status')
  eq(s.mode, 'building', 'mode')
  eq(s.projectId, 'nvim-project', 'project from the working directory')
  session_id = s.id
  match(contextd.statusline(), '^%[ctx%] Neovim session · building · 0:0%d$', 'statusline')
  -- The 'statusline' snippet from :help contextd-statusline, evaluated by Neovim.
  vim.o.statusline = "%f %m%=%{v:lua.require'contextd'.statusline()} "
  local evaluated = vim.api.nvim_eval_statusline(vim.o.statusline, { maxwidth = 200 }).str
  match(evaluated, '%[ctx%] Neovim session · building · 0:0%d $', 'evaluated statusline')
  vim.wait(1100)
  local elapsed = contextd.current_elapsed_ms()
  if elapsed < 1000 or elapsed >= 2000 then
    fail('elapsed active time after 1.1 s: ' .. elapsed)
  end
  match(contextd.statusline(), '· 0:01$', 'statusline after 1.1 s')
  -- A re-fetch agrees with the running count (no double counting).
  local fetched_before = contextd.state.fetched_at
  vim.cmd('ContextdRefresh')
  wait_for(function()
    return contextd.state.fetched_at ~= fetched_before
  end, 'refresh')
  local refreshed = contextd.current_elapsed_ms()
  if refreshed < elapsed or refreshed > elapsed + 500 then
    fail(string.format('elapsed after refresh %d vs %d', refreshed, elapsed))
  end
end)

test(':ContextdRender inserts a rendered template at the cursor and in a new buffer', function()
  local client = contextd.client()
  local _, err = client:request_sync('template/create', {
    name = 'Nvim Greeting',
    type = 'documentation',
    description = 'Greets someone',
    content = 'Hello {{who}} from {{place}}',
    variables = {
      { name = 'who', required = true, description = 'Who to greet' },
      { name = 'place', required = false, default = 'Paris' },
    },
  }, 10000)
  if err then
    fail('template/create: ' .. require('contextd.rpc').format_error(err))
  end
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { '<<>>' })
  vim.api.nvim_win_set_cursor(0, { 1, 2 })
  prompts = {}
  table.insert(picks, '^Nvim Greeting')
  table.insert(inputs, '') -- required: asked again
  table.insert(inputs, 'Ada')
  table.insert(inputs, function(opts)
    return opts.default
  end)
  vim.cmd('ContextdRender')
  wait_for(function()
    return vim.api.nvim_buf_get_lines(buf, 0, -1, false)[1] ~= '<<>>'
  end, 'the template text')
  eq(vim.api.nvim_buf_get_lines(buf, 0, -1, false), { '<<Hello Ada from Paris>>' }, 'buffer')
  eq(prompts[1].default, '', 'required variable has no default')
  eq(prompts[3].default, 'Paris', 'default pre-filled')
  local warned = last_note(vim.log.levels.WARN) or ''
  match(warned, 'who is required', 'required enforced')

  table.insert(inputs, 'Grace')
  table.insert(inputs, 'Oslo')
  local before = #vim.api.nvim_list_bufs()
  vim.cmd('ContextdRender! Nvim Greeting')
  wait_for(function()
    return #vim.api.nvim_list_bufs() > before
  end, 'a new buffer')
  eq(vim.api.nvim_buf_get_lines(0, 0, -1, false), { 'Hello Grace from Oslo' }, 'new buffer')
  vim.cmd('close')

  -- A server error is shown readably: unknown template.
  vim.cmd('ContextdRender! No Such Template')
  wait_for(function()
    return (last_note(vim.log.levels.ERROR) or ''):find('contextd error 1001') ~= nil
  end, 'a 1001 error message')
end)

test(':ContextdSend sends the buffer to the session conversation', function()
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'first line about quokkas', 'second line', 'third line' })
  contextd.state.last_message = nil
  vim.cmd('ContextdSend')
  wait_for(function()
    return contextd.state.last_message ~= nil
  end, 'the message to be sent')
  local m = contextd.state.last_message
  eq(m.content, 'first line about quokkas\nsecond line\nthird line', 'message content')
  eq(m.role, 'user', 'role')
  -- A range sends only those lines, to the same conversation.
  contextd.state.last_message = nil
  vim.cmd('2,3ContextdSend')
  wait_for(function()
    return contextd.state.last_message ~= nil
  end, 'the second message')
  eq(contextd.state.last_message.conversationId, m.conversationId, 'same conversation')
  local client = contextd.client()
  local conv = client:request_sync('memory/getConversation', { id = m.conversationId }, 5000)
  eq(conv.sessionId, session_id, 'conversation linked to the session')
  local res = client:request_sync('memory/getMessages', { conversationId = m.conversationId }, 5000)
  eq(#res.messages, 2, 'message count')
  eq(res.messages[2].content, 'second line\nthird line', 'ranged content')
end)

test(':ContextdSearch opens the hit in a buffer', function()
  table.insert(picks, 'quokkas')
  vim.cmd('ContextdSearch quokka')
  wait_for(function()
    return vim.api.nvim_buf_get_name(0):find('contextd://conversation/') ~= nil
  end, 'the conversation buffer')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  match(text, 'first line about quokkas', 'conversation text')
  local line = vim.api.nvim_get_current_line()
  match(line, 'quokkas', 'cursor on the hit')
  vim.cmd('bwipeout')
end)

test('pause, illegal pause, resume; statusline follows', function()
  vim.cmd('ContextdPause')
  wait_for(function()
    return contextd.state.current.status == 'paused'
  end, 'pause')
  match(contextd.statusline(), '%(paused%)$', 'statusline when paused')
  local frozen = contextd.current_elapsed_ms()
  vim.wait(300)
  eq(contextd.current_elapsed_ms(), frozen, 'paused time not counted')
  local errors = #notes
  vim.cmd('ContextdPause')
  wait_for(function()
    return #notes > errors and (last_note(vim.log.levels.ERROR) or ''):find('contextd error 1002') ~= nil
  end, 'a 1002 error')
  match(last_note(vim.log.levels.ERROR), 'allowed: .*resume', 'allowed actions listed')
  vim.cmd('ContextdResume')
  wait_for(function()
    return contextd.state.current.status == 'active'
  end, 'resume')
  match(contextd.statusline(), '^%[ctx%] Neovim session · building · %d+:%d%d$', 'statusline after resume')
end)

test(':ContextdSessions switches between sessions; :ContextdFail and :ContextdComplete', function()
  vim.cmd('ContextdStart debugging Second one')
  wait_for(function()
    return contextd.state.current and contextd.state.current.name == 'Second one'
  end, 'second session')
  -- exclusive start paused the first one (same project)
  table.insert(picks, 'paused / Neovim session')
  vim.cmd('ContextdSessions')
  wait_for(function()
    return contextd.state.current.id == session_id
  end, 'switch to the first session')
  match(contextd.statusline(), 'Neovim session · building', 'statusline after switch')
  table.insert(inputs, 'ran out of coffee')
  vim.cmd('ContextdFail')
  wait_for(function()
    return contextd.state.current.status == 'failed'
  end, 'fail')
  eq(contextd.state.current.failureReason, 'ran out of coffee', 'failure reason')
  table.insert(picks, 'active / Second one')
  vim.cmd('ContextdSessions')
  wait_for(function()
    return contextd.state.current.name == 'Second one'
  end, 'switch to second')
  vim.cmd('ContextdComplete')
  -- The session/didChange event may update the state before the reply arrives:
  -- wait for the command's own message.
  wait_for(function()
    return (last_note(vim.log.levels.INFO) or ''):find('completed “Second one”') ~= nil
  end, 'the completion message')
  eq(contextd.state.current.status, 'completed', 'status')
end)

test('the server is restarted when it dies, state kept in the data directory', function()
  local client = contextd.client()
  local pid = client.pid
  vim.loop.kill(pid, 9)
  wait_for(function()
    return client.pid ~= nil and client.pid ~= pid and client.state == 'running'
  end, 'restart')
  local s, err = client:request_sync('session/get', { id = session_id }, 5000)
  if err then
    fail(require('contextd.rpc').format_error(err))
  end
  eq(s.status, 'failed', 'state survived the restart')
end)

test('shutdown + exit ends the server with code 0', function()
  local info = contextd.client():stop(5000)
  eq(info and info.code, 0, 'exit code')
end)

-- Runner ------------------------------------------------------------------------
local function main()
  if not server or server == '' then
    out('CONTEXTD is not set')
    vim.cmd('cquit 1')
  end
  for _, t in ipairs(tests) do
    picks, inputs = {}, {} -- a failed test must not leave answers for the next
    local ok, err = xpcall(t.fn, debug.traceback)
    if ok then
      results.passed = results.passed + 1
      out('ok - ' .. t.name)
    else
      results.failed = results.failed + 1
      out('not ok - ' .. t.name .. '\n  ' .. tostring(err):gsub('\n', '\n  '))
      out('  notes: ' .. vim.inspect(vim.list_slice(notes, math.max(1, #notes - 5))))
      if contextd.stderr then
        out('  server stderr: ' .. contextd.stderr:sub(-2000))
      end
    end
  end
  out(string.format('neovim: %d passed, %d failed', results.passed, results.failed))
  pcall(contextd.stop)
  vim.cmd(results.failed == 0 and 'qall!' or 'cquit 1')
end

main()
