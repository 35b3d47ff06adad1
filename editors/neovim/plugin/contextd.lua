-- User commands of contextd.nvim. The server starts on first use; call
-- require('contextd').setup{...} to configure it (see :help contextd).
if vim.g.loaded_contextd or vim.fn.has('nvim-0.7') ~= 1 then
  return
end
vim.g.loaded_contextd = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, fn, opts or {})
end

local function contextd()
  return require('contextd')
end

cmd('ContextdStart', function(o)
  local mode, name = o.fargs[1], nil
  if #o.fargs > 1 then
    name = table.concat(o.fargs, ' ', 2)
  end
  contextd().start(mode, name)
end, {
  nargs = '*',
  desc = 'contextd: start a session [mode] [name]',
  complete = function(arglead, line)
    if #vim.split(line, '%s+') > 2 then
      return {}
    end
    return vim.tbl_filter(function(m)
      return m:find(arglead, 1, true) == 1
    end, require('contextd').MODES)
  end,
})
cmd('ContextdPause', function()
  contextd().pause()
end, { desc = 'contextd: pause the current session' })
cmd('ContextdResume', function()
  contextd().resume()
end, { desc = 'contextd: resume the current session' })
cmd('ContextdComplete', function()
  contextd().complete()
end, { desc = 'contextd: complete the current session' })
cmd('ContextdFail', function(o)
  contextd().fail(o.args ~= '' and o.args or nil)
end, { nargs = '*', desc = 'contextd: fail the current session [reason]' })
cmd('ContextdSessions', function()
  contextd().sessions()
end, { desc = 'contextd: browse sessions and switch' })
cmd('ContextdRender', function(o)
  contextd().render(o.args ~= '' and o.args or nil, o.bang)
end, {
  nargs = '?',
  bang = true,
  desc = 'contextd: render a template at the cursor (! = new buffer)',
  complete = function(arglead)
    return require('contextd').complete_templates(arglead)
  end,
})
cmd('ContextdSend', function(o)
  contextd().send(o.line1, o.line2)
end, { range = '%', desc = "contextd: send lines (default: buffer) to the session's conversation" })
cmd('ContextdSearch', function(o)
  contextd().search(o.args ~= '' and o.args or nil)
end, { nargs = '*', desc = 'contextd: search conversation history' })
cmd('ContextdRefresh', function()
  contextd().refresh()
end, { desc = 'contextd: re-fetch the current session' })
cmd('ContextdRestart', function()
  contextd().restart()
end, { desc = 'contextd: restart the server' })
