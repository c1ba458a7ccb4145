-- wrk script for bench/run.sh scenario (b): GET /r/N with N drawn at random in [0, COUNT).
--   wrk ... -s bench/random.lua http://127.0.0.1:PORT/ -- COUNT [DEPTH [POOL]]
-- DEPTH 1 (the default) sends one request at a time; DEPTH > 1 pipelines DEPTH random requests
-- per write, as scenario (c) on (b) does.
--
-- Building a request in Lua costs wrk about as much as a fast server spends answering it (each
-- string LuaJIT makes is hashed and interned), which would make wrk the bottleneck. So init()
-- draws POOL (default 2^20) random paths in advance, as POOL/DEPTH ready-made batches, and
-- request() only hands out the next batch, round and round. A million random draws over
-- COUNT = 1,000,000 keys touch 63 % of them in no order the CPU caches can follow, so the
-- server's lookups miss its caches as they would with fresh draws. It takes wrk about a second
-- and 80 MB before the run starts (not counted in the run).
local pool, n, i = {}, 0, 0

function init(args)
	local count = tonumber(args[1]) or 1000000
	local depth = tonumber(args[2]) or 1
	local size = tonumber(args[3]) or 1048576
	local head = "GET /r/"
	local tail = " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\n\r\n"
	local batch = {}
	math.randomseed(20261123) -- the same sequence on every run
	n = math.max(1, math.floor(size / depth))
	for b = 1, n do
		for k = 1, depth do
			batch[k] = head .. math.random(0, count - 1) .. tail
		end
		pool[b] = table.concat(batch, "", 1, depth)
	end
end

function request()
	i = i + 1
	if i > n then
		i = 1
	end
	return pool[i]
end
