-- JSON-RPC 2.0 client for contextd over stdio with Content-Length framing.
-- Uses only vim.loop (libuv) pipes and vim.json (Neovim >= 0.7).
--
-- Callbacks run on the main loop (vim.schedule), so they may call any API.
-- Errors are tables {code = n, message = s, data = any}.

local uv = vim.loop

local M = {}

--- Client-side error codes (outside the JSON-RPC reserved and contextd ranges).
M.errors = {
  server_exited = -32099,
  timeout = -32098,
  not_running = -32097,
}

local function decode(body)
  return vim.json.decode(body, { luanil = { object = true, array = true } })
end

--- Encode one message as a Content-Length frame.
function M.encode_frame(message)
  local body = vim.json.encode(message)
  return 'Content-Length: ' .. #body .. '\r\n\r\n' .. body
end

--- A pure frame decoder: push(bytes) returns the list of complete bodies.
function M.frame_decoder()
  local buffer = ''
  local self = {}
  function self.push(chunk)
    buffer = buffer .. chunk
    local bodies = {}
    while true do
      local header_end = buffer:find('\r\n\r\n', 1, true)
      if not header_end then
        break
      end
      local header = buffer:sub(1, header_end - 1)
      local length
      for line in (header .. '\r\n'):gmatch('(.-)\r\n') do
        local name, value = line:match('^%s*([^:]+)%s*:%s*(.-)%s*$')
        if name and name:lower() == 'content-length' then
          length = tonumber(value)
        end
      end
      if not length then
        buffer = buffer:sub(header_end + 4) -- no Content-Length: drop the header
      else
        local start = header_end + 4
        if #buffer < start + length - 1 then
          break
        end
        table.insert(bodies, buffer:sub(start, start + length - 1))
        buffer = buffer:sub(start + length)
      end
    end
    return bodies
  end
  return self
end

--- A readable one-line description of an error table.
function M.format_error(err)
  if type(err) ~= 'table' then
    return tostring(err)
  end
  if err.code == nil then
    return tostring(err.message or vim.inspect(err))
  end
  local message = tostring(err.message)
  local text = string.format('contextd error %s: %s', tostring(err.code), message)
  local d = err.data
  if type(d) == 'table' then
    local lower = message:lower()
    -- Add what the message does not already say.
    local function has(...)
      for _, v in ipairs({ ... }) do
        if not lower:find(tostring(v):lower(), 1, true) then
          return false
        end
      end
      return true
    end
    local details = {}
    if type(d.allowed) == 'table' and not has(table.concat(d.allowed, ', ')) then
      table.insert(details, 'allowed: ' .. (#d.allowed > 0 and table.concat(d.allowed, ', ') or 'none'))
    end
    if type(d.missing) == 'table' and not has(unpack(d.missing)) then
      table.insert(details, 'missing: ' .. table.concat(d.missing, ', '))
    end
    if d.kind and d.id and not has(d.id) then
      table.insert(details, tostring(d.kind) .. ' ' .. tostring(d.id))
    end
    if d.field and not has(d.field) then
      table.insert(details, 'field ' .. tostring(d.field) .. (d.expected and (' (expected ' .. tostring(d.expected) .. ')') or ''))
    end
    if d.reason and not has(d.reason) then
      table.insert(details, tostring(d.reason))
    end
    if d.path and not has(d.path) then
      table.insert(details, 'path ' .. tostring(d.path))
    end
    if d.limit and not has(d.limit) then
      table.insert(details, 'limit ' .. tostring(d.limit))
    end
    if #details > 0 then
      text = text .. ' (' .. table.concat(details, '; ') .. ')'
    end
  end
  return text
end

local Client = {}
Client.__index = Client

--- Create a client (not started).
--- opts: cmd (string), args (list), cwd, env (list "K=V"), init_params (table or function),
---   restart (default true), max_restarts (5), restart_window_ms (60000), restart_delay_ms (200),
---   on_notification(method, params), on_stderr(text), on_exit(info), on_ready(result),
---   on_restart_failed(err), request_timeout_ms (30000)
function M.new(opts)
  local self = setmetatable({}, Client)
  self.opts = vim.tbl_extend('keep', opts or {}, {
    args = {},
    restart = true,
    max_restarts = 5,
    restart_window_ms = 60000,
    restart_delay_ms = 200,
    request_timeout_ms = 30000,
  })
  self.next_id = 1
  self.pending = {}
  self.restarts = {}
  self.state = 'stopped' -- stopped | starting | running | stopping
  self.queue = {} -- requests waiting for initialize
  return self
end

function Client:is_running()
  return self.handle ~= nil and not self.handle:is_closing()
end

local function close(h)
  if h and not h:is_closing() then
    h:close()
  end
end

function Client:_write(message)
  if self.stdin and not self.stdin:is_closing() then
    self.stdin:write(M.encode_frame(message))
  end
end

--- Spawn the server and run the initialize handshake; callback(err, result).
function Client:start(callback)
  callback = callback or function() end
  if self.state == 'running' then
    return callback(nil, self.initialize_result)
  end
  if self.state == 'starting' then
    table.insert(self.queue, { start_callback = callback })
    return
  end
  self.state = 'starting'
  self.stopping = false
  local stdin, stdout, stderr = uv.new_pipe(false), uv.new_pipe(false), uv.new_pipe(false)
  local handle, pid
  handle, pid = uv.spawn(self.opts.cmd, {
    args = self.opts.args,
    cwd = self.opts.cwd,
    env = self.opts.env,
    stdio = { stdin, stdout, stderr },
  }, function(code, signal)
    close(stdin)
    close(stdout)
    close(stderr)
    close(handle)
    vim.schedule(function()
      self:_on_exit(handle, code, signal)
    end)
  end)
  if not handle then
    close(stdin)
    close(stdout)
    close(stderr)
    self.state = 'stopped'
    local err = { code = M.errors.not_running, message = string.format('cannot start contextd (%s): %s', self.opts.cmd, tostring(pid)) }
    self:_flush_queue(err)
    return callback(err)
  end
  self.handle, self.pid, self.stdin = handle, pid, stdin
  local decoder = M.frame_decoder()
  stdout:read_start(function(err, chunk)
    if err or not chunk then
      return
    end
    local bodies = decoder.push(chunk)
    if #bodies > 0 then
      vim.schedule(function()
        for _, body in ipairs(bodies) do
          self:_dispatch(body)
        end
      end)
    end
  end)
  stderr:read_start(function(_, chunk)
    if chunk and self.opts.on_stderr then
      vim.schedule(function()
        self.opts.on_stderr(chunk)
      end)
    end
  end)
  local params = self.opts.init_params
  if type(params) == 'function' then
    params = params()
  end
  params = params or { processId = uv.os_getpid(), clientInfo = { name = 'contextd.nvim' } }
  self:_send_request('initialize', params, function(err, result)
    if err then
      self.state = 'stopped'
      self:_flush_queue(err)
      return callback(err)
    end
    self.state = 'running'
    self.initialize_result = result
    self:_write({ jsonrpc = '2.0', method = 'initialized', params = vim.empty_dict() })
    if self.opts.on_ready then
      self.opts.on_ready(result)
    end
    callback(nil, result)
    self:_flush_queue(nil)
  end)
end

function Client:_flush_queue(err)
  local queue = self.queue
  self.queue = {}
  for _, q in ipairs(queue) do
    if q.start_callback then
      q.start_callback(err, self.initialize_result)
    elseif err then
      q.callback(err)
    else
      self:_send_request(q.method, q.params, q.callback)
    end
  end
end

function Client:_send_request(method, params, callback)
  local id = self.next_id
  self.next_id = id + 1
  local entry = { method = method, callback = callback }
  local timeout = self.opts.request_timeout_ms
  if timeout and timeout > 0 then
    entry.timer = vim.defer_fn(function()
      if self.pending[id] then
        self.pending[id] = nil
        callback({ code = M.errors.timeout, message = string.format('%s: no reply within %d ms', method, timeout) })
      end
    end, timeout)
  end
  self.pending[id] = entry
  local message = { jsonrpc = '2.0', id = id, method = method }
  if params ~= nil then
    message.params = params
  end
  self:_write(message)
  return id
end

--- Send a request; callback(err, result). Starts the server if needed.
function Client:request(method, params, callback)
  if self.state == 'running' then
    return self:_send_request(method, params, callback)
  end
  table.insert(self.queue, { method = method, params = params, callback = callback })
  if self.state == 'stopped' then
    self:start()
  end
end

--- Synchronous request: returns result, err. Waits at most timeout_ms.
function Client:request_sync(method, params, timeout_ms)
  local done, result, err = false, nil, nil
  self:request(method, params, function(e, r)
    done, err, result = true, e, r
  end)
  local ok = vim.wait(timeout_ms or 10000, function()
    return done
  end, 10)
  if not ok then
    return nil, { code = M.errors.timeout, message = method .. ': no reply in time' }
  end
  return result, err
end

function Client:notify(method, params)
  if self.state == 'running' then
    local message = { jsonrpc = '2.0', method = method }
    if params ~= nil then
      message.params = params
    end
    self:_write(message)
  end
end

function Client:_dispatch(body)
  local ok, message = pcall(decode, body)
  if not ok or type(message) ~= 'table' then
    return
  end
  local messages = vim.tbl_islist(message) and message or { message }
  for _, m in ipairs(messages) do
    if m.id ~= nil and (m.result ~= nil or m.error ~= nil or m.method == nil) then
      local entry = self.pending[m.id]
      if entry then
        self.pending[m.id] = nil
        if entry.timer then
          entry.timer:stop()
          close(entry.timer)
        end
        if m.error then
          entry.callback({ code = m.error.code, message = m.error.message, data = m.error.data })
        else
          entry.callback(nil, m.result)
        end
      end
    elseif type(m.method) == 'string' then
      if m.id ~= nil then
        self:_write({ jsonrpc = '2.0', id = m.id, error = { code = -32601, message = 'method not found: ' .. m.method } })
      elseif self.opts.on_notification then
        self.opts.on_notification(m.method, m.params)
      end
    end
  end
end

function Client:_on_exit(handle, code, signal)
  if handle ~= self.handle then
    return
  end
  self.handle, self.stdin, self.pid = nil, nil, nil
  local expected = self.stopping
  local was_starting = self.state == 'starting'
  self.state = 'stopped'
  local reason = (signal and signal ~= 0) and ('signal ' .. signal) or ('code ' .. tostring(code))
  local pending = self.pending
  self.pending = {}
  for _, entry in pairs(pending) do
    if entry.timer then
      entry.timer:stop()
      close(entry.timer)
    end
    entry.callback({ code = M.errors.server_exited, message = string.format('contextd exited (%s) before answering %s', reason, entry.method) })
  end
  self.last_exit = { code = code, signal = signal, expected = expected }
  if self.opts.on_exit then
    self.opts.on_exit(self.last_exit)
  end
  if was_starting then
    self:_flush_queue({ code = M.errors.server_exited, message = 'contextd exited (' .. reason .. ') during start' })
  end
  if expected or not self.opts.restart then
    return
  end
  local now = uv.now()
  local recent = {}
  for _, t in ipairs(self.restarts) do
    if now - t < self.opts.restart_window_ms then
      table.insert(recent, t)
    end
  end
  self.restarts = recent
  if #recent >= self.opts.max_restarts then
    if self.opts.on_gave_up then
      self.opts.on_gave_up(self.last_exit)
    end
    return
  end
  table.insert(self.restarts, now)
  vim.defer_fn(function()
    if self.stopping or self.state ~= 'stopped' then
      return
    end
    self:start(function(err, result)
      if err and self.opts.on_restart_failed then
        self.opts.on_restart_failed(err)
      elseif not err and self.opts.on_restarted then
        self.opts.on_restarted(result)
      end
    end)
  end, self.opts.restart_delay_ms)
end

--- Orderly, synchronous stop: shutdown, exit, wait for the process (kill after timeout).
--- Returns the exit info {code, signal} or nil if it was not running.
function Client:stop(timeout_ms)
  timeout_ms = timeout_ms or 3000
  self.stopping = true
  if not self.handle then
    self.state = 'stopped'
    return nil
  end
  local handle = self.handle
  if self.state == 'starting' then
    vim.wait(timeout_ms, function()
      return self.state ~= 'starting'
    end, 10)
  end
  if self.state == 'running' then
    self:request_sync('shutdown', nil, timeout_ms)
    self:_write({ jsonrpc = '2.0', method = 'exit' })
  end
  self.state = 'stopping'
  if self.stdin then
    self.stdin:shutdown()
  end
  local exited = vim.wait(timeout_ms, function()
    return self.handle ~= handle
  end, 10)
  if not exited and not handle:is_closing() then
    handle:kill('sigterm')
    vim.wait(1000, function()
      return self.handle ~= handle
    end, 10)
  end
  return self.last_exit
end

return M
