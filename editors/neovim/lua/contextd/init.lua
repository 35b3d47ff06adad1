-- contextd for Neovim: sessions, conversations and templates from the contextd server.
-- Public API: setup(opts), statusline(), and one function per user command.
-- See :help contextd.

local rpc = require('contextd.rpc')

local M = {}

local MODES = { 'planning', 'building', 'testing', 'refactoring', 'debugging', 'deployment' }
local STATUS_ORDER = { active = 1, paused = 2, idle = 3, completed = 4, failed = 5 }
local LIVE = { idle = true, active = true, paused = true }

M.config = {
  cmd = 'contextd', -- server binary (on PATH or absolute)
  args = {}, -- extra arguments, e.g. { '--store', 'memory' }
  data_dir = nil, -- passed as --data-dir when set
  project_id = nil, -- string or function() -> string; default: cwd's folder name
  exclusive = true, -- starting a session pauses the project's other active sessions
  refresh_ms = 1000, -- statusline redraw while a session is active (0 disables)
  refetch_ms = 60000, -- re-fetch the current session from the server (0 disables)
  notify = function(msg, level)
    vim.notify(msg, level)
  end,
}

M.state = { current = nil } -- current session (the one the statusline shows)

-- MARK: helpers

local function notify(msg, level)
  M.config.notify(msg, level or vim.log.levels.INFO)
end

local function report(err)
  notify(rpc.format_error(err), vim.log.levels.ERROR)
end

local function now_ms()
  local sec, usec = vim.loop.gettimeofday()
  return sec * 1000 + math.floor(usec / 1000)
end

--- Active time of a session in ms, pauses excluded, as of `now` (ms since epoch).
--- The server reports `activeMs` as of its reply (the running stretch included), so
--- while the session is active we add the time since the reply (`fetched_at`).
function M.elapsed_ms(s, now, fetched_at)
  if not s then
    return 0
  end
  local base = tonumber(s.activeMs) or 0
  if s.status ~= 'active' then
    return base
  end
  now = now or now_ms()
  return base + math.max(0, now - (fetched_at or now))
end

function M.format_duration(ms)
  local total = math.max(0, math.floor((ms or 0) / 1000))
  local h, m, s = math.floor(total / 3600), math.floor((total % 3600) / 60), total % 60
  if h > 0 then
    return string.format('%d:%02d:%02d', h, m, s)
  end
  return string.format('%d:%02d', m, s)
end

function M.project_id()
  local p = M.config.project_id
  if type(p) == 'function' then
    p = p()
  end
  if p and p ~= '' then
    return p
  end
  local base = vim.fn.fnamemodify(vim.fn.getcwd(), ':t')
  local id = base:gsub('[^A-Za-z0-9._-]+', '-'):gsub('^-+', ''):gsub('-+$', ''):sub(1, 128)
  if id == '' then
    return nil
  end
  return id
end

local function obj(t)
  -- vim.json encodes an empty table as [], the server wants an object
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

-- MARK: coroutine plumbing: commands read top to bottom, waiting on callbacks.

local Cancelled = {}

local function run(fn, ...)
  local args = { ... }
  local co = coroutine.create(function()
    return fn(unpack(args))
  end)
  local function step(...)
    local ok, err = coroutine.resume(co, ...)
    if not ok then
      if err ~= Cancelled then
        if type(err) == 'table' then
          report(err)
        else
          notify('contextd: ' .. tostring(err), vim.log.levels.ERROR)
        end
      end
    end
    return ok
  end
  M._last_step = step
  step()
end
M._run = run

--- Wait for `start(cb)` to call cb; returns its arguments.
local function await(start)
  local co = coroutine.running()
  assert(co, 'contextd: await outside a coroutine')
  local results, done, yielded = nil, false, false
  start(function(...)
    results, done = { ... }, true
    if yielded then
      local ok, err = coroutine.resume(co)
      if not ok and err ~= Cancelled then
        if type(err) == 'table' then
          report(err)
        else
          notify('contextd: ' .. tostring(err), vim.log.levels.ERROR)
        end
      end
    end
  end)
  if not done then
    yielded = true
    coroutine.yield()
  end
  return unpack(results, 1, table.maxn(results))
end

local function select(items, opts)
  local choice = await(function(cb)
    vim.ui.select(items, opts, function(item)
      cb(item)
    end)
  end)
  if choice == nil then
    error(Cancelled, 0)
  end
  return choice
end

local function input(opts)
  local text = await(function(cb)
    vim.ui.input(opts, function(t)
      cb(t)
    end)
  end)
  if text == nil then
    error(Cancelled, 0)
  end
  return text
end

-- MARK: server

local client

local function server_args()
  local args = vim.deepcopy(M.config.args or {})
  if M.config.data_dir and M.config.data_dir ~= '' then
    table.insert(args, '--data-dir')
    table.insert(args, vim.fn.expand(M.config.data_dir))
  end
  return args
end

function M.client()
  if client then
    return client
  end
  client = rpc.new({
    cmd = M.config.cmd,
    args = server_args(),
    init_params = function()
      local cwd = vim.fn.getcwd()
      return {
        processId = vim.loop.os_getpid(),
        rootUri = vim.uri_from_fname(cwd),
        workspaceFolders = { { uri = vim.uri_from_fname(cwd), name = vim.fn.fnamemodify(cwd, ':t') } },
        clientInfo = { name = 'contextd.nvim', version = '0.1.0' },
        capabilities = vim.empty_dict(),
      }
    end,
    on_stderr = function(text)
      M.stderr = ((M.stderr or '') .. text):sub(-20000)
    end,
    on_ready = function()
      client:request('events/subscribe', { topics = { 'session' } }, function() end)
    end,
    on_notification = function(method, params)
      if method == 'session/didChange' and type(params) == 'table' and params.session then
        local cur = M.state.current
        if cur and params.session.id == cur.id then
          if params.event == 'deleted' then
            M.state.current = nil
          else
            M.state.current = params.session
            M.state.fetched_at = now_ms()
          end
          vim.cmd('redrawstatus')
        end
      end
    end,
    on_exit = function(info)
      if not info.expected then
        notify(string.format('contextd exited (%s); restarting', info.signal ~= 0 and ('signal ' .. info.signal) or ('code ' .. tostring(info.code))), vim.log.levels.WARN)
      end
    end,
    on_gave_up = function()
      notify('contextd keeps exiting; not restarting it (see :lua print(require("contextd").stderr))', vim.log.levels.ERROR)
    end,
    on_restart_failed = report,
  })
  return client
end

--- Await a request inside a command; raises the error table on failure.
--- Await a request inside a command; returns result, err (never raises, so no
--- yield happens across pcall: PUC-Lua 5.1 builds of Neovim cannot do that).
local function try_call(method, params)
  local err, result = await(function(cb)
    M.client():request(method, params, cb)
  end)
  return result, err
end

local function call(method, params)
  local result, err = try_call(method, params)
  if err then
    error(err, 0)
  end
  return result
end
M._call = call

local timer
local function ensure_timer()
  if timer or (M.config.refresh_ms or 0) <= 0 then
    return
  end
  timer = vim.loop.new_timer()
  local last_fetch = now_ms()
  timer:start(
    M.config.refresh_ms,
    M.config.refresh_ms,
    vim.schedule_wrap(function()
      local cur = M.state.current
      if not cur then
        return
      end
      if (M.config.refetch_ms or 0) > 0 and now_ms() - last_fetch >= M.config.refetch_ms then
        last_fetch = now_ms()
        M.refresh()
      end
      if cur.status == 'active' then
        vim.cmd('redrawstatus')
      end
    end)
  )
end

local function set_current(session)
  M.state.current = session
  M.state.fetched_at = now_ms()
  ensure_timer()
  vim.cmd('redrawstatus')
  return session
end

-- MARK: statusline

--- Active time of the current session now, or 0.
function M.current_elapsed_ms()
  return M.elapsed_ms(M.state.current, now_ms(), M.state.fetched_at)
end

--- Text for the statusline: "[ctx] name · mode · 12:03" (+ " (paused)" etc.).
function M.statusline()
  local s = M.state.current
  if not s then
    return '[ctx] no session'
  end
  local suffix = s.status == 'active' and '' or (' (' .. s.status .. ')')
  return string.format('[ctx] %s · %s · %s%s', s.name, s.mode, M.format_duration(M.current_elapsed_ms()), suffix)
end

-- MARK: commands (each runs in a coroutine; errors are shown with code + message)

local function refresh_body()
  local cur = M.state.current
  if cur then
    local s, err = try_call('session/get', { id = cur.id })
    if s and LIVE[s.status] then
      return set_current(s)
    end
    if err and err.code ~= 1001 then
      error(err, 0)
    end
  end
  local params = { status = 'active', limit = 1 }
  params.projectId = M.project_id()
  local res = call('session/list', params)
  return set_current(res.sessions and res.sessions[1] or nil)
end

local function current_or_pick()
  if M.state.current then
    return M.state.current
  end
  refresh_body()
  if M.state.current then
    return M.state.current
  end
  return M._sessions_body()
end

local function modes()
  local res = try_call('session/modes', vim.empty_dict())
  if res and res.modes and #res.modes > 0 then
    return res.modes
  end
  local list = {}
  for _, m in ipairs(MODES) do
    table.insert(list, { mode = m, description = '' })
  end
  return list
end

local function start_body(mode, name)
  if not mode or mode == '' then
    local m = select(modes(), {
      prompt = 'contextd: session mode',
      format_item = function(m)
        return m.description ~= '' and (m.mode .. ' — ' .. m.description) or m.mode
      end,
    })
    mode = m.mode
  end
  while not name or vim.trim(name) == '' do
    name = input({ prompt = 'Session name: ' })
  end
  local created = call('session/create', { name = vim.trim(name), mode = mode, projectId = M.project_id() })
  local started = call('session/start', { id = created.id, exclusive = M.config.exclusive })
  set_current(started)
  notify(string.format('contextd: started “%s” (%s)', started.name, started.mode))
  return started
end

local function transition(method, extra)
  local s = current_or_pick()
  local params = vim.tbl_extend('force', { id = s.id }, extra or {})
  return set_current(call(method, params))
end

function M._sessions_body(filter)
  local all, cursor = {}, nil
  for _ = 1, 50 do
    local params = vim.tbl_extend('force', { limit = 200 }, filter or {})
    params.cursor = cursor
    local res = call('session/list', params)
    vim.list_extend(all, res.sessions or {})
    cursor = res.nextCursor
    if not cursor then
      break
    end
  end
  if #all == 0 then
    notify('contextd: no sessions yet')
    error(Cancelled, 0)
  end
  table.sort(all, function(a, b)
    local pa, pb = a.projectId or '~', b.projectId or '~'
    if pa ~= pb then
      return pa < pb
    end
    local sa, sb = STATUS_ORDER[a.status] or 9, STATUS_ORDER[b.status] or 9
    if sa ~= sb then
      return sa < sb
    end
    return (a.updatedAt or '') > (b.updatedAt or '')
  end)
  local now = now_ms()
  local picked = select(all, {
    prompt = 'contextd: sessions (project / status)',
    kind = 'contextd.session',
    format_item = function(s)
      return string.format('%s / %s / %s [%s] %s', s.projectId or '(no project)', s.status, s.name, s.mode, M.format_duration(M.elapsed_ms(s, now)))
    end,
  })
  return set_current(call('session/get', { id = picked.id }))
end

-- Template variables: prompt each, defaults pre-filled, required enforced.
local function convert(text, vtype)
  vtype = (vtype or ''):lower()
  if vtype == 'number' or vtype == 'integer' then
    return tonumber(text) or text
  elseif vtype == 'boolean' or vtype == 'bool' then
    local t = vim.trim(text):lower()
    return t == 'true' or t == 'yes' or t == 'y' or t == '1' or t == 'on'
  elseif vtype == 'array' or vtype == 'list' then
    local out = {}
    for part in text:gmatch('[^,\n]+') do
      local p = vim.trim(part)
      if p ~= '' then
        table.insert(out, p)
      end
    end
    return out
  elseif vtype == 'object' or vtype == 'json' then
    local ok, v = pcall(vim.json.decode, text)
    return ok and v or text
  end
  return text
end

local function default_text(v)
  if type(v) == 'string' then
    return v
  elseif type(v) == 'table' and vim.tbl_islist(v) then
    return table.concat(vim.tbl_map(tostring, v), ', ')
  elseif v == nil or v == vim.NIL then
    return ''
  end
  return type(v) == 'table' and vim.json.encode(v) or tostring(v)
end

local function prompt_variables(template)
  local values = {}
  for _, v in ipairs(template.variables or {}) do
    local has_default = v.default ~= nil and v.default ~= vim.NIL
    local must = v.required and not has_default
    local label = v.name
    if v.description and v.description ~= '' then
      label = label .. ' (' .. v.description .. ')'
    end
    label = label .. (must and ' [required]' or '') .. ': '
    local text = input({ prompt = label, default = has_default and default_text(v.default) or '' })
    while must and vim.trim(text) == '' do
      notify('contextd: ' .. v.name .. ' is required', vim.log.levels.WARN)
      text = input({ prompt = label, default = '' })
    end
    if text ~= '' or must then
      values[v.name] = convert(text, v.type)
    end
  end
  return values
end

local function insert_text(text, new_buffer, filetype)
  local lines = vim.split(text, '\n', { plain = true })
  if new_buffer then
    vim.cmd('new')
    local buf = vim.api.nvim_get_current_buf()
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    if filetype then
      vim.bo[buf].filetype = filetype
    end
    return buf
  end
  local buf = vim.api.nvim_get_current_buf()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local line = vim.api.nvim_buf_get_lines(buf, row - 1, row, false)[1] or ''
  col = math.min(col, #line)
  vim.api.nvim_buf_set_text(buf, row - 1, col, row - 1, col, lines)
  return buf
end

local function render_body(name, new_buffer)
  local template
  if name and name ~= '' then
    template = call('template/get', { name = name })
  else
    local res = call('template/list', vim.empty_dict())
    if not res.templates or #res.templates == 0 then
      notify('contextd: no templates')
      error(Cancelled, 0)
    end
    template = select(res.templates, {
      prompt = 'contextd: template',
      kind = 'contextd.template',
      format_item = function(t)
        return string.format('%s (%s)%s', t.name, t.type, (t.description and t.description ~= '') and (' — ' .. t.description) or '')
      end,
    })
  end
  local values = prompt_variables(template)
  local res = call('template/render', { id = template.id, variables = obj(values) })
  local buf = insert_text(res.text, new_buffer, template.type ~= 'code' and 'markdown' or nil)
  return res.text, buf
end

local function conversation_for(session)
  local res = call('memory/listConversations', { sessionId = session.id, limit = 1 })
  if res.conversations and res.conversations[1] then
    return res.conversations[1]
  end
  return call('memory/createConversation', { title = session.name, sessionId = session.id })
end

local function send_body(text)
  if not text or vim.trim(text) == '' then
    notify('contextd: nothing to send', vim.log.levels.WARN)
    error(Cancelled, 0)
  end
  local session = current_or_pick()
  local conv = conversation_for(session)
  local res = call('memory/addMessage', { conversationId = conv.id, role = 'user', content = text })
  local note = (res.trimmed and #res.trimmed > 0) and string.format(' (%d older trimmed)', #res.trimmed) or ''
  notify(string.format('contextd: sent %s tokens to “%s”%s', tostring(res.message.tokens), conv.title, note))
  M.state.last_message = res.message
  return res
end

local function search_body(query)
  while not query or vim.trim(query) == '' do
    query = input({ prompt = 'Search history: ' })
  end
  local res = call('memory/search', { query = vim.trim(query), limit = 50 })
  if not res.hits or #res.hits == 0 then
    notify('contextd: no messages match “' .. query .. '”')
    error(Cancelled, 0)
  end
  local hit = select(res.hits, {
    prompt = 'contextd: ' .. #res.hits .. ' hit(s)',
    kind = 'contextd.hit',
    format_item = function(h)
      local snippet = (h.snippet or h.message.content or ''):gsub('%s+', ' ')
      return string.format('[%s] %s', h.message.role, snippet)
    end,
  })
  local out = call('memory/toText', { conversationId = hit.conversationId })
  local text = type(out) == 'string' and out or out.text
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, '\n', { plain = true }))
  pcall(vim.api.nvim_buf_set_name, buf, 'contextd://conversation/' .. hit.conversationId)
  vim.bo[buf].filetype = 'markdown'
  vim.bo[buf].modifiable = false
  vim.api.nvim_set_current_buf(buf)
  -- Put the cursor on the hit's message.
  local first = vim.split(hit.message.content or '', '\n', { plain = true })[1]
  if first and first ~= '' then
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    for i, l in ipairs(lines) do
      local col = l:find(first, 1, true)
      if col then
        vim.api.nvim_win_set_cursor(0, { i, col - 1 })
        break
      end
    end
  end
  return hit, buf
end

-- MARK: public commands

function M.refresh()
  run(refresh_body)
end

function M.start(mode, name)
  run(start_body, mode, name)
end

function M.pause()
  run(transition, 'session/pause')
end

function M.resume()
  run(transition, 'session/resume')
end

function M.complete()
  run(function()
    local s = transition('session/complete')
    notify(string.format('contextd: completed “%s” after %s', s.name, M.format_duration(s.activeMs)))
  end)
end

function M.fail(reason)
  run(function()
    while not reason or vim.trim(reason) == '' do
      reason = input({ prompt = 'Why did the session fail? ' })
    end
    transition('session/fail', { reason = vim.trim(reason) })
  end)
end

function M.sessions()
  run(M._sessions_body)
end

function M.render(name, new_buffer)
  run(render_body, name, new_buffer)
end

--- Send lines line1..line2 of the current buffer (whole buffer by default).
function M.send(line1, line2)
  local lines = vim.api.nvim_buf_get_lines(0, (line1 or 1) - 1, line2 or -1, false)
  run(send_body, table.concat(lines, '\n'))
end

function M.send_text(text)
  run(send_body, text)
end

function M.search(query)
  run(search_body, query)
end

function M.restart()
  if client then
    client:stop()
  end
  M.client():start(function(err)
    if err then
      return report(err)
    end
    M.refresh()
  end)
end

function M.stop()
  if client then
    client:stop(2000)
  end
  if timer then
    timer:stop()
    timer:close()
    timer = nil
  end
end

--- Template names for command-line completion.
function M.complete_templates(arglead)
  local res = M.client():request_sync('template/list', vim.empty_dict(), 3000)
  local names = {}
  for _, t in ipairs((res and res.templates) or {}) do
    if t.name:lower():find(arglead:lower(), 1, true) == 1 then
      table.insert(names, t.name)
    end
  end
  return names
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  if client then
    client:stop()
    client = nil
  end
  local group = vim.api.nvim_create_augroup('contextd', { clear = true })
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = group,
    callback = function()
      M.stop()
    end,
  })
  return M
end

M.MODES = MODES
M.Cancelled = Cancelled

return M
