-- POST /v1/members/{id}/redemptions: a free drink, each member redeeming in turn.
package.path = package.path .. ";" .. (os.getenv("WRK_DIR") or "bench/wrk") .. "/?.lua"
local common = require("common")
local members = common.members()
common.number_threads()

function request()
  local member, key = common.next(members)
  return wrk.format("POST", "/v1/members/" .. member .. "/redemptions", {
    ["Authorization"] = "Bearer " .. common.key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key .. "-r"}, '{"reward_id":"free-drink"}')
end
