-- wrk script for bench/regex.sh: random requests for the rule sets it generates.
--   wrk ... -s bench/regex.lua http://127.0.0.1:PORT/ -- MODE COUNT
-- MODE one: GET /old. regex: GET /p/N/M with N in [0, COUNT). mixed: one of the five kinds
-- of bench/regex.sh's mixed set (exact /e/N, splat /s/N/..., placeholder /c/N/ID, regex
-- /p/N/M, condition /k/N), N in [0, COUNT/10). file: the paths of the file COUNT names, one
-- a line (bench/gen_regex.py writes them for the "anyre" set), in order. Paths are drawn in init() (2^18 of them) so
-- that wrk spends its time sending, not building strings.
local pool, n, i = {}, 0, 0

function init(args)
	local mode = args[1] or "one"
	local count = tonumber(args[2]) or 1
	if mode == "file" then
		local tail = " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\n\r\n"
		for line in io.lines(args[2]) do
			n = n + 1
			pool[n] = "GET " .. line .. tail
		end
		return
	end
	local tail = " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\n\r\n"
	math.randomseed(20261123)
	n = 262144
	for b = 1, n do
		local p
		if mode == "one" then
			p = "/old"
		elseif mode == "regex" then
			p = "/p/" .. math.random(0, count - 1) .. "/" .. math.random(0, 99999)
		else
			local k, m = math.random(0, 9), math.random(0, count / 10 - 1)
			if k < 4 then
				p = "/e/" .. (m * 4 + k)
			elseif k < 6 then
				p = "/s/" .. (m * 2 + k - 4) .. "/x/y"
			elseif k < 8 then
				p = "/c/" .. (m * 2 + k - 6) .. "/7"
			elseif k == 8 then
				p = "/p/" .. m .. "/42"
			else
				p = "/k/" .. m
			end
		end
		pool[b] = "GET " .. p .. tail
	end
end

function request()
	i = i + 1
	if i > n then
		i = 1
	end
	return pool[i]
end
