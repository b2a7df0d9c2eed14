-- POST /v1/members/{id}/redemptions: a free drink, each member redeeming in turn.
package.path = package.path .. ";" .. (os.getenv("WRK_DIR") or "bench/wrk") .. "/?.lua"
local common = require("common")
local members = common.members()
local thread_number = 0
local counter = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
end

function request()
  counter = counter + 1
  local member = members[(counter * 7919 + thread_number) % #members + 1]
  return wrk.format("POST", "/v1/members/" .. member .. "/redemptions", {
    ["Authorization"] = "Bearer " .. common.key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = common.run .. "-r-" .. thread_number .. "-" .. counter}, '{"reward_id":"free-drink"}')
end
