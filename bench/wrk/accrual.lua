-- POST /v1/events: a $12.50 purchase with two coffees, a fresh Idempotency-Key and source_id each.
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
  local key = common.run .. "-" .. thread_number .. "-" .. counter
  local body = '{"type":"purchase","member_id":"' .. member .. '","amount":1250,"currency":"USD",' ..
    '"source_id":"' .. key .. '","items":[{"sku":"latte","category":"coffee","quantity":2,"unit_amount":450}]}'
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer " .. common.key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key}, body)
end
