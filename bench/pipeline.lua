-- bench/pipeline.lua - wrk script: each write carries `depth` GET / requests
-- (default 16; wrk ... -s bench/pipeline.lua -- 16). wrk counts every answer.
local depth = 16

init = function(args)
   depth = tonumber(args[1]) or depth
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil, "/")
   end
   req = table.concat(r)
end

request = function()
   return req
end
