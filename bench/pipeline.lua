-- wrk script for bench/run.sh scenario (c) on (a): the URL's request, pipelined.
--   wrk ... -s bench/pipeline.lua http://127.0.0.1:PORT/old -- DEPTH
-- Each connection sends DEPTH (default 16) identical requests in one write and waits for all
-- DEPTH responses before sending the next batch. wrk counts every response as one request.
local req

function init(args)
	local depth = tonumber(args[1]) or 16
	req = string.rep(wrk.format(), depth)
end

function request()
	return req
end
