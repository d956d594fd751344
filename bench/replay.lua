-- wrk script: POST each pre-built body exactly once, keep every reply, stop when all are answered.
--
-- Run by bench/_wrk.py as `wrk -t T -c C -s replay.lua URL -- BODIES OUT T`. BODIES holds the request
-- bodies, each written as "<length>\n<bytes>". Thread k of T (1-based) sends bodies k, k+T, k+2T, ...
-- over its connections, so each body goes out once. Each reply is appended to OUT/replies-k as
-- "<status> <length>\n<bytes>". A thread that has every answer writes OUT/done-k and stops; the
-- thread that finds all T done files sends SIGINT to its own process, which then ends the run at once (wrk's
-- main thread otherwise sleeps for the whole -d) and reports the time up to that moment.

local ffi = require("ffi")
ffi.cdef([[
int getpid(void);
int kill(int pid, int sig);
]])
local SIGINT = 2

local threads_started = 0

function setup(thread)
  threads_started = threads_started + 1
  thread:set("id", threads_started)
end

local bodies = {}
local next_body = 1
local reserved = 0 -- bodies promised to a connection by delay(), which wrk calls before each request()
local answered = 0
local replies
local out_dir
local thread_count
local verified = false

function init(args)
  local path = args[1]
  out_dir = args[2]
  thread_count = tonumber(args[3])
  local file = assert(io.open(path, "rb"))
  local index = 0
  while true do
    local header = file:read("*l")
    if header == nil then break end
    local body = file:read(tonumber(header))
    index = index + 1
    if (index - 1) % thread_count == id - 1 then
      bodies[#bodies + 1] = body
    end
  end
  file:close()
  assert(#bodies > 0, "every thread needs at least one body")
  replies = assert(io.open(out_dir .. "/replies-" .. id, "wb"))
end

local function post(body)
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/x-pki-message" }, body)
end

function delay()
  -- Once every body is promised, idle connections wait (far longer than any run) instead of sending.
  if reserved >= #bodies then
    return 3600000
  end
  reserved = reserved + 1
  return 0
end

function request()
  if not verified and id == 1 then
    -- wrk calls request() once on the first thread to check the format before the run: not a send.
    verified = true
    return post(bodies[1] or "")
  end
  local body = bodies[next_body]
  next_body = next_body + 1
  return post(body)
end

function response(status, headers, body)
  replies:write(status, " ", #body, "\n", body)
  answered = answered + 1
  if answered == #bodies then
    finish()
  end
end

function finish()
  if replies then
    replies:close()
    replies = nil
  end
  local marker = assert(io.open(out_dir .. "/done-" .. id, "w"))
  marker:close()
  wrk.thread:stop()
  for k = 1, thread_count do
    local other = io.open(out_dir .. "/done-" .. k, "r")
    if other == nil then
      return
    end
    other:close()
  end
  -- Through the FFI, not os.execute: system() ignores SIGINT in its caller while the command runs.
  ffi.C.kill(ffi.C.getpid(), SIGINT)
end

function done(summary, latency, requests)
  io.write(string.format("replay: %d requests in %d us\n", summary.requests, summary.duration))
end
