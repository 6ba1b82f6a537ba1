-- wrk script: every request is a batch of DEPTH pipelined GETs (default 16), as TechEmpower's
-- pipelined plaintext test does. wrk parses and counts each response of the batch.
--   wrk -t1 -c100 -d10s -s pipeline.lua http://127.0.0.1:8081/ -- 16
local batch

init = function(args)
    local depth = tonumber(args[1]) or 16
    local one = wrk.format("GET", wrk.path)
    batch = string.rep(one, depth)
end

request = function()
    return batch
end
