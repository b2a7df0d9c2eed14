-- POST /v1/events/batch: BATCH_SIZE (default 500) purchases of $12.50 with two coffees, as accrual.lua
-- sends one by one, over the members in turn; a fresh Idempotency-Key and source_id each.
package.path = package.path .. ";" .. (os.getenv("WRK_DIR") or "bench/wrk") .. "/?.lua"
local common = require("common")
local members = common.members()
local size = tonumber(os.getenv("BATCH_SIZE") or "500")
common.number_threads()

function request()
  local events, key = {}, nil
  for n = 1, size do
    local member, source_id = common.next(members)
    key = key or source_id
    events[n] = '{"type":"purchase","member_id":"' .. member .. '","amount":1250,"currency":"USD",' ..
      '"source_id":"' .. source_id .. '","items":[{"sku":"latte","category":"coffee","quantity":2,' ..
      '"unit_amount":450}]}'
  end
  return wrk.format("POST", "/v1/events/batch", {
    ["Authorization"] = "Bearer " .. common.key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key}, '{"events":[' .. table.concat(events, ",") .. ']}')
end
