/* Lua module "xxh3": XXH3-64 for the generator's content keys.
 *   local xxh3 = require("xxh3"); xxh3.hex(string) --> "0123456789abcdef" */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <xxhash.h>

static int hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)XXH3_64bits(s, len));
    lua_pushstring(L, buf);
    return 1;
}

int luaopen_xxh3(lua_State *L);
int luaopen_xxh3(lua_State *L)
{
    static const luaL_Reg fns[] = { { "hex", hex }, { NULL, NULL } };
    luaL_newlib(L, fns);
    return 1;
}
