-- GET /v1/members/{id}: what a till shows before a sale.
package.path = package.path .. ";" .. (os.getenv("WRK_DIR") or "bench/wrk") .. "/?.lua"
local common = require("common")
local members = common.members()
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", "/v1/members/" .. members[(counter * 7919) % #members + 1],
    {["Authorization"] = "Bearer " .. common.key})
end
