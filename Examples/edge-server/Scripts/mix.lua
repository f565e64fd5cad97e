-- wrk: cycles through the handlers, one request of each kind in turn: hello, the JSON transform,
-- the file behind a preopen, a trap, and a 1 ms sleep.
local requests = {
  wrk.format("GET", "/hello?name=soak"),
  wrk.format("POST", "/json", {["Content-Type"] = "application/json"}, '{"b": "x", "a": 1, "c": [true]}'),
  wrk.format("POST", "/json", {["Content-Type"] = "application/json"}, '{"b": "x", "a": 1, "c": true}'),
  wrk.format("GET", "/file"),
  wrk.format("GET", "/trap"),
  wrk.format("GET", "/sleep?ms=1"),
}
local i = 0
request = function()
  i = i + 1
  return requests[(i % #requests) + 1]
end
