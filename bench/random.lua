-- wrk script for bench/run.sh scenario (b): GET /r/N with N drawn at random in [0, COUNT).
--   wrk ... -s bench/random.lua http://127.0.0.1:PORT/ -- COUNT [DEPTH]
-- DEPTH 1 (the default) sends one request at a time; DEPTH > 1 pipelines DEPTH random requests
-- per write, as scenario (c) on (b) does. The request is built by hand rather than with
-- wrk.format() so that the script costs wrk as little as possible per request.
local count, depth, head, tail
local parts = {}

function init(args)
	count = tonumber(args[1]) or 1000000
	depth = tonumber(args[2]) or 1
	head = "GET /r/"
	tail = " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\n\r\n"
	math.randomseed(20261123) -- the same sequence on every run
end

function request()
	if depth == 1 then
		return head .. math.random(0, count - 1) .. tail
	end
	for i = 1, depth do
		parts[i] = head .. math.random(0, count - 1) .. tail
	end
	return table.concat(parts)
end
