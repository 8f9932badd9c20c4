-- Drives `tensorlint server` from inside a headless Neovim, as a user would, and writes
-- what happened to $SMOKE_OUT as JSON. Run by scripts/editor_smoke.py, which sets up the
-- project (bad.py, cfg.py, pyproject.toml), the init.lua (the README's snippet) and
-- checks the results. Works on Neovim 0.7 to 0.11: only APIs present in 0.7 are needed,
-- except where it says so (`vim.lsp.buf.code_action{apply = true}` is 0.8+).
local steps = {}
local function record(name, value)
  table.insert(steps, { name = name, value = value })
end

local function finish()
  local f = assert(io.open(os.getenv("SMOKE_OUT"), "w"))
  f:write(vim.json.encode(steps))
  f:close()
  vim.cmd("qa!")
end

local WAIT = tonumber(os.getenv("SMOKE_WAIT_MS") or "15000")
local v = vim.version()
local get_clients = vim.lsp.get_clients or vim.lsp.get_active_clients

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function diags(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      code = d.code, source = d.source, message = d.message, severity = d.severity,
    })
  end
  table.sort(out, function(a, b) return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col) end)
  return out
end

local function codes(buf)
  local out = {}
  for _, d in ipairs(diags(buf)) do table.insert(out, tostring(d.code) .. "@" .. d.lnum .. ":" .. d.col) end
  return table.concat(out, ",")
end

-- Wait until the diagnostics are exactly `want` ("TL001@1:4,..." or "" for none).
local function wait_codes(buf, want)
  local ok = vim.wait(WAIT, function() return codes(buf) == want end, 20)
  return { ok = ok, got = codes(buf) }
end

local function client_for(buf)
  for _, c in ipairs(get_clients({ bufnr = buf })) do
    if c.name == "tensorlint" then return c end
  end
end

local function set_text(buf, text_lines)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, text_lines)
end

-- The user picks the code action whose title contains `pattern` in the menu that
-- vim.lsp.buf.code_action() shows (vim.ui.select), as from the keyboard.
local function choose_action(pattern, context)
  local offered = {}
  local original = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    local pick
    for i, item in ipairs(items) do
      local action = item.action or item[2] -- 0.10+: {action=..}; 0.7: {client_id, action}
      table.insert(offered, action.title)
      if not pick and action.title:find(pattern, 1, true) then pick = i end
    end
    vim.ui.select = original
    on_choice(pick and items[pick] or nil, pick)
  end
  vim.lsp.buf.code_action(context)
  vim.wait(WAIT, function() return #offered > 0 end, 20)
  vim.ui.select = original
  return offered
end

local ok, err = pcall(function()
  local buf = vim.api.nvim_get_current_buf()
  record("nvim", string.format("%d.%d.%d", v.major, v.minor, v.patch))
  record("filetype", vim.bo[buf].filetype)

  -- 1. the README's config starts the server for a Python file
  vim.wait(WAIT, function() return client_for(buf) ~= nil end, 20)
  local client = client_for(buf)
  record("attached", client and { root_dir = client.config.root_dir, encoding = client.offset_encoding } or false)
  if not client then return end

  -- 2. diagnostics on open
  record("open", wait_codes(buf, "TL001@1:4"))
  record("open_diagnostics", diags(buf))

  -- 3. hover: the request, and the float that `K` / vim.lsp.buf.hover() shows
  vim.api.nvim_win_set_cursor(0, { 2, 10 })
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local res = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, WAIT) or {}
  local hover = ""
  for _, r in pairs(res) do
    if r.result and r.result.contents then hover = r.result.contents.value or "" end
  end
  record("hover", hover:sub(1, 80))
  local before = #vim.api.nvim_list_wins()
  vim.lsp.buf.hover()
  vim.wait(WAIT, function() return #vim.api.nvim_list_wins() > before end, 20)
  local float_text = ""
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      float_text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, 3, false), "\n")
      vim.api.nvim_win_close(w, true)
    end
  end
  record("hover_float", float_text)

  -- 4. code actions offered at the finding (the menu the user sees), and the quick fix
  local offered = choose_action("Replace with", nil)
  record("actions", offered)
  vim.wait(WAIT, function() return lines(buf)[2] ~= "x = torch.tensor(torch.ones(2))" end, 20)
  record("fixed_line", lines(buf)[2])
  record("after_fix", wait_codes(buf, ""))

  -- 5. an unsaved edit: a new finding after non-ASCII text (position encodings)
  local edited = 's = "h\u{e9}llo w\u{f6}rld \u{1F600}"; y = torch.tensor(torch.ones(3))'
  vim.api.nvim_buf_set_lines(buf, 2, 2, false, { edited })
  local col = edited:find("torch.tensor", 1, true) - 1 -- byte column, 0-based
  record("unsaved_edit", wait_codes(buf, "TL001@2:" .. col))
  record("modified", vim.bo[buf].modified)

  -- 6. "Disable for this line"
  vim.api.nvim_win_set_cursor(0, { 3, col })
  choose_action("Disable for this line", nil)
  vim.wait(WAIT, function() return lines(buf)[3] ~= edited end, 20)
  record("noqa_line", lines(buf)[3])
  record("after_noqa", wait_codes(buf, ""))

  -- 7. fix all, with the README's call (0.8+: `apply`); on 0.7 through the menu
  set_text(buf, { "import torch", "a = torch.tensor(torch.ones(2))", "b = torch.tensor(torch.zeros(2))" })
  record("two_findings", wait_codes(buf, "TL001@1:4,TL001@2:4"))
  if vim.fn.has("nvim-0.8") == 1 then
    vim.lsp.buf.code_action({ context = { only = { "source.fixAll.tensorlint" } }, apply = true })
  else
    choose_action("Fix all", { only = { "source.fixAll.tensorlint" } })
  end
  vim.wait(WAIT, function() return not table.concat(lines(buf), "\n"):find("torch.tensor(", 1, true) end, 20)
  record("fix_all_text", lines(buf))
  record("after_fix_all", wait_codes(buf, ""))

  -- 8. save: the file on disk is what was typed, and its findings are published again
  set_text(buf, { "import torch", "x = torch.tensor(torch.ones(2))" })
  record("before_save", wait_codes(buf, "TL001@1:4"))
  vim.cmd("silent write")
  record("saved", table.concat(vim.fn.readfile(vim.api.nvim_buf_get_name(buf)), "\n"))
  record("after_save", wait_codes(buf, "TL001@1:4"))

  -- 9. settings: cfg.py is under per-file-ignores = TL001 in pyproject.toml
  vim.cmd("edit cfg.py")
  local cfg = vim.api.nvim_get_current_buf()
  vim.wait(WAIT, function() return client_for(cfg) ~= nil end, 20)
  record("config", wait_codes(cfg, "TL003@1:26"))

  -- 10. the configuration edited on disk, which Neovim does not report on Linux: `:edit`
  local f = assert(io.open(vim.fn.getcwd() .. "/pyproject.toml", "w"))
  f:write("[tool.tensorlint]\n") -- per-file-ignores gone: TL001 comes back
  f:close()
  vim.cmd("edit")
  record("config_edit", wait_codes(cfg, "TL003@1:26,TL001@2:4"))
  record("one_server", #get_clients())
end)
if not ok then record("error", tostring(err)) end
record("log_path", vim.lsp.get_log_path())
finish()
