// A Node-API addon for bench/instructions.mjs: turns callgrind's instrumentation on and off from
// JavaScript (valgrind client requests; outside valgrind they do nothing), so that the count holds
// exactly the calls between start() and stop(), and nothing of the warm-up or the exit.
// Built at run time by bench/instructions.mjs into its scratch folder (cc, Node's and valgrind's headers).
#include <node_api.h>
#include <valgrind/callgrind.h>

static napi_value Start(napi_env env, napi_callback_info info) {
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  return NULL;
}

static napi_value Stop(napi_env env, napi_callback_info info) {
  CALLGRIND_STOP_INSTRUMENTATION;
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, Start, NULL, &fn);
  napi_set_named_property(env, exports, "start", fn);
  napi_create_function(env, "stop", NAPI_AUTO_LENGTH, Stop, NULL, &fn);
  napi_set_named_property(env, exports, "stop", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
