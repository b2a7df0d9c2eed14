-- Shared by the wrk scripts: the API key, the member ids, which member and key each request uses.
local M = {}
M.key = os.getenv("API_KEY") or ""
M.run = os.getenv("RUN") or "run"

function M.members()
  local ids = {}
  local file = os.getenv("MEMBERS_FILE")
  if file then
    for line in io.lines(file) do ids[#ids + 1] = line end
  end
  return ids
end

-- wrk calls the global setup() once per thread before it starts: number the threads.
function M.number_threads()
  local count = 0
  setup = function(thread)
    count = count + 1
    thread:set("thread_number", count)
  end
end

-- The next member (spread over the list, different per thread) and a request id unique in this run.
local counter = 0
function M.next(members)
  counter = counter + 1
  local number = thread_number or 0
  return members[(counter * 7919 + number) % #members + 1], M.run .. "-" .. number .. "-" .. counter
end

return M
