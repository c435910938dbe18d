// The build's git commit, as a C string: Swift has no valued compile-time defines, and a generated
// Swift file would have to exist before the first `swift build`. `make` writes commit.h (gitignored)
// from `git rev-parse` and touches this file when the commit changes; a plain `swift build` or a
// build outside git has no commit.h and says "unknown".
#include "build_info.h"

#if __has_include("commit.h")
#include "commit.h"
#endif

#ifndef SEGFLOW_COMMIT
#define SEGFLOW_COMMIT "unknown"
#endif

const char *segflow_build_commit(void) { return SEGFLOW_COMMIT; }
