-- POST /v1/events: a $12.50 purchase with two coffees, a fresh Idempotency-Key and source_id each.
package.path = package.path .. ";" .. (os.getenv("WRK_DIR") or "bench/wrk") .. "/?.lua"
local common = require("common")
local members = common.members()
common.number_threads()

function request()
  local member, key = common.next(members)
  local body = '{"type":"purchase","member_id":"' .. member .. '","amount":1250,"currency":"USD",' ..
    '"source_id":"' .. key .. '","items":[{"sku":"latte","category":"coffee","quantity":2,"unit_amount":450}]}'
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer " .. common.key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key}, body)
end
