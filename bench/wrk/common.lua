-- Shared by the wrk scripts: the API key, the member ids, a unique key per request.
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

return M
